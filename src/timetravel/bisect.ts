import type { CoreState } from "../core/reducer.ts";
import type { EventBase, Outcome } from "../core/event.ts";
import { withoutEnvelope } from "./diff.ts";
import { brief, formatPath, lookup, parsePath, pathsOverlap } from "./paths.ts";
import type { Condition } from "./condition.ts";
import type { Seeker } from "./seeker.ts";

export interface BisectResult {
  /** First event index after which the condition holds; -1: already in genesis; null: never. */
  readonly index: number | null;
  /** Condition evaluations (states looked at), about log2(events) + 2. */
  readonly probes: number;
  /** Seeks, each from the nearest checkpoint, and the events they replayed in total. */
  readonly seeks: number;
  readonly eventsReplayed: number;
  /** The answer was checked: the condition holds at `index` and not at `index - 1`. */
  readonly verified: boolean;
}

/**
 * Binary search over event indices for the first state where `bad` holds, using the seek engine
 * (each probe replays at most one checkpoint interval once the cache is warm: O(log n) seeks).
 *
 * Assumes monotonicity: once the condition holds it keeps holding (an invariant, once broken, stays
 * broken; a counter, once past a bound, stays past it). For a condition that flips back and forth
 * the answer is *a* first-true-after-false boundary, not necessarily the earliest; `scanFirst` finds
 * the earliest by a linear walk.
 */
export function bisect<S extends CoreState>(seeker: Seeker<S>, bad: Condition<S>): BisectResult {
  const seeks0 = seeker.stats.seeks;
  const events0 = seeker.stats.eventsReplayed;
  const seen = new Map<number, boolean>();
  const holds = (i: number): boolean => {
    let v = seen.get(i);
    if (v === undefined) {
      v = bad.test(seeker.stateAt(i));
      seen.set(i, v);
    }
    return v;
  };
  const done = (index: number | null, verified: boolean): BisectResult => ({
    index,
    probes: seen.size,
    seeks: seeker.stats.seeks - seeks0,
    eventsReplayed: seeker.stats.eventsReplayed - events0,
    verified,
  });
  // The last state first: it decides "never", and its replay fills the checkpoint cache.
  if (!holds(seeker.count - 1)) return done(null, true);
  if (holds(-1)) return done(-1, true);
  let good = -1;
  let badAt = seeker.count - 1;
  while (badAt - good > 1) {
    const mid = good + Math.floor((badAt - good) / 2);
    if (holds(mid)) badAt = mid;
    else good = mid;
  }
  return done(badAt, holds(badAt) && !holds(badAt - 1));
}

/** The earliest index where `bad` holds, by one linear walk from genesis (the reference for bisect). */
export function scanFirst<S extends CoreState>(seeker: Seeker<S>, bad: Condition<S>): number | null {
  if (bad.test(seeker.genesis)) return -1;
  if (seeker.count === 0) return null;
  const i = seeker.walk(0, seeker.count - 1, (_i, s) => bad.test(s));
  return i === -1 ? null : i;
}

/**
 * What bisect prints about its answer: the event (described by the caller's describer), the state
 * paths the condition reads with their values before and after it, and what else the event wrote.
 */
export function bisectReport<S extends CoreState>(
  seeker: Seeker<S>,
  bad: Condition<S>,
  index: number,
  describe: (ev: EventBase, outcome: Outcome) => string,
): string[] {
  if (index < 0) return ["  (already in the genesis state: no event made it)"];
  const c = seeker.changeAt(index);
  const lines = [`  ${describe(c.event, seeker.store.outcome(index))}`];
  const detail = bad.detail(c.after);
  if (detail !== "") lines.push(`  ${detail}`);
  const read = bad.paths(c.after).flatMap((text) => {
    try {
      return [parsePath(text)];
    } catch {
      return []; // an invariant may name a path in a form of its own: show it in the detail only
    }
  });
  for (const p of read) lines.push(`  ${formatPath(p)}: ${brief(lookup(c.before, p))} -> ${brief(lookup(c.after, p))}`);
  const others = withoutEnvelope(c.diff.changes).filter((ch) => !read.some((p) => pathsOverlap(p, ch.path)));
  if (others.length > 0) lines.push("  the event also wrote:");
  for (const ch of others.slice(0, 10)) lines.push(`    ${formatPath(ch.path)}: ${brief(ch.before)} -> ${brief(ch.after)}`);
  if (others.length > 10) lines.push(`    (${others.length - 10} more)`);
  return lines;
}
