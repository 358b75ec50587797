/** Where a command writes. Tests pass their own to capture output; the CLI uses the process's. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** True when stdout is a terminal: progress bars and colour only then. */
  readonly isTTY: boolean;
  /** Overwrites the current terminal line (progress); a no-op when not a terminal. */
  progress(line: string): void;
  /** Long output (a log, an export to stdout) with back-pressure; see `LineStream`. */
  stream(): LineStream;
  /** Standard input lines (for scripted sessions such as `hvsim debug`). */
  readonly stdin?: AsyncIterable<string>;
  /** The environment a command may consult (NO_COLOR, HOME for the debugger's history). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * Lines for a reader that may be slow or may leave (`hvsim log big.hvt | head`). `write` queues a
 * line and returns false when the producer should `await drain()` first; after the reader has gone,
 * `closed` is true and the producer stops: nothing is computed that nobody reads.
 */
export interface LineStream {
  write(line: string): boolean;
  drain(): Promise<void>;
  readonly closed: boolean;
  /** Flushes what is queued and waits until it is written. */
  end(): Promise<void>;
}

/** Lines are handed to the stream in chunks of about this many characters. */
const CHUNK_CHARS = 64 * 1024;

/** A LineStream over a Node writable (process.stdout), honouring its back-pressure and EPIPE. */
export function writableLines(w: NodeJS.WritableStream & { destroyed?: boolean; writableNeedDrain?: boolean }): LineStream {
  let buf = "";
  let gone = false;
  const onGone = (): void => void (gone = true);
  w.once("error", onGone);
  w.once("close", onGone);
  const flush = (): boolean => {
    if (buf === "" || gone) return !gone;
    const chunk = buf;
    buf = "";
    // A pipe whose reader left fails synchronously on Linux: `destroyed` says so before any event runs.
    const ok = w.write(chunk);
    if (w.destroyed === true) gone = true;
    return ok && !gone;
  };
  return {
    get closed() {
      return gone || w.destroyed === true;
    },
    write(line) {
      if (gone) return false;
      buf += `${line}\n`;
      return buf.length < CHUNK_CHARS || flush();
    },
    drain: () =>
      new Promise<void>((resolve) => {
        if (gone || w.writableNeedDrain !== true) return resolve();
        const done = (): void => {
          w.off("drain", done);
          w.off("close", done);
          w.off("error", done);
          resolve();
        };
        w.once("drain", done);
        w.once("close", done);
        w.once("error", done);
      }),
    async end() {
      flush();
      await this.drain();
      w.off("error", onGone);
      w.off("close", onGone);
    },
  };
}

/** A progress line is on the terminal: the next line of output clears it first, or the two run together. */
let progressShown = false;
const clearProgress = (): void => {
  if (!progressShown) return;
  process.stdout.write("\r\x1b[2K");
  progressShown = false;
};

export const processIo: Io = {
  out: (line) => {
    clearProgress();
    process.stdout.write(`${line}\n`);
  },
  err: (line) => {
    clearProgress();
    process.stderr.write(`${line}\n`);
  },
  isTTY: process.stdout.isTTY === true,
  progress: (line) => {
    if (!process.stdout.isTTY) return;
    process.stdout.write(`\r\x1b[2K${line}`);
    progressShown = line !== "";
  },
  stream: () => {
    clearProgress();
    return writableLines(process.stdout);
  },
  env: process.env,
};

/**
 * Captures output in memory (tests). `readerLeavesAfter` plays a reader that stops after that many
 * lines of streamed output (`| head -N`); `writesAfterClose` counts lines offered after that.
 */
export function memoryIo(
  stdinLines: readonly string[] = [],
  options: { readerLeavesAfter?: number; env?: Record<string, string | undefined> } = {},
): Io & { stdout: string[]; stderr: string[]; writesAfterClose: number } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io = {
    stdout,
    stderr,
    writesAfterClose: 0,
    out: (l: string) => void stdout.push(l),
    err: (l: string) => void stderr.push(l),
    isTTY: false,
    progress: () => {},
    env: options.env ?? {},
    stdin: (async function* () {
      yield* stdinLines;
    })(),
    stream: (): LineStream => {
      let streamed = 0;
      const closed = (): boolean => options.readerLeavesAfter !== undefined && streamed >= options.readerLeavesAfter;
      return {
        get closed() {
          return closed();
        },
        write(line) {
          if (closed()) {
            io.writesAfterClose += 1;
            return false;
          }
          stdout.push(line);
          streamed += 1;
          return !closed();
        },
        drain: async () => {},
        end: async () => {},
      };
    },
  };
  return io;
}

/** One progress line: `verb [####......] n events` (the bar only when the total is known). */
export function progressLine(verb: string, n: number, max: number): string {
  const width = 30;
  const done = Number.isFinite(max) && max > 0 ? Math.min(width, Math.floor((n * width) / max)) : 0;
  return `${verb} [${"#".repeat(done)}${".".repeat(width - done)}] ${n}${Number.isFinite(max) && max > 0 ? `/${max}` : ""} events`;
}
