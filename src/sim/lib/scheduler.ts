/**
 * The seeded scheduler: several actors (the host VMM thread, each guest's boot vCPU) each run a
 * program; the scheduler interleaves their steps into one event stream. Every actor has its own
 * clock: after each step it draws its latency from its own named stream, and the actor whose clock
 * is earliest goes next (a tie is broken by the "sched" stream). So which vCPU runs when is a
 * seeded choice that lands in the events (their `t`, `vm`, `vcpu`), and adding an actor never
 * changes another actor's draws.
 *
 * A guest actor (one with `proxied`) is its vCPU together with crosvm's vCPU thread for it: the
 * guest only acts while its vCPU runs, so whenever its next step is one the vCPU executes and the
 * vCPU is not running (it was never entered, a slice end or the HLOS took the CPU back), the
 * scheduler first runs crosvm's vCPU loop (proxy.ts `reenter`). Entering a vCPU needs a free HLOS
 * CPU; when more guests want one than are free, the "runner" stream picks which goes (Linux
 * scheduling crosvm's vCPU threads), and if none is free the HLOS CPU's slice-end timer tick
 * (the end of the directed yield) is proposed when it is due, so a waiting guest always gets in.
 */
import { die } from "../../core/errors.ts";
import type { Outcome } from "../../core/event.ts";
import type { Machine } from "../../model/machine.ts";
import type { HypEvent } from "../../model/events.ts";
import type { Driver, Proposal } from "../scenario.ts";
import type { Prng } from "../prng.ts";
import { shallowCopy } from "../../core/copy.ts";
import { isStep, type Program, type Step, type Wait } from "./program.ts";
import { earliestSliceEnd, executedByGuest, freeRunners, needsRunner, reenter, vcpuEnterable, vcpuRunning } from "./proxy.ts";

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
  /** A guest on a proxy-scheduled vCPU: which one its steps execute on (crosvm enters it first). */
  readonly proxied?: { target(): { readonly vm: number; readonly vcpu: number } };
}

interface Actor {
  readonly spec: ActorSpec;
  program: Program | null;
  at: number;
  pending: Step | null;
  waiting: Wait | null;
  last: Outcome;
  fresh: boolean;
  /** crosvm's vCPU loop entering the vCPU; `deferred` is the guest step waiting for it. */
  entry: Program<boolean> | null;
  deferred: Step | null;
  /** Entries since the guest last acted: a bound, so a vCPU that never runs is a loud error, not a spin. */
  entries: number;
  /** The last Mark the program yielded: where it is, for errors. */
  where: string | null;
}

/** How many directives an actor may yield in a row before we call it a runaway loop (a scenario bug). */
const DIRECTIVES_MAX = 10_000;
const EMPTY: Outcome = Object.freeze({});
/** Sessions ended by their guard in one step before the actor is left idle for this step. */
const GUARDED_SESSIONS_MAX = 16;
/** Re-entries in a row without the guest acting (each one found its vCPU running, then lost it). */
const ENTRIES_MAX = 8;
/** The HLOS CPU's timer at the end of its slice: ends a directed yield so a waiting guest can go. */
const SLICE_END_TICK = Object.freeze({ kind: "timer_tick" }) as Step;

/** The step as a proposal at time t: a fresh object, the step's fields then `t` (as `{ ...step, t }`). */
function stamped(step: Step, t: number): Proposal {
  const p = shallowCopy(step);
  p.t = t;
  return p as Proposal;
}

export function scheduler(specs: readonly ActorSpec[], sched: Prng, runners: Prng = sched): Driver {
  const actors: Actor[] = specs.map((spec) => ({ spec, program: spec.session(), at: 0, pending: null, waiting: null, last: EMPTY, fresh: true, entry: null, deferred: null, entries: 0, where: null }));
  let now = 0;
  let current: Actor | null = null;

  /** Runs an actor's program up to its next step, or until it waits or finishes; true if it ran. */
  function advance(a: Actor, s: Machine): boolean {
    let ran = false;
    for (let i = 0; a.pending === null && (a.entry !== null || a.program !== null); i++) {
      if (i > DIRECTIVES_MAX) {
        // A scenario that does nothing forever (a loop of sleeps, a loop whose steps all find nothing
        // to do): its bug, named where it is, never a hang or a simulator error.
        die("SCENARIO_INVALID", `${a.where ?? `scenario actor '${a.spec.name}'`}: ${DIRECTIVES_MAX} steps in a row without an event (a loop that never does anything?)`, { actor: a.spec.name });
      }
      if (a.waiting !== null) {
        if (!a.waiting.until(s)) return ran;
        a.waiting = null;
        a.at = Math.max(a.at, now);
      }
      ran = true;
      if (a.entry !== null) {
        const r = a.entry.next(a.last);
        a.last = EMPTY;
        if (r.done !== true) a.pending = r.value as Step;
        else {
          // Entered or not, the guest step goes back to the choice (which re-checks the vCPU).
          a.entry = null;
          a.pending = a.deferred;
          a.deferred = null;
        }
        continue;
      }
      const r = a.program!.next(a.fresh ? (undefined as unknown as Outcome) : a.last);
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
      else if ("mark" in action) a.where = action.mark;
      else a.waiting = action;
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

  /**
   * A guest step whose vCPU is not running: start crosvm's vCPU loop in front of it. False while the
   * vCPU cannot run at all (blocked): the actor waits, as its vCPU does.
   */
  function enterFirst(a: Actor, s: Machine): boolean {
    const step = a.pending!;
    if (a.entry !== null || !executedByGuest(step)) return true;
    const { vm, vcpu } = a.spec.proxied!.target();
    if (vcpuRunning(s, vm, vcpu)) return true;
    if (!vcpuEnterable(s, vm, vcpu)) return false;
    if (++a.entries > ENTRIES_MAX) {
      die("SCENARIO_INVALID", `${a.where ?? `scenario actor '${a.spec.name}'`}: vm${vm}/vcpu${vcpu} does not stay running after ${ENTRIES_MAX} VCPU_RUNs`, { actor: a.spec.name });
    }
    a.deferred = step;
    a.pending = null;
    a.entry = reenter(vm, vcpu);
    advance(a, s);
    return true;
  }

  /** The ready actor with the earliest clock (ties: "sched"), or the slice-end tick; null if none. */
  function choose(s: Machine): Actor | "tick" | null {
    settle(s);
    let free = -1; // read from the state only when some actor wants to enter a vCPU
    // The earliest actor, and every actor tied with it in actor order once there is a tie (no array
    // is built per event otherwise).
    let first: Actor | null = null;
    let ties: Actor[] | null = null;
    let contenders: Actor[] | null = null;
    for (const a of actors) {
      // A session whose VM went away is ended; the next one normally starts by waiting.
      for (let i = 0; a.pending !== null && a.spec.guard !== undefined && !a.spec.guard(s); i++) {
        abort(a);
        if (i < GUARDED_SESSIONS_MAX) advance(a, s);
      }
      if (a.pending === null) continue;
      if (a.spec.proxied !== undefined && !enterFirst(a, s)) continue;
      if (needsRunner(s, a.pending!)) {
        if (free < 0) free = freeRunners(s);
        (contenders ??= []).push(a);
        if (free === 0) continue;
      }
      if (first === null || a.at < first.at) {
        first = a;
        ties = null;
      } else if (a.at === first.at) (ties ??= [first]).push(a);
    }
    let pick = ties !== null ? sched.pick(ties) : first;
    if (contenders === null) return pick;
    if (pick !== null && free > 0 && contenders.includes(pick)) {
      // vCPU threads that have been waiting for an HLOS CPU: more of them than CPUs, a seeded choice.
      const held = contenders.filter((a) => a.at <= now);
      if (held.length > free) pick = runners.pick(held);
    }
    if (free === 0) {
      const due = earliestSliceEnd(s);
      if (due !== null) {
        let first = Number.POSITIVE_INFINITY;
        for (const a of contenders) first = Math.min(first, a.at);
        const at = Math.max(now, due, first);
        if (pick === null || at < pick.at) {
          now = at;
          return "tick";
        }
      }
    }
    return pick;
  }

  function abort(a: Actor): void {
    a.entry?.return(false);
    a.program?.return();
    a.program = a.spec.session();
    a.pending = null;
    a.waiting = null;
    a.fresh = true;
    a.entry = null;
    a.deferred = null;
    a.entries = 0;
  }

  return {
    // Every proposal is `stamped`: a copy of the step made for this event.
    freshProposals: true,
    next(s: Machine): Proposal | null {
      const a = choose(s);
      if (a === "tick") {
        current = null;
        return stamped(SLICE_END_TICK, now);
      }
      current = a;
      if (a === null) return null;
      // An event may span time (vcpu_exec: its instructions), so the machine's clock can be ahead of
      // every actor's: nothing is proposed before it.
      now = Math.max(now, a.at, typeof s.t === "number" ? s.t : 0);
      const { stream, minNs, maxNs } = a.spec.latency;
      a.at = now + stream.rangeInclusive(minNs, maxNs);
      return stamped(a.pending!, now);
    },
    where(): string | null {
      return current === null ? null : (current.where ?? `scenario actor '${current.spec.name}'`);
    },
    stalled(s: Machine): readonly string[] {
      const out: string[] = [];
      // A guarded actor whose guard no longer holds (its VM is gone) waits for nothing: not stalled.
      for (const a of actors) if (a.waiting !== null && (a.spec.guard === undefined || a.spec.guard(s))) out.push(`${a.spec.name} waits until ${a.waiting.wait}${a.where === null ? "" : ` (last at ${a.where})`}`);
      return out;
    },
    observe(_ev: HypEvent, outcome: Outcome): void {
      if (current === null) return;
      current.last = outcome;
      current.pending = null;
      if (current.entry === null) current.entries = 0;
    },
  };
}
