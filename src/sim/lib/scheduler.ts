/**
 * The seeded scheduler: several actors (the host VMM thread, each guest's boot vCPU) each run a
 * program; the scheduler interleaves their steps into one event stream. Every actor has its own
 * clock: after each step it draws its latency from its own named stream, and the actor whose clock
 * is earliest goes next (a tie is broken by the "sched" stream). So which vCPU runs when is a
 * seeded choice that lands in the events (their `t`, `vm`, `vcpu`), and adding an actor never
 * changes another actor's draws.
 */
import type { Outcome } from "../../core/event.ts";
import type { Machine } from "../../model/machine.ts";
import type { HypEvent } from "../../model/events.ts";
import type { Driver, Proposal } from "../scenario.ts";
import type { Prng } from "../prng.ts";
import { isStep, type Program, type Step } from "./program.ts";

export interface ActorSpec {
  readonly name: string;
  /** Latency between this actor's steps, drawn uniformly from [min, max] ns. */
  readonly latency: { readonly stream: Prng; readonly minNs: number; readonly maxNs: number };
  /** The next session's program (a guest: one per boot); null when the actor is finished. */
  session(): Program | null;
  /**
   * Checked before each step is issued: false ends the session (its VM went down under it, so the
   * step could not happen). Sessions start with a `wait`, so the guard is not asked while waiting.
   */
  guard?(s: Machine): boolean;
}

interface Actor {
  readonly spec: ActorSpec;
  program: Program | null;
  at: number;
  pending: Step | null;
  waiting: ((s: Machine) => boolean) | null;
  last: Outcome;
  fresh: boolean;
}

/** How many directives an actor may yield in a row before we call it a runaway loop (a scenario bug). */
const DIRECTIVES_MAX = 10_000;
const EMPTY: Outcome = Object.freeze({});
/** Sessions ended by their guard in one step before the actor is left idle for this step. */
const GUARDED_SESSIONS_MAX = 16;

export function scheduler(specs: readonly ActorSpec[], sched: Prng): Driver {
  const actors: Actor[] = specs.map((spec) => ({ spec, program: spec.session(), at: 0, pending: null, waiting: null, last: EMPTY, fresh: true }));
  let now = 0;
  let current: Actor | null = null;

  /** Runs an actor's program up to its next step, or until it waits or finishes; true if it ran. */
  function advance(a: Actor, s: Machine): boolean {
    let ran = false;
    for (let i = 0; a.pending === null && a.program !== null; i++) {
      if (i > DIRECTIVES_MAX) throw new Error(`scenario actor '${a.spec.name}' yields directives without ever proposing an event`);
      if (a.waiting !== null) {
        if (!a.waiting(s)) return ran;
        a.waiting = null;
        a.at = Math.max(a.at, now);
      }
      ran = true;
      const r = a.program.next(a.fresh ? (undefined as unknown as Outcome) : a.last);
      a.fresh = false;
      a.last = EMPTY;
      if (r.done === true) {
        a.program = a.spec.session();
        a.fresh = true;
        continue;
      }
      const action = r.value;
      if (isStep(action)) a.pending = action;
      else if ("sleep" in action) a.at += action.sleep;
      else a.waiting = action.until;
    }
    return ran;
  }

  /**
   * Advances every actor to its next step. A wait may be released by bookkeeping another actor does
   * when it resumes (a guest records a released parcel the host waits for), so repeat while any
   * program ran: at most one pass per actor.
   */
  function settle(s: Machine): void {
    for (let pass = 0; pass <= actors.length; pass++) {
      let resumed = false;
      for (const a of actors) resumed = advance(a, s) || resumed;
      if (!resumed) return;
    }
  }

  /** The ready actor with the earliest clock; ties go to the "sched" stream. */
  function choose(s: Machine): Actor | null {
    settle(s);
    let best: Actor[] = [];
    for (const a of actors) {
      // A session whose VM went away is ended; the next one normally starts by waiting.
      for (let i = 0; a.pending !== null && a.spec.guard !== undefined && !a.spec.guard(s); i++) {
        abort(a);
        if (i < GUARDED_SESSIONS_MAX) advance(a, s);
      }
      if (a.pending === null) continue;
      if (best.length === 0 || a.at < best[0]!.at) best = [a];
      else if (a.at === best[0]!.at) best.push(a);
    }
    return best.length === 0 ? null : best.length === 1 ? best[0]! : sched.pick(best);
  }

  function abort(a: Actor): void {
    a.program?.return();
    a.program = a.spec.session();
    a.pending = null;
    a.waiting = null;
    a.fresh = true;
  }

  return {
    next(s: Machine): Proposal | null {
      const a = choose(s);
      current = a;
      if (a === null) return null;
      now = Math.max(now, a.at);
      const { stream, minNs, maxNs } = a.spec.latency;
      a.at = now + stream.rangeInclusive(minNs, maxNs);
      return { ...a.pending!, t: now } as Proposal;
    },
    observe(_ev: HypEvent, outcome: Outcome): void {
      if (current === null) return;
      current.last = outcome;
      current.pending = null;
    },
  };
}
