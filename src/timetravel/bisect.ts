import type { CoreState } from "../core/reducer.ts";
import type { EventBase, Outcome } from "../core/event.ts";
import { withoutEnvelope } from "./diff.ts";
import { lookupResolved, pathsOverlap, resolvePath } from "./paths.ts";
import { changeText, readableBrief, readablePath } from "./readable.ts";
import { plainEqual } from "../core/equal.ts";
import type { Condition } from "./condition.ts";
import type { Seeker } from "./seeker.ts";

/** Two states that show the condition is not monotonic: it held at `holds` and not at the later `fails`. */
export interface NotMonotonic {
  readonly holds: number;
  readonly fails: number;
}

export interface BisectResult {
  /** First event index after which the condition holds; -1: already in genesis; null: never (or not monotonic). */
  readonly index: number | null;
  /** Set when a sampled state contradicts monotonicity: then `index` is null and means "cannot tell". */
  readonly notMonotonic: NotMonotonic | null;
  /** Condition evaluations of the binary search, about log2(events) + 2. */
  readonly probes: number;
  /** States looked at besides the search to test monotonicity (cached checkpoints and spread samples). */
  readonly samples: number;
  /** Seeks, each from the nearest checkpoint, and the events they replayed in total. */
  readonly seeks: number;
  readonly eventsReplayed: number;
  /** The answer was checked: the condition holds at `index` and not at `index - 1`. */
  readonly verified: boolean;
}

/** Evenly spread indices over the trace looked at besides the cache (each a seek of at most one interval once warm). */
const SPREAD_SAMPLES = 16;

/**
 * Binary search over event indices for the first state where `bad` holds, using the seek engine
 * (each probe replays at most one checkpoint interval once the cache is warm: O(log n) seeks).
 *
 * It relies on monotonicity (once the condition holds it keeps holding: an invariant, once broken,
 * stays broken; a counter past a bound stays past it), and tests it before answering: the two
 * ends, every state the cache holds after the first probe, and a spread of samples. A state that
 * holds before one that does not means the condition flips back; then there is no answer
 * (`notMonotonic` says where) and `scanFirst` finds the first index by a linear walk.
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
  let probes = 0;
  const probe = (i: number): boolean => {
    if (!seen.has(i)) probes += 1;
    return holds(i);
  };
  const last = seeker.count - 1;
  // The last state first: its replay fills the checkpoint cache the samples read.
  const atEnd = probe(last);
  const atGenesis = probe(-1);
  let index: number | null = atEnd ? -1 : null;
  if (atEnd && !atGenesis) {
    let good = -1;
    let badAt = last;
    while (badAt - good > 1) {
      const mid = good + Math.floor((badAt - good) / 2);
      if (probe(mid)) badAt = mid;
      else good = mid;
    }
    index = badAt;
  }
  const before = seen.size;
  const spread = Array.from({ length: SPREAD_SAMPLES }, (_, k) => Math.floor(((k + 1) * seeker.count) / (SPREAD_SAMPLES + 1)) - 1);
  for (const i of [...seeker.cachedIndices(), ...spread]) if (i >= -1 && i <= last) holds(i);
  const notMonotonic = firstFlipBack(seen);
  const done: Omit<BisectResult, "index" | "verified" | "notMonotonic"> = {
    probes,
    samples: seen.size - before,
    seeks: seeker.stats.seeks - seeks0,
    eventsReplayed: seeker.stats.eventsReplayed - events0,
  };
  if (notMonotonic !== null) return { ...done, index: null, notMonotonic, verified: false };
  const verified = index === null || index === -1 || (holds(index) && !holds(index - 1));
  return { ...done, index, notMonotonic: null, verified };
}

/** The first state that holds followed by a later one that does not, among those looked at. */
function firstFlipBack(seen: ReadonlyMap<number, boolean>): NotMonotonic | null {
  let held: number | null = null;
  for (const i of [...seen.keys()].sort((a, b) => a - b)) {
    if (seen.get(i)) held ??= i;
    else if (held !== null) return { holds: held, fails: i };
  }
  return null;
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
      return [resolvePath(text)];
    } catch {
      return []; // an invariant may name a path in a form of its own: show it in the detail only
    }
  });
  for (const p of read) {
    const [was, is] = [lookupResolved(c.before, p), lookupResolved(c.after, p)];
    // The path the condition names, unchanged by the event (what changed is elsewhere: an
    // invariant over a VM's stage-2 names the VM): its value once, not "x -> x".
    lines.push(plainEqual(was, is) ? `  ${readablePath(p.segments)}: ${readableBrief(is, p.segments)} (unchanged by this event)` : `  ${changeText(p.segments, was, is)}`);
  }
  const others = withoutEnvelope(c.diff.changes).filter((ch) => !read.some((p) => pathsOverlap(p.segments, ch.path)));
  if (others.length > 0) lines.push("  the event also wrote:");
  for (const ch of others.slice(0, 10)) lines.push(`    ${changeText(ch.path, ch.before, ch.after)}`);
  if (others.length > 10) lines.push(`    (${others.length - 10} more)`);
  return lines;
}
