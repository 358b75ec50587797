import type { Invariant } from "../core/invariants.ts";
import { replay } from "../core/replay.ts";
import { hvModel, type Machine, type MachineConfig } from "../model/machine.ts";
import type { Damage, TraceReader } from "../trace/reader.ts";
import { stateHashOf } from "../trace/format.ts";
import { memorySink, type ByteSink } from "../trace/source.ts";
import { compilePredicate } from "../timetravel/predicate.ts";
import { record } from "./record.ts";
import type { Scenario } from "./scenario.ts";

/** The first invariant violation: which invariant, at which event index, on which objects. */
export interface CheckViolation {
  readonly invariant: string;
  readonly index: number;
  readonly kind: string;
  readonly path: string;
  readonly detail: string;
  readonly objects?: Readonly<Record<string, string | number>>;
}

export interface CheckResult {
  readonly ok: boolean;
  /** Events checked (up to and including the violating one). */
  readonly events: number;
  readonly invariants: number;
  readonly violation: CheckViolation | null;
  /** A replay problem that is not a violation (divergence, trace error): reported separately. */
  readonly problem: string | null;
  /** What kind of problem: this build computes other outcomes or hashes, or the trace is bad. */
  readonly problemClass?: "divergence" | "input";
  /** Where a checked trace is damaged or ends unfinished (everything before it was checked). */
  readonly damage: Damage | null;
}

/**
 * An ad-hoc invariant from a predicate (`--assert EXPR`): it holds while EXPR holds. Lets a user
 * (or a test) state a property without writing code, and keeps the repro command self-contained.
 */
export function assertionInvariant(source: string): Invariant<Machine> {
  const p = compilePredicate(source);
  return {
    name: `assert(${source})`,
    description: `user assertion: ${source}`,
    check: (s) => (p.test(s) ? null : { path: p.paths[0] ?? "", detail: `\`${source}\` does not hold` }),
  };
}

export const allInvariants = (asserts: readonly string[] = []): readonly Invariant<Machine>[] => [
  ...hvModel.invariants,
  ...asserts.map(assertionInvariant),
];

/** Runs every invariant after every event of a recorded trace (the isolation oracle over a trace). */
export function checkTrace(
  reader: TraceReader,
  invariants: readonly Invariant<Machine>[],
  options: { until?: number; onCheckpoint?: (seq: number) => void } = {},
): CheckResult {
  const model = { ...hvModel, invariants };
  const genesis = hvModel.genesis(reader.header.config as MachineConfig);
  const r = replay(model, genesis, reader.items(), { invariants: "every", stateHash: stateHashOf(reader.header), ...options });
  const f = r.finding;
  if (f?.type === "violation") {
    const { invariant, path, detail, objects } = f.failure;
    return {
      ok: false,
      events: r.verified,
      invariants: invariants.length,
      violation: { invariant, index: f.seq, kind: f.kind, path, detail, ...(objects ? { objects } : {}) },
      problem: null,
      damage: null,
    };
  }
  const problem = f !== null ? `${f.type} at event ${f.seq}` : null;
  const problemClass = f === null ? undefined : f.type === "trace_error" ? "input" : "divergence";
  const damage = f === null ? reader.damage : null;
  return { ok: problem === null && damage === null, events: r.verified, invariants: invariants.length, violation: null, problem, damage, ...(problemClass === undefined ? {} : { problemClass }) };
}

/** Records a scenario from a seed with every invariant checked after every event (no sink: writes no trace). */
export function checkScenario(
  scenario: Scenario,
  seed: number,
  sink: ByteSink | null,
  invariants: readonly Invariant<Machine>[],
  limits: { maxEvents?: number; untilNs?: number; onProgress?: (events: number, maxEvents: number) => void } = {},
): CheckResult {
  const r = record(scenario, sink, { seed, checkInvariants: true, invariants, ...limits });
  const v = r.violation;
  return {
    ok: v === null,
    events: r.events,
    invariants: invariants.length,
    violation:
      v === null
        ? null
        : { invariant: v.invariant, index: v.seq, kind: v.kind, path: v.path, detail: v.detail, ...(v.objects ? { objects: v.objects } : {}) },
    problem: null,
    damage: null,
  };
}

/**
 * A failing seed's trace: its run again, now written (a passing run writes nothing). The same seed
 * gives the same run, so this is the trace of the run that failed.
 */
export function recordAgain(scenario: Scenario, seed: number, invariants: readonly Invariant<Machine>[], limits: { maxEvents?: number } = {}): Buffer {
  const sink = memorySink();
  checkScenario(scenario, seed, sink, invariants, limits);
  return sink.bytes();
}
