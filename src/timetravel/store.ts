import type { EventBase, Outcome } from "../core/event.ts";
import { die } from "../core/errors.ts";
import type { Damage, TraceReader } from "../trace/reader.ts";

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
  /** The stored snapshot nearest at or before event `i` (seq -1 is genesis), or null. */
  snapshotAtOrBefore(i: number): { readonly seq: number; readonly state: unknown } | null;
  /** Where the trace is damaged, if it is. */
  readonly damage: Damage | null;
}

export function memoryStore(events: readonly EventBase[], outcomes: readonly Outcome[] = []): EventStore {
  const at = (i: number): void => {
    if (!(Number.isInteger(i) && i >= 0 && i < events.length)) die("ARGUMENT_INVALID", `event ${i} is out of range (0..${events.length - 1})`);
  };
  return {
    count: events.length,
    event: (i) => (at(i), events[i]!),
    outcome: (i) => (at(i), outcomes[i] ?? {}),
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
 * A store over a trace file. The block and snapshot index comes from the footer; a trace without
 * one (cut short, damaged) is scanned once to build it, stopping at the damage.
 */
export function traceStore(reader: TraceReader): EventStore {
  const { blocks, snapshots, damage } = indexOf(reader);
  const count = blocks.length === 0 ? 0 : blocks[blocks.length - 1]!.first + blocks[blocks.length - 1]!.count;
  const cache = new Map<number, { events: EventBase[]; outcomes: Outcome[] }>();
  const blockFor = (i: number) => {
    if (!(Number.isInteger(i) && i >= 0 && i < count)) die("ARGUMENT_INVALID", `event ${i} is out of range (0..${count - 1})`);
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
      const item = reader.itemAt(ref.offset, ref.index);
      if (item === null || item.type !== "block") die("TRACE_MALFORMED", `${reader.source.name}: no block at offset ${ref.offset}`);
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
    snapshotAtOrBefore(i) {
      let best: { seq: number; offset: number } | undefined;
      for (const s of snapshots) if (s.seq <= i && (best === undefined || s.seq > best.seq)) best = s;
      if (best === undefined) return null;
      const item = reader.itemAt(best.offset);
      return item !== null && item.type === "checkpoint" && item.snapshot !== undefined ? { seq: item.seq, state: item.snapshot } : null;
    },
  };
}

function indexOf(reader: TraceReader): { blocks: BlockRef[]; snapshots: { seq: number; offset: number }[]; damage: Damage | null } {
  const footer = reader.footer();
  if (footer !== null) {
    return {
      blocks: footer.blocks.map(([offset, first, count], index) => ({ offset, first, count, index })),
      snapshots: footer.checkpoints.filter((c) => c[2] === 1).map(([offset, seq]) => ({ seq, offset })),
      damage: null,
    };
  }
  const blocks: BlockRef[] = [];
  const snapshots: { seq: number; offset: number }[] = [];
  for (const item of reader.items()) {
    if (item.type === "block") blocks.push({ offset: item.offset, first: item.first, count: item.events.length, index: item.index });
    else if (item.type === "checkpoint" && item.snapshot !== undefined) snapshots.push({ seq: item.seq, offset: item.offset });
  }
  return { blocks, snapshots, damage: reader.damage };
}
