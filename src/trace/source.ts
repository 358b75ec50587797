import { closeSync, existsSync, fstatSync, fsyncSync, openSync, readSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/**
 * Random-access bytes. Readers pull what they need through this, so a trace is never read whole
 * into memory: a file source reads records on demand.
 */
export interface ByteSource {
  readonly size: number;
  /** Up to `length` bytes at `offset`; fewer only at the end of the source. */
  read(offset: number, length: number): Uint8Array;
  close(): void;
  readonly name: string;
}

export function memorySource(bytes: Uint8Array, name = "(memory)"): ByteSource {
  return {
    size: bytes.length,
    name,
    read: (offset, length) => bytes.subarray(offset, Math.min(bytes.length, offset + length)),
    close: () => {},
  };
}

export function fileSource(path: string): ByteSource {
  const fd = openSync(path, "r");
  const size = fstatSync(fd).size;
  return {
    size,
    name: path,
    read(offset, length) {
      const n = Math.max(0, Math.min(length, size - offset));
      const buf = Buffer.allocUnsafe(n);
      let got = 0;
      while (got < n) {
        const r = readSync(fd, buf, got, n - got, offset + got);
        if (r === 0) break;
        got += r;
      }
      return buf.subarray(0, got);
    },
    close: () => closeSync(fd),
  };
}

/** Where a writer's bytes go. Writes are whole records, so a crash leaves only whole records behind. */
export interface ByteSink {
  write(bytes: Uint8Array): void;
  close(): void;
}

export function memorySink(): ByteSink & { bytes(): Buffer } {
  const parts: Uint8Array[] = [];
  return {
    write: (b) => void parts.push(Buffer.from(b)),
    close: () => {},
    bytes: () => Buffer.concat(parts),
  };
}

/**
 * A file written whole or not at all: bytes go to a temporary file beside the target, and only
 * `commit` (fsync, then rename) puts them in place, so a run that fails or is killed never leaves a
 * stub where a file was asked for, and never touches a file that was already there. `abandon`
 * removes the temporary file, or keeps it (a partial recording worth repairing). A target that
 * exists and is not a regular file (a device, a pipe) is written directly: it cannot be renamed over.
 */
export class AtomicFile {
  readonly tempPath: string;
  private readonly fd: number;
  private done = false;

  constructor(
    readonly path: string,
    tempPath = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`),
  ) {
    const direct = existsSync(path) && !statSync(path).isFile();
    this.tempPath = direct ? path : tempPath;
    this.fd = openSync(this.tempPath, "w");
  }

  write(b: Uint8Array | string): void {
    if (typeof b === "string") {
      writeSync(this.fd, b);
      return;
    }
    let off = 0;
    while (off < b.length) off += writeSync(this.fd, b, off, b.length - off);
  }

  commit(): void {
    if (this.done) return;
    this.done = true;
    if (this.tempPath !== this.path) fsyncSync(this.fd);
    closeSync(this.fd);
    if (this.tempPath !== this.path) renameSync(this.tempPath, this.path);
  }

  /** Stops without replacing the target; the temporary file is kept only when `keep` (returns its path). */
  abandon(keep = false): string | null {
    if (this.done) return null;
    this.done = true;
    closeSync(this.fd);
    if (this.tempPath === this.path) return null;
    if (keep) return this.tempPath;
    rmSync(this.tempPath, { force: true });
    return null;
  }

  get finished(): boolean {
    return this.done;
  }
}

/** A trace file sink: `close` (the writer's finish) commits; see AtomicFile. */
export function fileSink(path: string, tempPath?: string): ByteSink & { readonly file: AtomicFile } {
  const file = new AtomicFile(path, tempPath);
  return { file, write: (b) => file.write(b), close: () => file.commit() };
}

/** Writes bytes to a file whole or not at all. */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const f = new AtomicFile(path);
  try {
    f.write(bytes);
    f.commit();
  } finally {
    f.abandon();
  }
}
