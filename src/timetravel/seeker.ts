import { enablePatches, freeze, produceWithPatches, type Draft } from "immer";
import type { EventBase, Outcome } from "../core/event.ts";
import { die } from "../core/errors.ts";
import { plainEqual } from "../core/equal.ts";
import { copySharingBytes, type CoreState, type Model } from "../core/reducer.ts";
import { changesFromPatches, type DiffResult } from "./diff.ts";
import { outOfRange, type EventStore } from "./store.ts";

// Patches are only for what a person looks at (STYLE 2.7); enabling the plugin once is global and cheap.
enablePatches();

/** Any model over plain-data state; time travel never needs to know the event union. */
export type AnyModel<S extends CoreState> = Model<S, EventBase, unknown>;

export interface SeekerOptions {
  /** Events between in-memory checkpoints: the most a seek replays once the cache is warm. */
  readonly interval?: number;
  /** Bound on in-memory checkpoints; when full, every other one is dropped and the interval doubles. */
  readonly maxCheckpoints?: number;
  /** Compare recomputed outcomes with stored ones and keep the first divergence (debugger, diff). */
  readonly verifyOutcomes?: boolean;
  /**
   * False for a one-shot query (`hvsim state`): a walk keeps no in-memory checkpoints. Each is a
   * copy of the state's objects (about a millisecond on long-run, and the garbage collector's work
   * after; its byte arrays are shared, `copySharingBytes`), and a walk from a stored state makes up
   * to 64 of them that nothing will use.
   */
  readonly keepCheckpoints?: boolean;
}

export interface SeekStats {
  /** Seeks and walks that started from a checkpoint (what bisect reports as "replays"). */
  seeks: number;
  /** Events applied on the fast path in all of them. */
  eventsReplayed: number;
}

export interface Divergence {
  readonly seq: number;
  readonly kind: string;
  readonly stored: Outcome;
  readonly recomputed: Outcome;
}

/** The change one event made: the event, its recomputed outcome, and the state paths it wrote. */
export interface EventChange<S> {
  readonly event: EventBase;
  readonly outcome: Outcome;
  readonly before: S;
  readonly after: S;
  readonly diff: DiffResult;
}

/** How many of `stateAt`'s last answers a seeker that keeps checkpoints holds on to. */
const RECENT_ANSWERS = 4;

/**
 * The seek engine: the state after any event index, forward or backward. It keeps a bounded cache
 * of immutable snapshots taken every `interval` events during replay, and also starts from the
 * snapshots stored in the trace, so once warm a seek replays at most one interval on the fast path
 * (the model's recipes on a private mutable copy). Generic over the state and the event kinds.
 */
export class Seeker<S extends CoreState> {
  readonly stats: SeekStats = { seeks: 0, eventsReplayed: 0 };
  divergence: Divergence | null = null;
  private interval: number;
  private readonly maxCheckpoints: number;
  private readonly verify: boolean;
  private readonly keep: boolean;
  private readonly checkpoints = new Map<number, S>();
  /**
   * The last few answers of `stateAt`, most recent last (frozen, so shared safely): stepping
   * between instructions (`stepi`, gdb) asks for the state after the same event again and again,
   * and each ask would otherwise replay from the checkpoint before it.
   */
  private readonly recent = new Map<number, S>();

  constructor(
    readonly model: AnyModel<S>,
    readonly genesis: S,
    readonly store: EventStore,
    options: SeekerOptions = {},
  ) {
    this.interval = options.interval ?? 256;
    this.maxCheckpoints = options.maxCheckpoints ?? 256;
    this.verify = options.verifyOutcomes ?? false;
    this.keep = options.keepCheckpoints ?? true;
    if (!(this.interval >= 1 && this.maxCheckpoints >= 2)) throw new RangeError("seeker: interval >= 1 and maxCheckpoints >= 2");
  }

  /** Whole events in the trace; valid indices are -1 (genesis) .. count-1. */
  get count(): number {
    return this.store.count;
  }

  get checkpointInterval(): number {
    return this.interval;
  }

  /** The event indices whose states the cache holds now (cheap to look at: no replay). */
  cachedIndices(): number[] {
    return [...this.checkpoints.keys()].sort((a, b) => a - b);
  }

  event(i: number): EventBase {
    return this.store.event(i);
  }

  /** The immutable state after event `n` (-1: genesis). */
  stateAt(n: number): S {
    this.checkIndex(n);
    if (n === -1) return this.genesis;
    const cached = this.checkpoints.get(n) ?? this.recent.get(n);
    if (cached !== undefined) return cached;
    // A state the trace stores after event n is the answer itself: a walk would start before n and
    // replay up to a whole stored-state interval to reach it (`state --at 16383`: 16,384 events).
    const base = this.baseFor(n);
    if (base.seq === n) return base.state;
    let result: S | undefined;
    // The walk's working copy is this call's own and ends with it: frozen, it is the answer (no copy).
    this.walkFrom(base, n, n, () => false, (s) => {
      result = freeze(s, true);
    });
    if (this.keep) {
      this.recent.set(n, result!);
      if (this.recent.size > RECENT_ANSWERS) this.recent.delete(this.recent.keys().next().value!);
    }
    return result!;
  }

  /**
   * Replays events `from..to` (inclusive) on the fast path, starting from the state after `from-1`,
   * and calls `visit` after each with the working state (read it, never keep or change it). Stops
   * at the first index where `visit` returns true and returns it; -1 if it never did. `atEnd` sees
   * the working state where the walk stopped.
   */
  walk(from: number, to: number, visit: (i: number, state: S, ev: EventBase) => boolean, atEnd?: (state: S) => void): number {
    this.checkIndex(from - 1);
    this.checkIndex(to);
    return this.walkFrom(this.baseFor(from - 1), from, to, visit, atEnd);
  }

  /** `walk` from a known state at or before `from - 1`. */
  private walkFrom(base: { seq: number; state: S }, from: number, to: number, visit: (i: number, state: S, ev: EventBase) => boolean, atEnd?: (state: S) => void): number {
    const working = copySharingBytes(base.state);
    this.stats.seeks += 1;
    let hit = -1;
    for (let i = base.seq + 1; i <= to; i++) {
      const ev = this.applyAt(working, i);
      if (this.keep && (i + 1) % this.interval === 0 && !this.checkpoints.has(i)) this.remember(i, freeze(copySharingBytes(working), true));
      if (i >= from && visit(i, working, ev)) {
        hit = i;
        break;
      }
    }
    atEnd?.(working);
    return hit;
  }

  /**
   * One forward pass over `from..to` on a private working copy, yielding after each event (read the
   * state, never keep or change it). Keeps no checkpoints: for exports, which visit every event once.
   */
  *forward(from: number, to: number): Generator<{ readonly i: number; readonly state: S; readonly ev: EventBase }> {
    this.checkIndex(to);
    const working = copySharingBytes(this.stateAt(from - 1));
    this.stats.seeks += 1;
    for (let i = from; i <= to; i++) yield { i, state: working, ev: this.applyAt(working, i) };
  }

  /** Applies event `i` to the working state on the fast path: counted, and its outcome checked when verifying. */
  private applyAt(working: S, i: number): EventBase {
    const ev = this.store.event(i);
    const outcome = this.model.apply(working, ev);
    this.stats.eventsReplayed += 1;
    if (this.verify) this.checkOutcome(i, ev, outcome);
    return ev;
  }

  /**
   * The change event `n` made, on the pure path (one immer produce with patches). `before` is the
   * state after `n - 1` when the caller already holds it (the debugger stepping forward).
   */
  changeAt(n: number, limit = 200, given?: S): EventChange<S> {
    this.checkIndex(n);
    if (n < 0) die("ARGUMENT_INVALID", "the genesis state is not made by an event");
    const before = given ?? this.stateAt(n - 1);
    const event = this.store.event(n);
    let outcome: Outcome = {};
    const [after, patches] = produceWithPatches(before, (d: Draft<S>) => {
      outcome = this.model.apply(d as S, event);
    });
    return { event, outcome, before, after: after as S, diff: changesFromPatches(before, after, patches, limit) };
  }

  private checkIndex(n: number): void {
    if (!(Number.isInteger(n) && n >= -1 && n < this.count)) outOfRange(n, this.count, this.store.damage);
  }

  /** The nearest known state at or before `n`: an in-memory checkpoint, a stored snapshot, or genesis. */
  private baseFor(n: number): { seq: number; state: S } {
    let best: { seq: number; state: S } = { seq: -1, state: this.genesis };
    for (const [seq, state] of this.checkpoints) if (seq <= n && seq > best.seq) best = { seq, state };
    // Reading a stored snapshot costs a decode: only worth it when it saves more than an interval.
    if (n - best.seq > this.interval) {
      const stored = this.store.snapshotAtOrBefore(n);
      if (stored !== null && stored.seq > best.seq) {
        best = { seq: stored.seq, state: freeze(stored.state as S, true) };
        this.remember(stored.seq, best.state);
      }
    }
    return best;
  }

  private remember(seq: number, state: S): void {
    this.checkpoints.set(seq, state);
    if (this.checkpoints.size <= this.maxCheckpoints) return;
    // Thin evenly rather than evicting the oldest: seeks anywhere stay within one (doubled) interval.
    this.interval *= 2;
    for (const k of [...this.checkpoints.keys()]) if ((k + 1) % this.interval !== 0) this.checkpoints.delete(k);
  }

  private checkOutcome(i: number, ev: EventBase, recomputed: Outcome): void {
    if (this.divergence !== null && this.divergence.seq <= i) return;
    const stored = this.store.outcome(i);
    if (!plainEqual(stored, recomputed)) this.divergence = { seq: i, kind: ev.kind, stored, recomputed };
  }
}
