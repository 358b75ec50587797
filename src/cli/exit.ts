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
