import type { EventBase, Outcome } from "../core/event.ts";
import { die } from "../core/errors.ts";
import type { Damage, Frame, TraceItem, TraceReader } from "../trace/reader.ts";
import { RecordType } from "../trace/format.ts";

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
  const cut = damage === null ? "" : ` before the damage at byte offset ${damage.offset}`;
  return die("ARGUMENT_INVALID", `event index ${i} is out of range: ${range}${cut} (-1 is genesis)`, { seq: i });
}

/**
 * A store over a trace file, holding only the whole events: the index is built by one pass over the
 * record frames (checksums checked, nothing decoded), with each block's event range taken from the
 * footer when it agrees with the file, else from the block itself. A trace damaged anywhere (a cut,
 * a flipped byte under an intact footer) is cut at the first damaged record, and says where.
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
      const item = decodeBlock(reader, ref);
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
      const item = reader.itemAt(best.offset);
      return item !== null && item.type === "checkpoint" && item.snapshot !== undefined ? { seq: item.seq, state: item.snapshot } : null;
    },
  };
}

/** A block the frame pass found whole but whose body does not decode as one (valid CRC, bad body). */
function decodeBlock(reader: TraceReader, ref: BlockRef): Extract<TraceItem, { type: "block" }> {
  const item = reader.itemAt(ref.offset, ref.index);
  if (item === null || item.type !== "block" || item.first !== ref.first || item.events.length !== ref.count) {
    return die("TRACE_MALFORMED", `${reader.source.name}: the block record at offset ${ref.offset} (block ${ref.index}) does not decode as events ${ref.first}..${ref.first + ref.count - 1}`, {
      offset: ref.offset,
      block: ref.index,
    });
  }
  return item;
}

export interface TraceIndex {
  readonly blocks: readonly BlockRef[];
  readonly snapshots: readonly { readonly seq: number; readonly offset: number }[];
  readonly damage: Damage | null;
}

/**
 * Where the whole blocks and stored snapshots are. The footer supplies event ranges when its block
 * list matches the blocks the frame pass found; otherwise (no footer, or one that disagrees) each
 * record before the damage is decoded once. A gap in the event indices is damage too.
 */
export function traceIndex(reader: TraceReader): TraceIndex {
  const frames: Frame[] = [];
  const pass = reader.frames();
  let step = pass.next();
  for (; !step.done; step = pass.next()) frames.push(step.value);
  let damage: Omit<Damage, "eventsBefore"> | null = step.value;
  const footer = reader.footer();
  const blockFrames = frames.filter((f) => f.type === RecordType.block);
  const fromFooter = footer !== null && blockFrames.every((f, k) => footer.blocks[k]?.[0] === f.offset) && (damage !== null || footer.blocks.length === blockFrames.length);
  const blocks: BlockRef[] = [];
  const snapshots: { seq: number; offset: number }[] = [];
  const end = damage?.offset ?? Number.POSITIVE_INFINITY;
  if (fromFooter) {
    blockFrames.forEach((f, index) => blocks.push({ offset: f.offset, first: footer.blocks[index]![1], count: footer.blocks[index]![2], index }));
    for (const [offset, seq, snap] of footer.checkpoints) if (snap === 1 && offset < end) snapshots.push({ seq, offset });
  } else {
    for (const f of frames) {
      if (f.type !== RecordType.block && f.type !== RecordType.checkpoint) continue;
      const item = reader.itemAt(f.offset, blocks.length);
      if (item?.type === "block") blocks.push({ offset: f.offset, first: item.first, count: item.events.length, index: blocks.length });
      else if (item?.type === "checkpoint" && item.snapshot !== undefined) snapshots.push({ seq: item.seq, offset: f.offset });
    }
  }
  // Event indices must be dense from 0: the first gap ends what can be used.
  let next = 0;
  for (let k = 0; k < blocks.length; k++) {
    if (blocks[k]!.first === next) {
      next += blocks[k]!.count;
      continue;
    }
    damage = { code: "TRACE_MALFORMED", offset: blocks[k]!.offset, block: k, message: `block ${k} at offset ${blocks[k]!.offset} starts at event ${blocks[k]!.first}, expected ${next}` };
    blocks.length = k;
    break;
  }
  return {
    blocks,
    snapshots: snapshots.filter((s) => s.offset < (damage?.offset ?? Number.POSITIVE_INFINITY)),
    damage: damage === null ? null : { ...damage, eventsBefore: next },
  };
}
