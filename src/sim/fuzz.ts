import { die } from "../core/errors.ts";
import type { Invariant } from "../core/invariants.ts";
import type { Machine } from "../model/machine.ts";
import { memorySink } from "../trace/source.ts";
import { checkScenario, type CheckViolation } from "./check.ts";
import type { Scenario } from "./scenario.ts";

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
  if (!(index >= 1 && count >= 1 && index <= count)) die("ARGUMENT_INVALID", `--shard: expected i/n with 1 <= i <= n, got '${raw}'`);
  return { index, count };
}

/**
 * The seeds of one shard. Seeds are dealt round-robin (seed - first) mod n, so every shard gets a
 * similar mix and the union of all shards is exactly the range: results merge by seed.
 */
export function shardSeeds(range: { first: number; last: number }, shard = { index: 1, count: 1 }): number[] {
  const seeds: number[] = [];
  for (let s = range.first; s <= range.last; s++) if ((s - range.first) % shard.count === shard.index - 1) seeds.push(s);
  return seeds;
}

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
    const sink = memorySink();
    const r = checkScenario(scenario, seed, sink, invariants, limits);
    yield { seed, events: r.events, violation: r.violation, trace: r.violation === null ? null : sink.bytes() };
  }
}
