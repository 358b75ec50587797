/**
 * The swarm's driver: the world's actors (launcher, one VMM and one guest per VM, the hostile host,
 * the platform) interleaved by the seeded scheduler (src/sim/lib/scheduler.ts). Around it: when no
 * actor has anything to do but a timed wait is pending (a VMM waiting for a hung guest), the arch
 * timer keeps ticking, so virtual time reaches the deadline (a hung guest does not stop the clock).
 * Each event, with its outcome and the state after it, goes to the run's observer (coverage).
 */
import type { Outcome } from "../../core/event.ts";
import type { HypEvent } from "../../model/events.ts";
import type { Machine } from "../../model/machine.ts";
import type { Driver, Proposal } from "../scenario.ts";
import type { Prng } from "../prng.ts";
import { scheduler, type ActorSpec } from "../lib/scheduler.ts";
import { hostileActor, launcherActor, platformActor } from "./actors.ts";
import { guestActor } from "./guest.ts";
import type { SwarmRun } from "./runtime.ts";
import { vmmActor } from "./vmm.ts";

const US = 1_000;
/** Latencies between one actor's steps (ns), as the scenario-file compiler uses. */
const HOST_LATENCY_NS = { minNs: 5 * US, maxNs: 50 * US };
const VCPU_LATENCY_NS = { minNs: 1 * US, maxNs: 20 * US };
/** Idle ticks one run may need (each takes time to the next deadline): a bound, so a bug cannot spin. */
const IDLE_TICKS_MAX = 10_000;

/** The driver itself failed (an actor's runaway loop, the scheduler's bounds): a swarm bug, not the model's. */
export class SwarmDriverError extends Error {}

export interface EventObserver {
  (ev: HypEvent, outcome: Outcome, state: Machine): void;
}

export function swarmDriver(run: SwarmRun, stream: (name: string) => Prng, observe?: EventObserver): Driver {
  const actors: ActorSpec[] = [launcherActor(run, { stream: stream("launcher"), ...HOST_LATENCY_NS })];
  for (const vm of run.vms) {
    const name = vm.world.name;
    actors.push(vmmActor(run, vm, stream(`vmm:${name}`), { stream: stream(`vmm-timing:${name}`), ...HOST_LATENCY_NS }));
    actors.push(guestActor(run, vm, { data: stream(`guest:${name}`), device: stream(`device:${name}`), irq: stream(`irq:${name}`), hostile: stream(`hostile-guest:${name}`) }, { stream: stream(`vcpu:${name}`), ...VCPU_LATENCY_NS }));
  }
  actors.push(hostileActor(run, stream("hostile-host"), { stream: stream("hostile-timing"), ...HOST_LATENCY_NS }));
  actors.push(platformActor(run, stream("platform"), { stream: stream("platform-timing"), ...HOST_LATENCY_NS }));
  const inner = scheduler(actors, stream("sched"), stream("runner"));
  let lastT = 0;
  let idleTicks = 0;
  return {
    next(s: Machine): Proposal | null {
      try {
        return (run.proposed = propose(s));
      } catch (e) {
        throw new SwarmDriverError(e instanceof Error ? e.message : String(e));
      }
    },
    observe(ev: HypEvent, outcome: Outcome, s: Machine): void {
      run.seq = ev.seq;
      inner.observe?.(ev, outcome, s);
      observe?.(ev, outcome, s);
    },
  };

  function propose(s: Machine): Proposal | null {
    const p = inner.next(s);
    if (p !== null) {
      // The idle ticks below moved time on without the scheduler: never go back before them.
      if (p.t >= lastT) {
        lastT = p.t;
        return p;
      }
      return { ...p, t: lastT } as Proposal;
    }
    let due = Number.POSITIVE_INFINITY;
    for (const d of run.deadlines) if (d < due) due = d;
    if (due === Number.POSITIVE_INFINITY || idleTicks >= IDLE_TICKS_MAX) return null;
    idleTicks += 1;
    lastT = Math.max(lastT, s.t, due);
    return { kind: "timer_tick", t: lastT };
  }
}
