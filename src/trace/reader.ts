import { shallowCopy } from "../core/copy.ts";
import { BYTE_COLUMN_FROM_FORMAT, BodyError, decodeByteColumn, decodeRecordBody } from "./compression.ts";
import { DeltaError, applyDelta, type ResolveRef } from "./delta.ts";
import {
  FRAME_BYTES,
  MAGIC,
  RECORD_BYTES_MAX,
  RecordType,
  TRAILER_MAGIC,
  checksum,
  recordTypeName,
  stateHashOf,
  trailer,
  trailerBytes,
  type CheckpointBody,
  type FooterBody,
  type TraceHeader,
} from "./format.ts";
import { PLAIN_DEPTH_MAX, blockProblem, checkpointProblem, footerProblem, headerProblem, plainProblem, snapshotProblem } from "./schema.ts";
import { Structure } from "./structure.ts";
import type { ByteSource } from "./source.ts";
import { die, type FailureCode } from "../core/errors.ts";
import type { EventBase, Outcome } from "../core/event.ts";
import { stateHash } from "../core/hash.ts";

/**
 * Where and how a trace is damaged, or where an unfinished one ends. Everything before `offset`
 * was read whole and checked.
 */
export interface Damage {
  readonly code: Extract<FailureCode, "TRACE_TRUNCATED" | "TRACE_CHECKSUM" | "TRACE_MALFORMED" | "TRACE_INCOMPLETE">;
  /** Byte offset of the first damaged record (incomplete: where the whole records end). */
  readonly offset: number;
  /** Whole blocks before the damage: also the index of the block that is damaged or would have come next. */
  readonly block: number;
  /** Whole events read before the damage. */
  readonly eventsBefore: number;
  readonly message: string;
}

export type TraceItem =
  | {
      readonly type: "block";
      readonly offset: number;
      readonly end: number;
      readonly index: number;
      readonly first: number;
      /** The time the trace was at before the block's first event. */
      readonly t0: number;
      readonly events: EventBase[];
      readonly outcomes: Outcome[];
    }
  | ({ readonly type: "checkpoint"; readonly offset: number; readonly end: number } & CheckpointBody)
  | { readonly type: "footer"; readonly offset: number; readonly end: number; readonly footer: FooterBody };

interface RawRecord {
  readonly type: number;
  readonly offset: number;
  readonly end: number;
  readonly body: unknown;
}

/**
 * Streaming reader over a ByteSource: records are read one at a time, never the whole file.
 * `items()` yields every whole record in order, each checked against its schema and against the
 * file's structure (see structure.ts), and stops at the first damage, which it records in `damage`
 * (offset, block, events before it), so a damaged trace still yields what precedes it. A file that
 * stops before its footer is incomplete (`TRACE_INCOMPLETE`): an unfinished recording.
 */
export class TraceReader {
  damage: Damage | null = null;
  readonly formatVersion: number;
  readonly trailerBytes: number;
  private footerCache: (FooterBody & { offset: number }) | null | undefined;
  private footerWhy = "";

  private constructor(
    readonly source: ByteSource,
    readonly header: TraceHeader,
    readonly bodyStart: number,
  ) {
    this.formatVersion = header.formatVersion;
    this.trailerBytes = trailerBytes(header.formatVersion);
  }

  /** Opens a trace: checks the magic and reads and checks the header. Fails with one clear line otherwise. */
  static open(source: ByteSource): TraceReader {
    const magic = source.read(0, MAGIC.length);
    if (magic.length < MAGIC.length || !Buffer.from(magic).equals(MAGIC)) {
      die("TRACE_NOT_A_TRACE", `${source.name}: not an hvsim trace (no HVSIMTRC magic at offset 0)`, { offset: 0 });
    }
    const r = readRecord(source, MAGIC.length, 0);
    if (!r.ok) die(r.damage.code, `${source.name}: cannot read the trace header: ${r.damage.message}`, { offset: MAGIC.length });
    if (r.record.type !== RecordType.header) {
      die("TRACE_MALFORMED", `${source.name}: the first record at offset ${MAGIC.length} is not a trace header`, { offset: MAGIC.length });
    }
    const problem = headerProblem(r.record.body);
    if (problem !== null) die("TRACE_MALFORMED", `${source.name}: the header at offset ${MAGIC.length}: ${problem}`, { offset: MAGIC.length });
    return new TraceReader(source, r.record.body as TraceHeader, r.record.end);
  }

  /** Yields whole, checked records in order; sets `damage` and stops at damage or at the end of the file. */
  *items(): Generator<TraceItem> {
    this.damage = null;
    const s = new Structure(this.header);
    const size = this.source.size;
    let offset = this.bodyStart;
    for (;;) {
      if (offset >= size) {
        this.damage = s.incomplete(offset, "");
        return;
      }
      const r = readRecord(this.source, offset, this.formatVersion);
      if (!r.ok) {
        this.damage = this.classify(r, s);
        return;
      }
      const item = toItem(r.record, s.blocks.length, this.header.blockEvents, s.counts);
      const problem = typeof item === "string" ? item : s.accept(item);
      if (problem !== null) {
        this.damage = s.damage("TRACE_MALFORMED", offset, `the ${recordTypeName(r.record.type)} record at offset ${offset}: ${problem}`);
        return;
      }
      const whole = item as TraceItem;
      yield whole;
      offset = whole.end;
      if (whole.type === "footer") {
        this.damage = this.tailDamage(whole.offset, whole.end, s);
        return;
      }
    }
  }

  /** Events with their outcomes, in order; stops at damage (see `damage`). */
  *events(): Generator<{ ev: EventBase; outcome: Outcome }> {
    for (const item of this.items()) {
      if (item.type !== "block") continue;
      for (let i = 0; i < item.events.length; i++) yield { ev: item.events[i]!, outcome: item.outcomes[i]! };
    }
  }

  /**
   * The footer index, read through the trailer without scanning the file; null unless the file
   * ends in a trailer that points at a footer ending right before it, and that footer is a
   * consistent index (dense blocks, a checkpoint after each, counts that add up). A null footer
   * sends readers to `items()`, which names what is wrong.
   */
  footer(): (FooterBody & { offset: number }) | null {
    if (this.footerCache === undefined) this.footerCache = this.readFooter();
    return this.footerCache;
  }

  /** Why `footer()` is null, in words (for the line saying the whole file was scanned instead); null when it is not. */
  footerUnusable(): string | null {
    return this.footer() === null ? this.footerWhy : null;
  }

  /**
   * The block record a footer entry points at, checked against the entry; a mismatch or damage
   * there is a trace error naming the offset (for seeking, which reads blocks through the index).
   */
  blockAt(offset: number, index: number, first: number, count: number): Extract<TraceItem, { type: "block" }> {
    const r = readRecord(this.source, offset, this.formatVersion);
    if (!r.ok) die(r.damage.code === "TRACE_TRUNCATED" ? "TRACE_MALFORMED" : r.damage.code, `${this.source.name}: block ${index}: ${r.damage.message}`, { offset, block: index });
    const item = r.record.type === RecordType.block ? toItem(r.record, index, this.header.blockEvents) : `a ${recordTypeName(r.record.type)} record, not a block`;
    const problem =
      typeof item === "string" ? item
      : item.type === "block" && (item.first !== first || item.events.length !== count) ? `holds events ${item.first}..${item.first + item.events.length - 1}, the footer says ${first}..${first + count - 1}`
      : null;
    if (problem !== null) die("TRACE_MALFORMED", `${this.source.name}: the block record at offset ${offset}: ${problem}`, { offset, block: index });
    return item as Extract<TraceItem, { type: "block" }>;
  }

  /**
   * The long byte fields of the events of the block a footer entry points at, by `${seq} ${field}`:
   * what a stored state's names (delta.ts, REF) resolve to. Only the block's byte column is read
   * (no event decoded; the rebuilt state is checked against its hash all the same). Names came
   * with the column in format 4: before it there are none to resolve.
   */
  blockBytesAt(offset: number, index: number, first: number, count: number): Map<string, Uint8Array> {
    const out = new Map<string, Uint8Array>();
    if (this.formatVersion < BYTE_COLUMN_FROM_FORMAT) return out;
    const r = decodeFrame(readFrame(this.source, offset), (body, type) => (type === RecordType.block ? decodeByteColumn(body) : null));
    if (!r.ok) die(r.damage.code === "TRACE_TRUNCATED" ? "TRACE_MALFORMED" : r.damage.code, `${this.source.name}: block ${index}: ${r.damage.message}`, { offset, block: index });
    const column = r.record.body;
    if (r.record.type !== RecordType.block || !Array.isArray(column) || column.length % 3 !== 0) {
      die("TRACE_MALFORMED", `${this.source.name}: the block record at offset ${offset}: ${r.record.type !== RecordType.block ? `a ${recordTypeName(r.record.type)} record, not a block` : "its byte column is not a list of (event, field, bytes) entries"}`, { offset, block: index });
    }
    for (let j = 0; j < column.length; j += 3) {
      const [i, field, bytes] = [column[j], column[j + 1], column[j + 2]];
      if (!(Number.isSafeInteger(i) && (i as number) >= 0 && (i as number) < count && typeof field === "string" && bytes instanceof Uint8Array)) {
        die("TRACE_MALFORMED", `${this.source.name}: the block record at offset ${offset}: byte column entry ${j / 3} is not (an event of the block, a field, bytes)`, { offset, block: index });
      }
      out.set(`${first + (i as number)} ${field}`, bytes);
    }
    return out;
  }

  /**
   * The full state stored at the checkpoint at `offset` (after event `seq`), checked to hash to the
   * checkpoint's own hash: a snapshot is a seek target, so it must be the state it claims to be.
   * A state stored as a delta (format 3) is rebuilt through its chain: each delta names the
   * checkpoint it changes (bytes back, and its event index), back to a whole snapshot at most
   * `snapshotFullEvery` records away; every record on the way is read and checked like any other.
   * A delta may name bytes an event of its own window carried (delta.ts, REF): `bytesAt` gives
   * them (read through the index from the blocks the chain covers, blockBytesAt). `known` is a
   * state stored earlier, already rebuilt: a chain that reaches it starts from it.
   */
  snapshotAt(offset: number, seq: number, bytesAt?: (seq: number, field: string) => Uint8Array | undefined, known?: { readonly seq: number; readonly state: unknown }): unknown {
    const chain: { at: number; change: unknown; from: number; to: number }[] = [];
    const limit = this.header.snapshotFullEvery ?? 1;
    let at = offset;
    let want = seq;
    let base: unknown;
    let hash = "";
    for (;;) {
      // A state already rebuilt and checked (`known`, a walk in order) ends the chain there.
      if (at !== offset && known !== undefined && known.seq === want) {
        base = known.state;
        break;
      }
      const c = this.checkpointRecord(at, want, offset, seq);
      if (at === offset) hash = c.hash;
      if (c.snapshot !== undefined) {
        base = c.snapshot;
        break;
      }
      const d = c.delta!;
      if (chain.length + 1 >= limit) this.badSnapshot(at, offset, seq, `is a delta more than ${limit} snapshots from a whole one (the header's snapshotFullEvery)`);
      if (d.back > at - this.bodyStart) this.badSnapshot(at, offset, seq, `its delta points ${d.back} bytes back, before the first checkpoint`);
      chain.push({ at, change: d.change, from: d.baseSeq, to: want });
      at -= d.back;
      want = d.baseSeq;
    }
    let state = base;
    for (let i = chain.length - 1; i >= 0; i--) {
      // Plain and bounded in depth before it is walked (a change nests about twice as deep as the state it changes).
      const deep = plainProblem(chain[i]!.change, 2 * PLAIN_DEPTH_MAX + 2);
      if (deep !== null) this.badSnapshot(chain[i]!.at, offset, seq, deep.endsWith(" deep") ? "its delta nests deeper than any state it could change" : `delta.change${deep}`);
      try {
        state = applyDelta(state, chain[i]!.change, "snapshot", windowBytes(chain[i]!.from, chain[i]!.to, bytesAt));
      } catch (e) {
        if (!(e instanceof DeltaError)) throw e;
        this.badSnapshot(chain[i]!.at, offset, seq, `its delta does not fit the state it changes: ${e.message}`);
      }
    }
    const problem = snapshotProblem(state);
    if (problem !== null) this.badSnapshot(offset, offset, seq, chain.length === 0 ? problem : `the state its delta chain builds: ${problem}`);
    if (stateHash(state, stateHashOf(this.header)) !== hash) {
      this.badSnapshot(offset, offset, seq, `its ${chain.length === 0 ? "snapshot" : `state (rebuilt through ${chain.length} delta${chain.length === 1 ? "" : "s"})`} does not hash to its state hash ${hash.slice(0, 16)}`);
    }
    return state;
  }

  /**
   * The checkpoint record a footer entry points at (after event `seq`), checked (its schema, and
   * that it is after that event): a replay that starts inside a trace reads the hashes to verify
   * from these.
   */
  checkpointAt(offset: number, seq: number): CheckpointBody {
    return this.checkpointRecord(offset, seq, offset, seq, false);
  }

  /**
   * The checkpoint at `at`, after event `want`, checked; with `stored`, it must hold a snapshot or
   * a delta (one link of a chain that ends at `offset`, the state stored after event `seq`).
   */
  private checkpointRecord(at: number, want: number, offset: number, seq: number, stored = true): CheckpointBody {
    const r = readRecord(this.source, at, this.formatVersion);
    if (!r.ok) die(r.damage.code === "TRACE_TRUNCATED" ? "TRACE_MALFORMED" : r.damage.code, `${this.source.name}: checkpoint after event ${want}${at === offset ? "" : ` (the state the one after event ${seq} is built from)`}: ${r.damage.message}`, { offset: at });
    const c = r.record.body as CheckpointBody;
    const problem =
      r.record.type !== RecordType.checkpoint ? `a ${recordTypeName(r.record.type)} record, not a checkpoint`
      : checkpointProblem(c) ?? (c.seq !== want ? `is after event ${c.seq}, ${at === offset ? "the index" : "the delta built on it"} says ${want}` : stored && c.snapshot === undefined && c.delta === undefined ? `holds no snapshot, ${at === offset ? "the index" : "a delta built on it"} says it does` : null);
    if (problem !== null) this.badSnapshot(at, offset, seq, problem);
    return c;
  }

  private badSnapshot(at: number, offset: number, seq: number, problem: string): never {
    const whose = at === offset ? "" : ` (the state stored after event ${seq} is built on it)`;
    die("TRACE_MALFORMED", `${this.source.name}: the checkpoint record at offset ${at}${whose}: ${problem}`, { offset: at });
  }

  close(): void {
    this.source.close();
  }

  /** A record that could not be read: the end of an unfinished file, or damage. */
  private classify(r: Extract<ReadResult, { ok: false }>, s: Structure): Damage {
    const d = r.damage;
    if (d.code === "TRACE_TRUNCATED") {
      // A cut record in a file that still ends in a trailer is a wrong length field, not a cut.
      if (this.endsInTrailer()) {
        return s.damage("TRACE_MALFORMED", d.offset, `${r.claims ?? `the record at offset ${d.offset}`}, past the trailer at offset ${this.source.size - this.trailerBytes}`);
      }
      return s.incomplete(d.offset, `; ${d.message}`);
    }
    if (d.code === "TRACE_MALFORMED" && this.bytesAre(d.offset, TRAILER_MAGIC)) {
      return s.damage("TRACE_MALFORMED", d.offset, `a trailer at offset ${d.offset} with no footer before it`);
    }
    return s.damage(d.code, d.offset, d.message);
  }

  /** After the footer: exactly one trailer, pointing back at it, and then the end of the file. */
  private tailDamage(footerOffset: number, end: number, s: Structure): Damage | null {
    const want = trailer(footerOffset, this.formatVersion);
    const have = Buffer.from(this.source.read(end, want.length + 1));
    if (have.length < want.length) {
      if (want.subarray(0, have.length).equals(have)) {
        return s.incomplete(end, have.length === 0 ? "; the file ends after the footer, without its trailer" : `; the trailer at offset ${end} is cut short (${have.length} of ${want.length} bytes)`, true);
      }
    } else if (have.subarray(0, want.length).equals(want)) {
      if (have.length === want.length) return null;
      const extra = this.source.size - end - want.length;
      return s.damage("TRACE_MALFORMED", end + want.length, `${extra} byte${extra === 1 ? "" : "s"} after the trailer at offset ${end} (the trace ends at offset ${end + want.length})`);
    }
    return s.damage(...trailerMismatch(want, have.subarray(0, want.length), end));
  }

  private endsInTrailer(): boolean {
    const n = this.trailerBytes;
    if (this.source.size < this.bodyStart + n) return false;
    const t = Buffer.from(this.source.read(this.source.size - n, n));
    return t.subarray(0, 8).equals(TRAILER_MAGIC) && (n === 16 || t.readUInt32LE(16) === checksum(t.subarray(0, 16)));
  }

  private bytesAre(offset: number, b: Buffer): boolean {
    return Buffer.from(this.source.read(offset, b.length)).equals(b);
  }

  private readFooter(): (FooterBody & { offset: number }) | null {
    const n = this.trailerBytes;
    const unusable = (why: string): null => ((this.footerWhy = why), null);
    if (!this.endsInTrailer()) return unusable(this.formatVersion >= 2 ? "the file does not end in a trailer with a valid checksum" : "the file does not end in a trailer");
    const end = this.source.size - n;
    const at = Number(Buffer.from(this.source.read(end, n)).readBigUInt64LE(8));
    if (at < this.bodyStart || at >= end) return unusable(`the trailer points at offset ${at}, outside the file's records`);
    const r = readRecord(this.source, at, this.formatVersion);
    if (!r.ok) return unusable(`the footer the trailer points at: ${r.damage.message}`);
    if (r.record.type !== RecordType.footer) return unusable(`the trailer points at a ${recordTypeName(r.record.type)} record at offset ${at}, not a footer`);
    if (r.record.end !== end) return unusable(`the footer at offset ${at} does not end where the trailer starts`);
    const problem = footerProblem(r.record.body);
    if (problem !== null) return unusable(`the footer at offset ${at}: ${problem}`);
    const footer = r.record.body as FooterBody;
    const inconsistent = Structure.indexProblem(footer, this.header, this.bodyStart, at);
    return inconsistent === null ? { ...footer, offset: at } : unusable(`the footer at offset ${at} is not a consistent index: ${inconsistent}`);
  }
}

/** What a delta changing the state after `from` into the one after `to` may name: the byte fields of events `from+1..to`. */
function windowBytes(from: number, to: number, bytesAt: ((seq: number, field: string) => Uint8Array | undefined) | undefined): ResolveRef {
  return (seq, field) => {
    if (!(seq > from && seq <= to)) return `not an event of the delta's window (${from + 1}..${to})`;
    if (bytesAt === undefined) return "the events were not given";
    return bytesAt(seq, field) ?? "that event holds no long byte array there";
  };
}

/** Names which part of a trailer is wrong. */
function trailerMismatch(want: Buffer, have: Buffer, at: number): [Damage["code"], number, string] {
  if (!have.subarray(0, 8).equals(want.subarray(0, 8))) return ["TRACE_MALFORMED", at, `no trailer after the footer: the 'HVSIMEND' magic at offset ${at} is damaged`];
  if (have.length >= 16 && !have.subarray(8, 16).equals(want.subarray(8, 16))) {
    return ["TRACE_MALFORMED", at + 8, `the trailer at offset ${at} points at offset ${have.readBigUInt64LE(8)}, but the footer is at offset ${want.readBigUInt64LE(8)}`];
  }
  return ["TRACE_CHECKSUM", at + 16, `checksum mismatch in the trailer at offset ${at}`];
}

type ReadDamage = Omit<Damage, "block" | "eventsBefore">;
/** `claims`: for a body cut short, what its frame claimed (a wrong length when the file is not cut). */
type ReadResult = { ok: true; record: RawRecord } | { ok: false; damage: ReadDamage; claims?: string };

/** The record at `offset`, framing and checksum checked, its body decoded as a file of `formatVersion` stores it (0: the header, read before the format is known). */
function readRecord(source: ByteSource, offset: number, formatVersion: number): ReadResult {
  return decodeFrame(readFrame(source, offset), (body, type) => decodeRecordBody(body, type, formatVersion));
}

type FrameResult = { ok: true; type: number; offset: number; end: number; body: Uint8Array } | Extract<ReadResult, { ok: false }>;

/** A record's framing and stored body, checked against its checksum; the body not yet decoded. */
function readFrame(source: ByteSource, offset: number): FrameResult {
  const head = Buffer.from(source.read(offset, FRAME_BYTES));
  if (head.length < FRAME_BYTES) {
    return damaged("TRACE_TRUNCATED", offset, `the record at offset ${offset} is cut short (${head.length} of its ${FRAME_BYTES} framing bytes)`);
  }
  const type = head.readUInt8(0);
  const length = head.readUInt32LE(1);
  const crc = head.readUInt32LE(5);
  if (recordTypeName(type) === undefined) {
    return damaged("TRACE_MALFORMED", offset, `unknown record type ${type} at offset ${offset}`);
  }
  if (length > RECORD_BYTES_MAX) {
    return damaged("TRACE_MALFORMED", offset, `record at offset ${offset} claims ${length} bytes`);
  }
  const body = source.read(offset + FRAME_BYTES, length);
  if (body.length < length) {
    return {
      ok: false,
      damage: { code: "TRACE_TRUNCATED", offset, message: `the ${recordTypeName(type)} record at offset ${offset} is cut short (${body.length} of ${length} bytes)` },
      claims: `the ${recordTypeName(type)} record at offset ${offset} claims ${length} bytes`,
    };
  }
  if (checksum(body) !== crc) {
    return damaged("TRACE_CHECKSUM", offset, `checksum mismatch in the ${recordTypeName(type)} record at offset ${offset}`);
  }
  return { ok: true, type, offset, end: offset + FRAME_BYTES + length, body };
}

/** A checked frame's body decoded by `decode` (a BodyError is the record's damage). */
function decodeFrame(f: FrameResult, decode: (body: Uint8Array, type: number) => unknown): ReadResult {
  if (!f.ok) return f;
  let value: unknown;
  try {
    value = decode(f.body, f.type);
  } catch (e) {
    const why = e instanceof BodyError && e.message !== "" ? `: ${e.message}` : "";
    return damaged("TRACE_MALFORMED", f.offset, `undecodable ${recordTypeName(f.type)} record at offset ${f.offset}${why}`);
  }
  return { ok: true, record: { type: f.type, offset: f.offset, end: f.end, body: value } };
}

function damaged(code: Damage["code"], offset: number, message: string): Extract<ReadResult, { ok: false }> {
  return { ok: false, damage: { code, offset, message } };
}

/** A checked record as an item, or what is wrong with its body. */
function toItem(r: RawRecord, blockIndex: number, blockEvents: number, counts?: Map<string, number>): TraceItem | string {
  const b = r.body as Record<string, unknown>;
  switch (r.type) {
    case RecordType.block:
      return blockProblem(b, blockEvents, counts) ?? toBlock(b, r, blockIndex);
    case RecordType.checkpoint:
      return checkpointProblem(b) ?? { type: "checkpoint", offset: r.offset, end: r.end, ...(b as unknown as CheckpointBody) };
    case RecordType.footer:
      return footerProblem(b) ?? { type: "footer", offset: r.offset, end: r.end, footer: b as unknown as FooterBody };
    default:
      return "a second header";
  }
}

/** The largest integer V8 keeps unboxed in Node 20 (32-bit small integers: no pointer compression). */
const SMALL_INT_MAX = 2 ** 31 - 1;

/**
 * Restores each event's `seq` and absolute `t` (the body is checked: blockProblem).
 *
 * In place while the time is a small integer. Past 2^31 ns (2.1 s of virtual time) V8 holds a time
 * as a double, and storing one into a decoded event, whose `t` field held a small delta, moves that
 * object to a new map one at a time (`node --trace-migration` shows one migration per event):
 * 0.3 µs per event, a third of decoding. Copies (`shallowCopy`) all grow from one literal and
 * share their maps, so they migrate a few thousand times in all (4,883 for long-run's 1.2M events),
 * not once each. Keys stay in the same order, and decoding long-run's 1.2M events once takes
 * 0.82..0.89 s against 1.14..1.16 in place; while the times are small, copying would cost more
 * than it saves. (On a V8 build with pointer compression small integers end at 2^30: times
 * between stay correct, only slower.)
 */
function toBlock(b: Record<string, unknown>, r: RawRecord, index: number): TraceItem {
  const first = b.first as number;
  const events = b.events as Record<string, unknown>[];
  let t = b.t0 as number;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    t += e.t as number;
    if (t <= SMALL_INT_MAX) {
      e.t = t;
      e.seq = first + i;
    } else {
      const copy = shallowCopy(e);
      copy.t = t;
      copy.seq = first + i;
      events[i] = copy;
    }
  }
  return { type: "block", offset: r.offset, end: r.end, index, first, t0: b.t0 as number, events: events as unknown as EventBase[], outcomes: b.outcomes as Outcome[] };
}
