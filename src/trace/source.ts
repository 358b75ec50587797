import { closeSync, fstatSync, openSync, readSync, writeSync } from "node:fs";

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

export function fileSink(path: string): ByteSink {
  const fd = openSync(path, "w");
  return {
    write(b) {
      let off = 0;
      while (off < b.length) off += writeSync(fd, b, off, b.length - off);
    },
    close: () => closeSync(fd),
  };
}
