import { closeSync, openSync, writeSync } from "node:fs";
import type { LineStream } from "./io.ts";

/**
 * Writes lines from a lazy producer until it ends or the reader leaves, waiting whenever the reader
 * is slower than the producer (back-pressure), so memory stays bounded and `| head` ends the work.
 * Returns the lines written and whether the reader left before the end.
 */
export async function pump(out: LineStream, lines: Iterable<string>, onLine?: (n: number) => void): Promise<{ lines: number; readerLeft: boolean }> {
  let n = 0;
  for (const line of lines) {
    if (out.closed) break;
    n += 1;
    onLine?.(n);
    if (!out.write(line)) {
      if (out.closed) break;
      await out.drain();
    }
  }
  await out.end();
  return { lines: n, readerLeft: out.closed };
}

/** Lines into a file, in 1 MiB writes (a file never pushes back). */
export function fileLines(path: string): LineStream & { close(): void } {
  const fd = openSync(path, "w");
  let done = false;
  let buf = "";
  const flush = (): void => {
    if (buf !== "") writeSync(fd, buf);
    buf = "";
  };
  return {
    closed: false,
    write(line) {
      buf += `${line}\n`;
      if (buf.length >= 1 << 20) flush();
      return true;
    },
    drain: async () => {},
    async end() {
      this.close();
    },
    close() {
      if (done) return;
      done = true;
      flush();
      closeSync(fd);
    },
  };
}
