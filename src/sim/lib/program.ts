/**
 * Behaviour scripts: host and guest programs are generators. Each `yield` either proposes one event
 * (a Step: an event without its index and time) and receives the reducer's outcome, or tells the
 * scheduler to let virtual time pass (`sleep`) or to hold the actor until the machine reaches some
 * state (`wait`). All randomness comes from named streams handed to the program.
 */
import type { Outcome } from "../../core/event.ts";
import type { Machine } from "../../model/machine.ts";
import type { Proposal } from "../scenario.ts";

/** A proposal without its time: the scheduler stamps `t`. */
export type Step = Proposal extends infer P ? (P extends Proposal ? Omit<P, "t"> : never) : never;

/** Let `ns` of virtual time pass before the actor's next step (device latency, a timer period). */
export interface Sleep {
  readonly sleep: number;
}

/** Hold the actor until `until(state)` holds (the VM is running, the guest released a parcel). */
export interface Wait {
  readonly wait: string;
  readonly until: (s: Machine) => boolean;
}

/**
 * Where in its script the actor is (a scenario file's `file:line:col: path` of a loop, at each
 * iteration). Changes nothing; it is what the scheduler names when an actor runs away, and it
 * counts as a directive, so a loop whose iterations do nothing is caught by the directive bound.
 */
export interface Mark {
  readonly mark: string;
}

export type Action = Step | Sleep | Wait | Mark;

/** A program yields actions and gets each step's outcome back (directives get an empty outcome). */
export type Program<R = void> = Generator<Action, R, Outcome>;
/** Programs that only ever propose events (the older drivers' shape). */
export type Steps = Generator<Step, void, Outcome>;

export const isStep = (a: Action): a is Step => "kind" in a;
export const sleep = (ns: number): Sleep => ({ sleep: ns });
export const wait = (why: string, until: (s: Machine) => boolean): Wait => ({ wait: why, until });
export const mark = (where: string): Mark => ({ mark: where });

const marks = new WeakMap<object, Mark>();
/** The mark of a scenario step, made once per step (steps in loops say where they are every pass). */
export function markOf(where: (step: object) => string, step: object): Mark {
  let m = marks.get(step);
  if (m === undefined) marks.set(step, (m = mark(where(step))));
  return m;
}

/** Little-endian bytes of a non-negative integer (up to 2^53). Plain loops: this runs per event. */
export function le(v: number, n: number): number[] {
  const out = new Array<number>(n);
  for (let i = 0, x = v; i < n; i++, x = Math.floor(x / 256)) out[i] = x % 256;
  return out;
}
/** Writes the `n` little-endian bytes of a non-negative integer (up to 2^53) into `out` at `at`. */
export function putLe(out: Uint8Array, at: number, v: number, n: number): void {
  for (let i = 0, x = v; i < n; i++, x = Math.floor(x / 256)) out[at + i] = x % 256;
}
/** Two little-endian bytes (a virtqueue index). */
export function le16(v: number): Uint8Array {
  const out = new Uint8Array(2);
  out[0] = v & 0xff;
  out[1] = (v >>> 8) & 0xff;
  return out;
}
export function bytes(...parts: number[][]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
