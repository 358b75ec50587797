import type { Io } from "./io.ts";

/**
 * Colour for people at a terminal, never for pipes or files, and never when NO_COLOR is set to
 * anything but the empty string (https://no-color.org) or the terminal is "dumb". The text is the
 * same with or without it: colour only marks what is already written.
 */
export interface Paint {
  readonly on: boolean;
  /** An event line (`#12 t=... kind ...`): index dim, kind bold, Gunyah error names red. */
  event(line: string): string;
  /** A change line (`  path: before -> after`): before red, after green. */
  change(line: string): string;
  bad(text: string): string;
  good(text: string): string;
}

const SGR = (code: string) => (s: string): string => `\x1b[${code}m${s}\x1b[0m`;
const dim = SGR("2");
const bold = SGR("1");
const red = SGR("31");
const green = SGR("32");

export function colourWanted(io: Io): boolean {
  const noColor = io.env.NO_COLOR;
  return io.isTTY && (noColor === undefined || noColor === "") && io.env.TERM !== "dumb";
}

const plain: Paint = { on: false, event: (l) => l, change: (l) => l, bad: (s) => s, good: (s) => s };

export function paint(io: Io): Paint {
  if (!colourWanted(io)) return plain;
  return {
    on: true,
    event: (line) =>
      line
        .replace(/^(\s*)(#-?\d+)( t=\S+)? (\S+)/, (_m, sp: string, idx: string, t: string | undefined, kind: string) => `${sp}${dim(idx)}${t === undefined ? "" : dim(t)} ${bold(kind)}`)
        .replace(/\bERROR_[A-Z_]+\b/g, (e) => red(e)),
    change: (line) => {
      const m = /^(\s+.+?: )(.*) -> (.*)$/.exec(line);
      return m === null ? line : `${m[1]}${red(m[2]!)} -> ${green(m[3]!)}`;
    },
    bad: red,
    good: green,
  };
}
