/** Where a command writes. Tests pass their own to capture output; the CLI uses the process's. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** True when stdout is a terminal: progress bars only then. */
  readonly isTTY: boolean;
  /** Overwrites the current terminal line (progress); a no-op when not a terminal. */
  progress(line: string): void;
  /** Standard input lines (for scripted sessions such as `hvsim debug`). */
  readonly stdin?: AsyncIterable<string>;
}

export const processIo: Io = {
  out: (line) => void process.stdout.write(`${line}\n`),
  err: (line) => void process.stderr.write(`${line}\n`),
  isTTY: process.stdout.isTTY === true,
  progress: (line) => {
    if (process.stdout.isTTY) process.stdout.write(`\r\x1b[2K${line}`);
  },
};

/** Captures output in memory (tests). */
export function memoryIo(stdinLines: readonly string[] = []): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (l) => void stdout.push(l),
    err: (l) => void stderr.push(l),
    isTTY: false,
    progress: () => {},
    stdin: (async function* () {
      yield* stdinLines;
    })(),
  };
}

/** One progress line: `verb [####......] n events` (the bar only when the total is known). */
export function progressLine(verb: string, n: number, max: number): string {
  const width = 30;
  const done = Number.isFinite(max) && max > 0 ? Math.min(width, Math.floor((n * width) / max)) : 0;
  return `${verb} [${"#".repeat(done)}${".".repeat(width - done)}] ${n}${Number.isFinite(max) && max > 0 ? `/${max}` : ""} events`;
}
