import type { EventBase, Outcome } from "../core/event.ts";
import { HvsimError, die, isHvsimError } from "../core/errors.ts";
import type { Damage, TraceReader } from "../trace/reader.ts";
import { storesState } from "../trace/structure.ts";
import { damageAt } from "../trace/damage.ts";
import { FRAME_BYTES, checksum } from "../trace/format.ts";
import { scanTrace, type TraceSummary } from "../trace/scan.ts";

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
  /**
   * Rebuilds every stored state in order, each from the one before it, and checks it hashes to its
   * checkpoint's hash: what a seek would find, for the commands that verify a whole trace (a
   * replay recomputes the states but never reads the stored ones). Damage found is thrown as
   * FoundDamage, as a seek would.
   */
  checkStoredStates(): number;
  /** Where the trace is damaged, if it is (found when it was opened: `count` stops there). */
  readonly damage: Damage | null;
  /**
   * Where the index came from: the footer (blocks are checked as they are read, and damage found
   * then is `found`), one checked scan of the whole file, or events in memory.
   */
  readonly index: "footer" | "scan" | "memory";
  /** Damage found in a record read on demand through the footer index (the first such), or null. */
  readonly found: Damage | null;
  /** Events by kind in the whole events, when the index knows them without reading blocks. */
  readonly countsByKind: Readonly<Record<string, number>> | null;
  /** What the checked scan that indexed the file found (`index: "scan"`; what `info --verify` shows), else null. */
  readonly scanned: TraceSummary | null;
  /**
   * The stored record of the block that holds event `i`, framing and body, with its checksum
   * verified (not decoded: for comparing two traces block by block without decoding identical
   * ones); null when the index does not know where the record ends or its checksum is wrong.
   */
  rawBlock(i: number): { readonly first: number; readonly count: number; readonly bytes: Uint8Array } | null;
  /**
   * Every checkpoint record as stored, framing and body, checksums verified (damage thrown as
   * FoundDamage), in order; null when the index is not the footer's (a scan already read them).
   */
  rawCheckpoints(): readonly { readonly seq: number; readonly bytes: Uint8Array; readonly hash: () => string }[] | null;
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
    checkStoredStates: () => 0,
    rawCheckpoints: () => null,
    damage: null,
    index: "memory",
    found: null,
    countsByKind: null,
    scanned: null,
    rawBlock: () => null,
  };
}

interface BlockRef {
  readonly offset: number;
  readonly first: number;
  readonly count: number;
  readonly index: number;
}

/** A framed record whose body's checksum holds (framing: type, length, CRC; format.ts). */
function sealed(bytes: Uint8Array): boolean {
  return bytes.length >= FRAME_BYTES && Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).readUInt32LE(5) === checksum(bytes.subarray(FRAME_BYTES));
}

/** Decoded blocks kept at once (least recently used dropped): stepping back and forth near a block boundary never re-decodes. */
const BLOCK_CACHE_MAX = 4;

/** `cache`'s value for `key` (made by `make` when missing), kept among the BLOCK_CACHE_MAX most recently used. */
function recent<V>(cache: Map<number, V>, key: number, make: () => V): V {
  let v = cache.get(key);
  if (v === undefined) {
    v = make();
    if (cache.size >= BLOCK_CACHE_MAX) cache.delete(cache.keys().next().value!);
  } else cache.delete(key);
  cache.set(key, v);
  return v;
}

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
 * Damage in a record read on demand through the footer index: one line naming the offset
 * (damageAt), with the damage itself for a command that stops there and says what it did before.
 */
export class FoundDamage extends HvsimError {
  constructor(
    readonly damage: Damage,
    file: string,
  ) {
    super(damage.code, damageAt(file, damage), { offset: damage.offset, block: damage.block });
  }
}

export interface StoreOptions {
  /**
   * `asked`: when the file ends in a checked trailer and footer whose index is consistent
   * (TraceReader.footer), take counts and positions from it and read only the blocks asked for;
   * otherwise, and with `whole`, index the file by one checked scan of every record.
   */
  readonly reads?: "asked" | "whole";
}

/**
 * A store over a trace file, holding only the whole events. The block and snapshot index comes
 * from the footer (reads: "asked", when it is usable) or from one checked pass (traceIndex), which
 * stops at the damage of a damaged trace or the end of an unfinished one; blocks are then decoded
 * a few at a time, each checked when read (checksum, schema, its place against the index, its
 * start time against the neighbours already read).
 */
export function traceStore(reader: TraceReader, o: StoreOptions = {}): EventStore {
  const footer = o.reads === "asked" ? reader.footer() : null;
  const { blocks, snapshots, damage, countsByKind, scanned } = footer === null ? traceIndex(reader) : footerIndex(footer);
  // Where each block's record ends: at the checkpoint after it (the footer's list; a scan does not keep it).
  const ends = footer === null ? null : footer.checkpoints.slice(1).map((c) => c[0]);
  const index = footer === null ? "scan" : "footer";
  const count = blocks.length === 0 ? 0 : blocks[blocks.length - 1]!.first + blocks[blocks.length - 1]!.count;
  const cache = new Map<number, { events: EventBase[]; outcomes: Outcome[] }>();
  // The time each block read so far starts from and ends at: a block must start where the one before it ended.
  const times = new Map<number, readonly [number, number]>();
  let found: Damage | null = null;
  const file = reader.source.name;
  const fail = (e: unknown, block: number, eventsBefore: number): never => {
    if (!(isHvsimError(e) && (e.code === "TRACE_CHECKSUM" || e.code === "TRACE_MALFORMED" || e.code === "TRACE_TRUNCATED"))) throw e;
    const offset = typeof e.context.offset === "number" ? e.context.offset : 0;
    const d: Damage = { code: e.code === "TRACE_TRUNCATED" ? "TRACE_MALFORMED" : e.code, offset, block, eventsBefore, message: withoutPrefix(e.message, file, block) };
    found ??= d;
    throw new FoundDamage(d, file);
  };
  const read = (ref: BlockRef): { events: EventBase[]; outcomes: Outcome[] } => {
    try {
      const item = reader.blockAt(ref.offset, ref.index, ref.first, ref.count);
      const last = item.events.length === 0 ? item.t0 : item.events[item.events.length - 1]!.t;
      const before = times.get(ref.index - 1);
      const after = times.get(ref.index + 1);
      if (before !== undefined && before[1] !== item.t0) {
        die("TRACE_MALFORMED", `the block record at offset ${ref.offset}: block ${ref.index} starts from time ${item.t0} ns, but the trace is at ${before[1]} ns there`, { offset: ref.offset });
      }
      if (after !== undefined && after[0] !== last) {
        die("TRACE_MALFORMED", `the block record at offset ${blocks[ref.index + 1]!.offset}: block ${ref.index + 1} starts from time ${after[0]} ns, but the trace is at ${last} ns there`, { offset: blocks[ref.index + 1]!.offset });
      }
      times.set(ref.index, [item.t0, last]);
      return { events: item.events, outcomes: item.outcomes };
    } catch (e) {
      return fail(e, ref.index, ref.first);
    }
  };
  const refIndex = (i: number): number => {
    let lo = 0;
    let hi = blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (blocks[mid]!.first <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const blockFor = (i: number) => {
    if (!(Number.isInteger(i) && i >= 0 && i < count)) outOfRange(i, count, damage);
    const ref = blocks[refIndex(i)]!;
    return { ref, hit: recent(cache, ref.index, () => read(ref)) };
  };
  const eventAt = (i: number): EventBase => {
    const { ref, hit } = blockFor(i);
    return hit.events[i - ref.first]!;
  };
  // The long byte fields of the last few blocks a stored state's names were resolved in (a chain's window is 4 blocks).
  const columns = new Map<number, Map<string, Uint8Array>>();
  const bytesAt = (i: number, field: string): Uint8Array | undefined => {
    if (!(Number.isInteger(i) && i >= 0 && i < count)) return undefined;
    const ref = blocks[refIndex(i)]!;
    const column = recent(columns, ref.index, () => {
      try {
        return reader.blockBytesAt(ref.offset, ref.index, ref.first, ref.count);
      } catch (e) {
        return fail(e, ref.index, ref.first);
      }
    });
    return column.get(`${i} ${field}`);
  };
  /** The state stored after event `seq`, rebuilt (from `known` when its chain reaches it); damage found is the block after it's. */
  const storedState = (st: { seq: number; offset: number }, known?: { seq: number; state: unknown }): unknown => {
    try {
      // A delta may name bytes its window's events carried: those are read through this store.
      return reader.snapshotAt(st.offset, st.seq, bytesAt, known);
    } catch (e) {
      if (e instanceof FoundDamage) throw e;
      return fail(e, blocks.findIndex((b) => b.first + b.count - 1 === st.seq) + 1, st.seq + 1);
    }
  };
  return {
    count,
    damage,
    index,
    get found() {
      return found;
    },
    countsByKind,
    scanned,
    event: eventAt,
    outcome: (i) => {
      const { ref, hit } = blockFor(i);
      return hit.outcomes[i - ref.first]!;
    },
    span: (i) => {
      const { ref, hit } = blockFor(i);
      return { first: ref.first, events: hit.events, outcomes: hit.outcomes };
    },
    rawBlock(i) {
      if (ends === null || !(Number.isInteger(i) && i >= 0 && i < count)) return null;
      const ref = blocks[refIndex(i)]!;
      const bytes = reader.source.read(ref.offset, ends[ref.index]! - ref.offset);
      return sealed(bytes) ? { first: ref.first, count: ref.count, bytes } : null;
    },
    rawCheckpoints() {
      if (footer === null) return null;
      return footer.checkpoints.map(([offset, seq], k) => {
        // Checkpoint k is followed by block k, the last one by the footer: its record must end there.
        const end = blocks[k]?.offset ?? footer.offset;
        const bytes = reader.source.read(offset, end - offset);
        const broken = (code: "TRACE_CHECKSUM" | "TRACE_MALFORMED", why: string): never => fail(new HvsimError(code, `the checkpoint record at offset ${offset} (after event ${seq}): ${why}`, { offset }), k, seq + 1);
        const length = bytes.length < FRAME_BYTES ? -1 : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).readUInt32LE(1);
        if (length !== bytes.length - FRAME_BYTES) broken("TRACE_MALFORMED", `its length field says ${length} bytes, but the next record the index knows starts at offset ${end}`);
        if (!sealed(bytes)) broken("TRACE_CHECKSUM", "its checksum is wrong");
        return {
          seq,
          bytes,
          // Decoded and checked only when asked: identical bytes need neither.
          hash: () => {
            try {
              return reader.checkpointAt(offset, seq).hash;
            } catch (e) {
              return fail(e, k, seq + 1);
            }
          },
        };
      });
    },
    checkStoredStates() {
      let known: { seq: number; state: unknown } | undefined;
      for (const st of [...snapshots].sort((a, b) => a.seq - b.seq)) {
        known = { seq: st.seq, state: storedState(st, known) };
      }
      return snapshots.length;
    },
    snapshotAtOrBefore(i) {
      let best: { seq: number; offset: number } | undefined;
      for (const s of snapshots) if (s.seq <= i && (best === undefined || s.seq > best.seq)) best = s;
      if (best === undefined) return null;
      return { seq: best.seq, state: storedState(best) };
    },
  };
}

/** A reader's message for a record it could not use, without the file name and block it starts with (damageAt says those). */
function withoutPrefix(message: string, file: string, block: number): string {
  let m = message.startsWith(`${file}: `) ? message.slice(file.length + 2) : message;
  if (m.startsWith(`block ${block}: `)) m = m.slice(`block ${block}: `.length);
  return m.replace(/^checkpoint after event -?\d+: /, "");
}

export interface TraceIndex {
  readonly blocks: readonly BlockRef[];
  readonly snapshots: readonly { readonly seq: number; readonly offset: number }[];
  readonly damage: Damage | null;
  readonly countsByKind: Readonly<Record<string, number>> | null;
  readonly scanned: TraceSummary | null;
}

/** The index a checked footer holds (TraceReader.footer): nothing else is read. */
function footerIndex(f: NonNullable<ReturnType<TraceReader["footer"]>>): TraceIndex {
  const blocks = f.blocks.map(([offset, first, count], index) => ({ offset, first, count, index }));
  const snapshots = f.checkpoints.filter((c) => c[2] !== 0).map(([offset, seq]) => ({ seq, offset }));
  return { blocks, snapshots, damage: null, countsByKind: f.countsByKind, scanned: null };
}

/**
 * The block and snapshot index, from one checked pass over the file (every record's checksum,
 * schema and place, and the footer against what the file holds: TraceReader.items): a tool
 * seeking in a trace knows from the start whether it is whole, and where it stops being, instead
 * of finding out at the block it happens to read, and says so in the words `replay` and `info`
 * use. The pass decodes every block once (about a second per million events). It is what a
 * command that reads everything uses, and what every command falls back to when the file has no
 * usable footer (cut, or its trailer or footer damaged).
 */
export function traceIndex(reader: TraceReader): TraceIndex {
  const blocks: BlockRef[] = [];
  const snapshots: { seq: number; offset: number }[] = [];
  const scanned = scanTrace(reader, (item) => {
    if (item.type === "block") blocks.push({ offset: item.offset, first: item.first, count: item.events.length, index: item.index });
    else if (item.type === "checkpoint" && storesState(item)) snapshots.push({ seq: item.seq, offset: item.offset });
  });
  return { blocks, snapshots, damage: reader.damage, countsByKind: scanned.countsByKind, scanned };
}
