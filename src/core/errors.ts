/**
 * Simulator failures: bad input, damaged traces, trace events that cannot happen, and simulator bugs.
 * Guest-visible failures are never thrown: they are outcomes (see the `abi` error table).
 *
 * Every failure has a class, and the CLI maps the class to an exit code (see `src/cli/exit.ts`):
 * `input` (2), `divergence` (3), `finding` (1), `bug` (70, a simulator defect; prints the repro).
 */
export type FailureClass = "input" | "divergence" | "finding" | "bug";

/** Stable failure codes, so tests and scripts can match on them rather than on message text. */
export type FailureCode =
  | "TRACE_NOT_A_TRACE"
  | "TRACE_TRUNCATED"
  | "TRACE_CHECKSUM"
  | "TRACE_MALFORMED"
  | "TRACE_INCOMPLETE"
  | "TRACE_EVENT_INVALID"
  | "TRACE_EVENT_OUT_OF_ORDER"
  | "REPLAY_DIVERGENCE"
  | "SCENARIO_INVALID"
  | "ARGUMENT_INVALID"
  | "INVARIANT_VIOLATED"
  | "INTERNAL";

const classOf: Record<FailureCode, FailureClass> = {
  TRACE_NOT_A_TRACE: "input",
  TRACE_TRUNCATED: "input",
  TRACE_CHECKSUM: "input",
  TRACE_MALFORMED: "input",
  /** The file ends before the trace does (no footer): a recording that did not finish. */
  TRACE_INCOMPLETE: "input",
  TRACE_EVENT_INVALID: "input",
  TRACE_EVENT_OUT_OF_ORDER: "input",
  REPLAY_DIVERGENCE: "divergence",
  SCENARIO_INVALID: "input",
  ARGUMENT_INVALID: "input",
  INVARIANT_VIOLATED: "finding",
  INTERNAL: "bug",
};

/** Context that locates a failure: the event index and kind, a state path, a byte offset. */
export interface FailureContext {
  readonly seq?: number;
  readonly kind?: string;
  readonly path?: string;
  readonly offset?: number;
  readonly block?: number;
  readonly [key: string]: unknown;
}

export class HvsimError extends Error {
  readonly code: FailureCode;
  readonly failureClass: FailureClass;
  readonly context: FailureContext;

  constructor(code: FailureCode, message: string, context: FailureContext = {}) {
    super(message);
    this.name = "HvsimError";
    this.code = code;
    this.failureClass = classOf[code];
    this.context = context;
  }
}

/** Raise a simulator failure. The message is one line that says what and where. */
export function die(code: FailureCode, message: string, context: FailureContext = {}): never {
  throw new HvsimError(code, message, context);
}

/** A trace event that cannot happen in the state it is applied to: an error of the trace, never absorbed. */
export function invalidEvent(seq: number, kind: string, why: string): never {
  die("TRACE_EVENT_INVALID", `event ${seq} (${kind}) cannot happen here: ${why}`, { seq, kind });
}

export function isHvsimError(e: unknown): e is HvsimError {
  return e instanceof HvsimError;
}

/** Fallible helpers return a Result rather than throwing on an expected branch. */
export type Result<T, E> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };
export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error });
