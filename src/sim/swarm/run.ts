/**
 * One swarm seed, start to finish: draw world N, run it with run seed N and every invariant checked
 * after every event, then the liveness check. A seed fails in one of three ways, as the VOPR
 * classifies them: correctness (an invariant broke, named with its event index), liveness (the
 * run stopped making progress, or left a VM or parcel behind), or crash (the reducer threw: a
 * model bug, or the driver proposed an event that cannot happen, a swarm bug). A failing seed keeps
 * its events, so it can be shrunk (shrink.ts) and its trace written.
 */
import type { EventBase, Outcome } from "../../core/event.ts";
import { isHvsimError } from "../../core/errors.ts";
import type { Invariant } from "../../core/invariants.ts";
import type { ModelDefect } from "../../model/faults.ts";
import type { HypEvent } from "../../model/events.ts";
import type { Machine } from "../../model/machine.ts";
import { checkScenario, recordAgain, type CheckViolation } from "../check.ts";
import { CoverageRecorder, type Coverage } from "./coverage.ts";
import { endOfRunLiveness } from "./liveness.ts";
import type { HostileStats, LivenessFailure, SwarmRun } from "./runtime.ts";
import { swarmScenario } from "./scenario.ts";
import { SwarmDriverError } from "./driver.ts";
import type { SwarmFeature } from "./features.ts";

export interface SwarmCrash {
  /** The event the reducer threw on, and what it threw. */
  readonly index: number;
  readonly kind: string;
  readonly message: string;
  /**
   * Who failed: the model threw while applying an event (a reducer exception: a model bug); the
   * model called the event impossible (a trace error: the swarm proposed an event that cannot
   * happen, or the model rejects a guest's input it should answer); the driver itself failed.
   */
  readonly source: "model" | "impossible-event" | "driver";
}

export interface SwarmSeedResult {
  readonly seed: number;
  readonly defect: ModelDefect | null;
  readonly features: readonly SwarmFeature[];
  readonly events: number;
  /** The run reached its event budget before the world's programs ended: no liveness check was made. */
  readonly hitMaxEvents: boolean;
  readonly violation: CheckViolation | null;
  readonly liveness: readonly LivenessFailure[];
  readonly crash: SwarmCrash | null;
  readonly stats: HostileStats;
  readonly coverage: Coverage;
  /** The run's events and trace bytes, kept only when the seed failed. */
  readonly failedEvents: readonly EventBase[] | null;
  readonly trace: Buffer | null;
}

export interface SwarmSeedOptions {
  readonly defect?: ModelDefect | null;
  readonly invariants: readonly Invariant<Machine>[];
  readonly maxEvents?: number;
}

function crashSource(e: unknown): SwarmCrash["source"] {
  if (e instanceof SwarmDriverError) return "driver";
  return isHvsimError(e) && (e.code === "TRACE_EVENT_INVALID" || e.code === "TRACE_EVENT_OUT_OF_ORDER") ? "impossible-event" : "model";
}

export function runSwarmSeed(seed: number, o: SwarmSeedOptions): SwarmSeedResult {
  let run: SwarmRun | null = null;
  let last: Machine | null = null;
  const events: EventBase[] = [];
  const coverage = new CoverageRecorder();
  const observe = (ev: HypEvent, outcome: Outcome, s: Machine): void => {
    events.push(ev);
    coverage.observe(ev, outcome, s);
    last = s;
  };
  const scenario = swarmScenario(seed, o.defect ?? null, { onRun: (r) => (run = r), observe });
  let violation: CheckViolation | null = null;
  let crash: SwarmCrash | null = null;
  let liveness: LivenessFailure[] = [];
  let count = 0;
  const limits = o.maxEvents === undefined ? {} : { maxEvents: o.maxEvents };
  try {
    const r = checkScenario(scenario, seed, null, o.invariants, limits);
    violation = r.violation;
    count = r.events;
  } catch (e) {
    const p = (run as SwarmRun | null)?.proposed ?? null;
    crash = { index: events.length, kind: p?.kind ?? "?", message: e instanceof Error ? e.message : String(e), source: crashSource(e) };
    count = events.length;
  }
  const finished = run as SwarmRun | null;
  const state = last as Machine | null;
  const hitMaxEvents = count >= Math.min(scenario.maxEvents, o.maxEvents ?? Number.POSITIVE_INFINITY);
  if (violation === null && crash === null && finished !== null && state !== null && !hitMaxEvents) {
    liveness = [...finished.liveness, ...endOfRunLiveness(finished, state, count - 1)];
  }
  const failed = violation !== null || liveness.length > 0 || crash !== null;
  return {
    seed,
    defect: o.defect ?? null,
    features: scenario.world.features,
    events: count,
    hitMaxEvents,
    violation,
    liveness,
    crash,
    stats: finished?.stats ?? { hypercalls: 0, smccc: 0, accesses: 0, rmCalls: 0, ioctls: 0, hostReads: 0, unanswered: 0, firstUnanswered: null },
    coverage: state === null ? coverage.coverage : coverage.finish(state),
    failedEvents: failed ? events : null,
    // The world again without this run's hooks: the same seed, the same events, now written.
    trace: failed && crash === null ? recordAgain(swarmScenario(seed, o.defect ?? null), seed, o.invariants, limits) : null,
  };
}
