import { isHvsimError } from "../core/errors.ts";
import { checkInvariants, type Invariant } from "../core/invariants.ts";
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
  /** An event this build cannot apply: the trace is shown up to it, and not beyond. */
  readonly problem: { readonly seq: number; readonly message: string } | null;
}

/**
 * The viewer's background work, in slices of a few milliseconds between API requests, so the page
 * answers at once while a long trace is still being read. Two passes over the trace with the seek
 * engine (which keeps checkpoints as it goes, so later seeks are short):
 * 1. overview: every event's mark, and the run states every `resolution` events, for the zoomed-out
 *    timeline (the exact timeline of a short range is computed on demand);
 * 2. invariants: every invariant after every event, as `hvsim check` runs them, until the first
 *    violation (the invariants panel's "first violation").
 */
export class Scan {
  private phase: ScanPhase = "overview";
  private next = 0;
  private overviewTo = -1;
  private checkedTo = -1;
  private firstViolation: CheckViolation | null = null;
  private problem: ScanStatus["problem"] = null;

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
    return { phase, events: this.seeker.count, overviewTo, checkedTo, firstViolation, problem };
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
      this.problem = { seq: this.next, message: e.message };
      this.phase = "done";
    }
    return !this.done;
  }

  /** Runs to the end at once (tests, small traces). */
  runToEnd(): ScanStatus {
    while (this.step(1000));
    return this.status();
  }

  private overview(last: number, deadline: number): void {
    const r = this.resolution;
    const rec = this.recorder;
    const store = this.seeker.store;
    this.seeker.walk(
      this.next,
      last,
      (i, state, ev) => {
        this.next = i + 1;
        rec.event(i, ev, store.outcome(i));
        if (i % r === 0 || i === last) rec.sample(i, state);
        this.overviewTo = i;
        return (i & 127) === 127 && performance.now() > deadline;
      },
      (state) => {
        if (this.overviewTo === last) this.endOverview(state);
      },
    );
  }

  private endOverview(state: Machine): void {
    this.recorder.finish(this.seeker.count, state);
    this.next = 0;
    this.phase = this.seeker.count === 0 ? "done" : "invariants";
  }

  private check(last: number, deadline: number): void {
    this.seeker.walk(this.next, last, (i, state, ev) => {
      this.next = i + 1;
      const f = checkInvariants(state, this.invariants);
      if (f !== null) {
        const { invariant, path, detail, objects } = f;
        this.firstViolation = { invariant, index: i, kind: ev.kind, path, detail, ...(objects ? { objects } : {}) };
        this.phase = "done";
        return true;
      }
      this.checkedTo = i;
      return (i & 7) === 7 && performance.now() > deadline;
    });
    if (this.checkedTo === last) this.phase = "done";
  }
}
