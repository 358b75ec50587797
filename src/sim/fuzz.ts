import { die } from "../core/errors.ts";
import type { Invariant } from "../core/invariants.ts";
import type { Machine } from "../model/machine.ts";
import { checkScenario, recordAgain, type CheckViolation } from "./check.ts";
import type { Scenario } from "./scenario.ts";
import type { ModelDefect } from "../model/faults.ts";
import { emptyCoverage, mergeCoverage, type Coverage } from "./swarm/coverage.ts";
import { runSwarmSeed, type SwarmSeedResult } from "./swarm/run.ts";
import type { HostileStats } from "./swarm/runtime.ts";
import { worldConfig } from "./swarm/scenario.ts";
import { shrinkViolation, type Shrunk } from "./swarm/shrink.ts";
import { drawWorld } from "./swarm/world.ts";

/** `A..B` inclusive; a single `N` is the range N..N. */
export function parseSeedRange(raw: string): { first: number; last: number } {
  const m = /^(\d+)(?:\.\.(\d+))?$/.exec(raw.trim());
  const first = m ? Number(m[1]) : Number.NaN;
  const last = m ? Number(m[2] ?? m[1]) : Number.NaN;
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || last < first) {
    die("ARGUMENT_INVALID", `--seeds: expected a range such as 1..100 (first <= last), got '${raw}'`);
  }
  return { first, last };
}

/** `i/n` with 1 <= i <= n. */
export function parseShard(raw: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(raw.trim());
  const index = m ? Number(m[1]) : Number.NaN;
  const count = m ? Number(m[2]) : Number.NaN;
  if (!(index >= 1 && count >= 1 && index <= count && Number.isSafeInteger(count))) die("ARGUMENT_INVALID", `--shard: expected i/n with 1 <= i <= n, got '${raw}'`);
  return { index, count };
}

/**
 * The seeds of one shard. Seeds are dealt round-robin (seed - first) mod n, so every shard gets a
 * similar mix and the union of all shards is exactly the range: results merge by seed.
 */
export function shardSeeds(range: { first: number; last: number }, shard = { index: 1, count: 1 }): number[] {
  const start = range.first + shard.index - 1;
  const n = start > range.last ? 0 : Math.floor((range.last - start) / shard.count) + 1;
  // A run holds its seeds in a list; a range too big for one process is one line, not an out-of-memory abort.
  if (n > MAX_SEEDS_PER_RUN) {
    die("ARGUMENT_INVALID", `--seeds: ${n} seeds in one run (at most ${MAX_SEEDS_PER_RUN}); split the range with --shard i/n (docs/fuzz-cluster.md)`);
  }
  return Array.from({ length: n }, (_, i) => start + i * shard.count);
}

/** Most seeds one fuzz process takes on: weeks of swarm worlds, and a list that fits in memory. */
export const MAX_SEEDS_PER_RUN = 1_000_000;

export interface FuzzSeedResult {
  readonly seed: number;
  readonly events: number;
  readonly violation: CheckViolation | null;
  /** The failing run's trace bytes (kept only for failures). */
  readonly trace: Buffer | null;
}

/** Runs each seed with every invariant checked after every event; returns one result per seed. */
export function* fuzzSeeds(
  scenario: Scenario,
  seeds: readonly number[],
  invariants: readonly Invariant<Machine>[],
  limits: { maxEvents?: number } = {},
): Generator<FuzzSeedResult> {
  for (const seed of seeds) {
    const r = checkScenario(scenario, seed, null, invariants, limits);
    yield { seed, events: r.events, violation: r.violation, trace: r.violation === null ? null : recordAgain(scenario, seed, invariants, limits) };
  }
}

/** How a failing swarm seed failed, for reports and JSON lines (one per seed). */
export type SwarmFailure =
  | { readonly type: "violation"; readonly invariant: string; readonly index: number; readonly kind: string; readonly detail: string; readonly path: string }
  | { readonly type: "liveness"; readonly kind: string; readonly index: number; readonly detail: string; readonly count: number }
  | { readonly type: "crash"; readonly source: string; readonly index: number; readonly kind: string; readonly message: string }
  | { readonly type: "unanswered"; readonly detail: string };

export function swarmFailure(r: SwarmSeedResult): SwarmFailure | null {
  if (r.crash !== null) return { type: "crash", source: r.crash.source, index: r.crash.index, kind: r.crash.kind, message: r.crash.message };
  if (r.violation !== null) return { type: "violation", invariant: r.violation.invariant, index: r.violation.index, kind: r.violation.kind, detail: r.violation.detail, path: r.violation.path };
  if (r.liveness.length > 0) return { type: "liveness", kind: r.liveness[0]!.kind, index: r.liveness[0]!.index, detail: r.liveness[0]!.detail, count: r.liveness.length };
  if (r.stats.unanswered > 0) return { type: "unanswered", detail: `${r.stats.unanswered} hostile calls got an answer that is not Gunyah's (first: ${r.stats.firstUnanswered})` };
  return null;
}

/** The one command that runs a swarm seed again, failure, liveness check and shrinking included. */
export const swarmRepro = (seed: number, defect: string | null): string => `hvsim fuzz --swarm --seeds ${seed}${defect === null ? "" : ` --defect ${defect}`}`;

export interface SwarmSeedRun {
  readonly result: SwarmSeedResult;
  readonly failure: SwarmFailure | null;
  /** The failing run's events shrunk (violations only; null when not asked or not shrinkable). */
  readonly shrunk: Shrunk | null;
}

/** Runs swarm seeds (world N with run seed N), shrinking each violation unless asked not to. */
export function* fuzzSwarmSeeds(
  seeds: readonly number[],
  o: {
    readonly defect: ModelDefect | null;
    readonly invariants: readonly Invariant<Machine>[];
    readonly maxEvents?: number;
    readonly shrinkBudget: number;
    /** A failure found, before it is shrunk (which can take a while): a caller keeps it at once. */
    readonly found?: (run: Omit<SwarmSeedRun, "shrunk">) => void;
  },
): Generator<SwarmSeedRun> {
  for (const seed of seeds) {
    const result = runSwarmSeed(seed, { defect: o.defect, invariants: o.invariants, ...(o.maxEvents === undefined ? {} : { maxEvents: o.maxEvents }) });
    const failure = swarmFailure(result);
    if (failure !== null) o.found?.({ result, failure });
    let shrunk: Shrunk | null = null;
    if (failure?.type === "violation" && o.shrinkBudget > 0) shrunk = shrinkViolation(worldConfig(drawWorld(seed), o.defect), result.failedEvents!, failure.invariant, o.invariants, o.shrinkBudget);
    yield { result, failure, shrunk };
  }
}

/** The per-run totals a shard's summary carries, so merged shards add up. */
export interface SwarmTotals {
  events: number;
  /** Runs that reached their event budget (no liveness check for them). */
  budgetHit: number;
  failures: Record<SwarmFailure["type"], number>;
  hostile: Omit<HostileStats, "firstUnanswered">;
  coverage: Coverage;
  /** How often each feature was on: the swarm's mix. */
  features: Record<string, number>;
}

export const emptyTotals = (): SwarmTotals => ({
  events: 0,
  budgetHit: 0,
  failures: { violation: 0, liveness: 0, crash: 0, unanswered: 0 },
  hostile: { hypercalls: 0, smccc: 0, accesses: 0, rmCalls: 0, ioctls: 0, hostReads: 0, unanswered: 0 },
  coverage: emptyCoverage(),
  features: {},
});

export function addRun(t: SwarmTotals, run: SwarmSeedRun): void {
  const r = run.result;
  t.events += r.events;
  if (r.hitMaxEvents) t.budgetHit += 1;
  if (run.failure !== null) t.failures[run.failure.type] += 1;
  for (const k of Object.keys(t.hostile) as (keyof SwarmTotals["hostile"])[]) t.hostile[k] += r.stats[k];
  mergeCoverage(t.coverage, r.coverage);
  for (const f of r.features) t.features[f] = (t.features[f] ?? 0) + 1;
}

export function addTotals(into: SwarmTotals, from: SwarmTotals): void {
  into.events += from.events;
  into.budgetHit += from.budgetHit ?? 0;
  for (const k of Object.keys(into.failures) as SwarmFailure["type"][]) into.failures[k] += from.failures[k] ?? 0;
  for (const k of Object.keys(into.hostile) as (keyof SwarmTotals["hostile"])[]) into.hostile[k] += from.hostile[k] ?? 0;
  mergeCoverage(into.coverage, from.coverage);
  for (const [f, n] of Object.entries(from.features)) into.features[f] = (into.features[f] ?? 0) + n;
}
