/**
 * The envelope every event carries. `seq` is the event's index in its trace (0-based, dense);
 * `t` is virtual time in integer nanoseconds and never moves backwards.
 */
export interface Envelope {
  readonly seq: number;
  readonly t: number;
}

/** The base every event family extends: an envelope plus the discriminant `kind`. */
export interface EventBase extends Envelope {
  readonly kind: string;
}

/** Virtual time in integer nanoseconds. */
export type Ns = number;

/**
 * What the reducer said about one event: plain data, compared canonically on replay.
 * Each family documents its own outcome shape.
 */
export type Outcome = { readonly [key: string]: unknown };

/** Time units, so that scenario and test code reads in the units people think in. */
export const US = 1_000;
export const MS = 1_000_000;
export const SEC = 1_000_000_000;
