import type { FailureClass } from "../core/errors.ts";

/** Exit codes, the same for every command. */
export const EXIT = {
  ok: 0,
  /** A finding: an invariant violation, a difference between traces. */
  finding: 1,
  /** Bad input or usage: a damaged trace, a malformed scenario, a wrong argument. */
  input: 2,
  /** Replay divergence: a stored outcome or hash that the model no longer produces. */
  divergence: 3,
  /** A simulator bug (not the user's fault): report it with the printed repro. */
  bug: 70,
} as const;

export const exitFor = (c: FailureClass): number => EXIT[c];

/**
 * Every command's exit codes and what each means: the one table the README, `--help` and the tests
 * (test/cli-exit-codes.test.ts, one case per row) agree on. 70 (a bug in hvsim) can come from any.
 */
export const EXIT_TABLE: Readonly<Record<string, Readonly<Record<number, string>>>> = {
  run: { 0: "recorded, replayed, reproduced", 1: "an invariant was violated (next steps printed)", 2: "bad input (scenario, option)" },
  record: { 0: "written", 2: "bad input (scenario, option, a time without a unit, an output that is the input); a run that fails leaves an existing output as it was" },
  replay: { 0: "every outcome and hash verified (also an unfinished recording with --allow-incomplete)", 1: "an invariant violation (--check)", 2: "a damaged, invalid or (without --allow-incomplete) unfinished trace", 3: "divergence: this build computes another outcome or hash" },
  info: { 0: "intact (its trailer and footer index; every record with --verify)", 2: "damaged or unfinished (what is whole is still reported)" },
  log: { 0: "printed (also when the reader stops early, as `| head` does)", 2: "bad input, or a damaged trace (the events before the damage are printed)" },
  state: { 0: "printed (also before the damage of a damaged trace)", 2: "bad input (an index outside the trace, a path that does not exist, a damaged block on the way)", 3: "divergence on the way to the event" },
  check: { 0: "every invariant held after every event", 1: "a violation (named with its event index; next steps printed)", 2: "bad input, or a damaged or (without --allow-incomplete) unfinished trace", 3: "divergence: the trace no longer replays with this build" },
  scenarios: { 0: "listed" },
  fuzz: { 0: "every seed passed", 1: "a seed failed (its trace kept, its repro printed)", 2: "bad input" },
  "avb verify": { 0: "verified", 1: "AVB refused the image (its result named)", 2: "not an AVB image, not a key, bad input" },
  "bcc verify": { 0: "the DICE chain is valid", 1: "invalid (the entry named)", 2: "bad input, no chain, or a damaged trace without --at" },
  debug: { 0: "the session ended", 2: "bad input, a damaged trace, or a scripted command that failed" },
  bisect: { 0: "never holds (within what was looked at)", 1: "found", 2: "bad input, a damaged trace that never reached it, or a condition that is not monotonic (use --scan)" },
  "bisect --exit-code": { 0: "good (never reached)", 1: "bad (reached)", 125: "cannot tell (damaged or invalid trace, not monotonic)", 128: "bad predicate or invariant (aborts git bisect)" },
  diff: { 0: "same run (or same behaviour with --replay)", 1: "different", 2: "bad input, or damage that hides whether they differ" },
  minimize: { 0: "written", 2: "bad input, or the trace never fails" },
  export: { 0: "written", 2: "bad input, or a damaged trace (the events before the damage are exported)" },
  repair: { 0: "written (what was dropped is said)", 2: "bad input (not a trace, an unreadable header, an output that is the input)" },
  abi: { 0: "the tables, or what the query names", 2: "nothing by that name or number" },
  view: { 0: "served until interrupted (Ctrl-C)", 2: "bad input (not a trace, a port in use or out of range)" },
  gdb: { 0: "served until gdb left (--stdio) or until interrupted", 2: "bad input (a trace without guest code, a port in use), or a damaged trace" },
  "cpu run": { 0: "stopped at brk #0", 1: "stopped elsewhere (another brk, an exception, the instruction limit)", 2: "bad input (no image, not AArch64, an unknown --entry symbol)" },
  "cpu disas": { 0: "disassembled", 2: "bad input (no image, not AArch64)" },
  "cpu gdb": { 0: "served until gdb left (--stdio) or until interrupted", 2: "bad input (no image, a port in use)" },
};

/** The table as text, for `hvsim --help` and the README. */
export function exitTableLines(): string[] {
  const width = Math.max(...Object.keys(EXIT_TABLE).map((k) => k.length));
  return Object.entries(EXIT_TABLE).map(([cmd, codes]) => `  ${cmd.padEnd(width)}  ${Object.entries(codes).map(([c, why]) => `${c} ${why}`).join("; ")}`);
}
