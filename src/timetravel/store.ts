import type { EventBase, Outcome } from "../core/event.ts";
import { die } from "../core/errors.ts";
import type { Damage, TraceReader } from "../trace/reader.ts";
import { storesState } from "../trace/structure.ts";

/**
 * Random access to a trace's events for time travel. Events come from memory (tests, minimised
 * candidates) or from a trace file through its block index, a few decoded blocks at a time, so a
 * long trace is never held whole.
 */
export interface EventStore {
  /** Whole events available (a damaged trace: those before the damage). */
  readonly count: number;
  event(i: number): EventBase;
  outcome(i: number): Outcome;
  /** The run of events (a trace block) that holds event `i`, for reading many in order: `events[k]` is event `first + k`. */
  span(i: number): { readonly first: number; readonly events: readonly EventBase[]; readonly outcomes: readonly Outcome[] };
  /** The stored snapshot nearest at or before event `i` (seq -1 is genesis), or null. */
  snapshotAtOrBefore(i: number): { readonly seq: number; readonly state: unknown } | null;
  /** Where the trace is damaged, if it is. */
  readonly damage: Damage | null;
}

export function memoryStore(events: readonly EventBase[], outcomes: readonly Outcome[] = []): EventStore {
  const at = (i: number): void => {
    if (!(Number.isInteger(i) && i >= 0 && i < events.length)) outOfRange(i, events.length, null);
  };
  return {
    count: events.length,
    event: (i) => (at(i), events[i]!),
    outcome: (i) => (at(i), outcomes[i] ?? {}),
    span: (i) => (at(i), { first: 0, events, outcomes: events.map((_, k) => outcomes[k] ?? {}) }),
    snapshotAtOrBefore: () => null,
    damage: null,
  };
}

interface BlockRef {
  readonly offset: number;
  readonly first: number;
  readonly count: number;
  readonly index: number;
}

/** Decoded blocks kept at once: stepping back and forth near a block boundary never re-decodes. */
const BLOCK_CACHE_MAX = 4;

/**
 * The one message for an event index outside a trace, naming the damage when that is why the
 * trace ends early: every tool that takes an index (`state --at`, `log --from`, `goto`) says this.
 */
export function outOfRange(i: number, count: number, damage: Damage | null): never {
  const range = count === 0 ? "this trace has no whole events" : `this trace has events 0..${count - 1}`;
  const cut = damage === null ? "" : damage.code === "TRACE_INCOMPLETE" ? " (the recording did not finish)" : ` before the damage at byte offset ${damage.offset}`;
  return die("ARGUMENT_INVALID", `event index ${i} is out of range: ${range}${cut} (-1 is genesis)`, { seq: i });
}

/**
 * A store over a trace file, holding only the whole events. The block and snapshot index comes
 * from one checked pass (traceIndex), which stops at the damage of a damaged trace or the end of
 * an unfinished one; blocks are then decoded a few at a time, each checked against the index.
 */
export function traceStore(reader: TraceReader): EventStore {
  const { blocks, snapshots, damage } = traceIndex(reader);
  const count = blocks.length === 0 ? 0 : blocks[blocks.length - 1]!.first + blocks[blocks.length - 1]!.count;
  const cache = new Map<number, { events: EventBase[]; outcomes: Outcome[] }>();
  const blockFor = (i: number) => {
    if (!(Number.isInteger(i) && i >= 0 && i < count)) outOfRange(i, count, damage);
    let lo = 0;
    let hi = blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (blocks[mid]!.first <= i) lo = mid;
      else hi = mid - 1;
    }
    const ref = blocks[lo]!;
    let hit = cache.get(ref.index);
    if (hit === undefined) {
      const item = reader.blockAt(ref.offset, ref.index, ref.first, ref.count);
      hit = { events: item.events, outcomes: item.outcomes };
      if (cache.size >= BLOCK_CACHE_MAX) cache.delete(cache.keys().next().value!);
      cache.set(ref.index, hit);
    }
    return { ref, hit };
  };
  return {
    count,
    damage,
    event: (i) => {
      const { ref, hit } = blockFor(i);
      return hit.events[i - ref.first]!;
    },
    outcome: (i) => {
      const { ref, hit } = blockFor(i);
      return hit.outcomes[i - ref.first]!;
    },
    span: (i) => {
      const { ref, hit } = blockFor(i);
      return { first: ref.first, events: hit.events, outcomes: hit.outcomes };
    },
    snapshotAtOrBefore(i) {
      let best: { seq: number; offset: number } | undefined;
      for (const s of snapshots) if (s.seq <= i && (best === undefined || s.seq > best.seq)) best = s;
      if (best === undefined) return null;
      return { seq: best.seq, state: reader.snapshotAt(best.offset, best.seq) };
    },
  };
}

export interface TraceIndex {
  readonly blocks: readonly BlockRef[];
  readonly snapshots: readonly { readonly seq: number; readonly offset: number }[];
  readonly damage: Damage | null;
}

/**
 * The block and snapshot index, from one checked pass over the file (every record's checksum,
 * schema and place, and the footer against what the file holds: TraceReader.items): a tool
 * seeking in a trace knows from the start whether it is whole, and where it stops being, instead
 * of finding out at the block it happens to read, and says so in the words `replay` and `info`
 * use. The pass decodes every block once (about a second per million events); the footer alone
 * cannot be trusted for this, since a hand-edited file can carry a consistent footer over blocks
 * that are not what it says.
 */
export function traceIndex(reader: TraceReader): TraceIndex {
  const blocks: BlockRef[] = [];
  const snapshots: { seq: number; offset: number }[] = [];
  for (const item of reader.items()) {
    if (item.type === "block") blocks.push({ offset: item.offset, first: item.first, count: item.events.length, index: item.index });
    else if (item.type === "checkpoint" && storesState(item)) snapshots.push({ seq: item.seq, offset: item.offset });
  }
  return { blocks, snapshots, damage: reader.damage };
}
