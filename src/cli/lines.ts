import { AtomicFile } from "../trace/source.ts";
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

/**
 * Lines into a file, in 1 MiB writes (a file never pushes back), written whole or not at all: the
 * end puts the file in place (AtomicFile: a temporary file beside it, renamed), `abandon` (a failed
 * export) leaves whatever was at the path untouched.
 */
export function fileLines(path: string): LineStream & { abandon(): void } {
  const file = new AtomicFile(path);
  let buf = "";
  const flush = (): void => {
    if (buf !== "") file.write(buf);
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
      if (file.finished) return;
      flush();
      file.commit();
    },
    abandon: () => void file.abandon(),
  };
}
