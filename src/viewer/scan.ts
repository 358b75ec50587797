import { isHvsimError } from "../core/errors.ts";
import type { EventBase } from "../core/event.ts";
import { checkInvariants, type Invariant } from "../core/invariants.ts";
import { mutableCopy } from "../core/reducer.ts";
import type { Machine } from "../model/machine.ts";
import type { CheckViolation } from "../sim/check.ts";
import type { Seeker } from "../timetravel/seeker.ts";
import type { TimelineRecorder } from "./timeline.ts";

export type ScanPhase = "overview" | "invariants" | "done";

export interface ScanStatus {
  readonly phase: ScanPhase;
  readonly events: number;
  /** Last event index the timeline overview has read (-1: none yet). */
  readonly overviewTo: number;
  /** Last event index after which every invariant was checked (-1: none yet). */
  readonly checkedTo: number;
  readonly firstViolation: CheckViolation | null;
  /** The first event whose stored outcome this build does not reproduce (the overview verifies every one). */
  readonly divergence: { readonly seq: number; readonly kind: string } | null;
  /** An event this build cannot apply: the trace is shown up to it, and not beyond. */
  readonly problem: { readonly seq: number; readonly message: string } | null;
}

/**
 * The viewer's background work, in slices of a few milliseconds between API requests, so the page
 * answers at once while a long trace is still being read. Two passes over the trace:
 * 1. overview, with the seek engine, one checkpoint interval at a time (each slice starts from the
 *    checkpoint the last one left, and leaves one checkpoint per interval of the trace behind, so
 *    later seeks anywhere replay at most one interval): every event's mark, the run states every
 *    `resolution` events for the zoomed-out timeline, and every stored outcome verified;
 * 2. invariants, on a private working state kept between slices (the model's recipes on a mutable
 *    copy, as the engine's fast path runs them): every invariant after every event, as `hvsim
 *    check` runs them, until the first violation (the invariants panel's "first violation").
 */
export class Scan {
  private phase: ScanPhase = "overview";
  private next = 0;
  private overviewTo = -1;
  private checkedTo = -1;
  private firstViolation: CheckViolation | null = null;
  private problem: ScanStatus["problem"] = null;
  /** The state after event `next - 1` of the invariants pass; null before it starts. */
  private working: Machine | null = null;

  constructor(
    private readonly seeker: Seeker<Machine>,
    private readonly recorder: TimelineRecorder,
    readonly resolution: number,
    private readonly invariants: readonly Invariant<Machine>[],
  ) {
    recorder.start(seeker.genesis);
    if (seeker.count === 0) this.endOverview(seeker.genesis);
  }

  status(): ScanStatus {
    const { phase, overviewTo, checkedTo, firstViolation, problem } = this;
    const d = this.seeker.divergence;
    const divergence = d === null ? null : { seq: d.seq, kind: d.kind };
    return { phase, events: this.seeker.count, overviewTo, checkedTo, firstViolation, divergence, problem };
  }

  get done(): boolean {
    return this.phase === "done";
  }

  /** Works for about `budgetMs` milliseconds; returns true while there is more to do. */
  step(budgetMs: number): boolean {
    if (this.phase === "done") return false;
    const deadline = performance.now() + budgetMs;
    const last = this.seeker.count - 1;
    try {
      if (this.phase === "overview") this.overview(last, deadline);
      else this.check(last, deadline);
    } catch (e) {
      if (!isHvsimError(e)) throw e;
      this.problem = { seq: this.phase === "overview" ? this.overviewTo + 1 : this.next, message: e.message };
      this.phase = "done";
    }
    return !this.done;
  }

  /** Runs to the end at once (tests, small traces). */
  runToEnd(): ScanStatus {
    while (this.step(1000));
    return this.status();
  }

  /**
   * Applies events from `next` on the pass's working state, calling `visit` after each, until it
   * returns true, the deadline passes, or the trace ends. Returns true at the end of the trace.
   */
  private advance(last: number, deadline: number, visit: (i: number, state: Machine, ev: EventBase) => boolean): boolean {
    const { model, store } = this.seeker;
    if (this.working === null) this.working = mutableCopy(this.seeker.genesis);
    const working = this.working;
    for (let i = this.next; i <= last; i++) {
      const ev = store.event(i);
      model.apply(working, ev);
      this.next = i + 1;
      if (visit(i, working, ev)) return false;
      if ((i & 31) === 31 && performance.now() > deadline) return i === last;
    }
    return true;
  }

  private overview(last: number, deadline: number): void {
    const r = this.resolution;
    const rec = this.recorder;
    const store = this.seeker.store;
    do {
      // Up to the next checkpoint position, so the next slice starts exactly where this one ends.
      const interval = this.seeker.checkpointInterval;
      const end = Math.min(last, (Math.floor(this.next / interval) + 1) * interval - 1);
      this.seeker.walk(
        this.next,
        end,
        (i, state, ev) => {
          rec.event(i, ev, store.outcome(i));
          if (i % r === 0 || i === last) rec.sample(i, state);
          this.overviewTo = i;
          return false;
        },
        (state) => {
          if (end === last) this.endOverview(state);
        },
      );
      if (this.phase === "overview") this.next = end + 1;
    } while (this.phase === "overview" && performance.now() < deadline);
  }

  private endOverview(state: Machine): void {
    this.recorder.finish(this.seeker.count, state);
    this.next = 0;
    this.working = null;
    this.phase = this.seeker.count === 0 ? "done" : "invariants";
  }

  private check(last: number, deadline: number): void {
    const ended = this.advance(last, deadline, (i, state, ev) => {
      const f = checkInvariants(state, this.invariants);
      if (f !== null) {
        const { invariant, path, detail, objects } = f;
        this.firstViolation = { invariant, index: i, kind: ev.kind, path, detail, ...(objects ? { objects } : {}) };
        return true;
      }
      this.checkedTo = i;
      return false;
    });
    if (ended || this.firstViolation !== null) {
      this.phase = "done";
      this.working = null;
    }
  }
}
