import { decodeBody } from "./codec.ts";
import {
  FRAME_BYTES,
  MAGIC,
  RECORD_BYTES_MAX,
  RecordType,
  TRAILER_BYTES,
  TRAILER_MAGIC,
  checksum,
  recordTypeName,
  type BlockBody,
  type CheckpointBody,
  type FooterBody,
  type TraceHeader,
} from "./format.ts";
import type { ByteSource } from "./source.ts";
import { die, type FailureCode } from "../core/errors.ts";
import type { EventBase, Outcome } from "../core/event.ts";

/** Where and how a trace is damaged. Everything before `offset` was read whole. */
export interface Damage {
  readonly code: Extract<FailureCode, "TRACE_TRUNCATED" | "TRACE_CHECKSUM" | "TRACE_MALFORMED">;
  /** Byte offset of the first damaged record. */
  readonly offset: number;
  /** Index of the block (0-based, counting blocks only) that is damaged or would have come next. */
  readonly block: number;
  /** Whole events read before the damage. */
  readonly eventsBefore: number;
  readonly message: string;
}

export type TraceItem =
  | {
      readonly type: "block";
      readonly offset: number;
      readonly index: number;
      readonly first: number;
      readonly events: EventBase[];
      readonly outcomes: Outcome[];
    }
  | ({ readonly type: "checkpoint"; readonly offset: number } & CheckpointBody)
  | { readonly type: "footer"; readonly offset: number; readonly footer: FooterBody };

interface RawRecord {
  readonly type: number;
  readonly offset: number;
  readonly end: number;
  readonly body: unknown;
}

/**
 * Streaming reader over a ByteSource: records are read one at a time, never the whole file.
 * `items()` yields every whole record in order and stops at the first damage, which it records
 * in `damage` (offset, block, events before it), so a damaged trace still yields what precedes it.
 */
export class TraceReader {
  damage: Damage | null = null;

  private constructor(
    readonly source: ByteSource,
    readonly header: TraceHeader,
    readonly bodyStart: number,
  ) {}

  /** Opens a trace: checks the magic and reads the header. Fails with one clear line otherwise. */
  static open(source: ByteSource): TraceReader {
    const magic = source.read(0, MAGIC.length);
    if (magic.length < MAGIC.length || !Buffer.from(magic).equals(MAGIC)) {
      die("TRACE_NOT_A_TRACE", `${source.name}: not an hvsim trace (no HVSIMTRC magic at offset 0)`, { offset: 0 });
    }
    const r = readRecord(source, MAGIC.length);
    if (!r.ok) die(r.damage.code, `${source.name}: header ${r.damage.message}`, { offset: MAGIC.length });
    const h = r.record.body as TraceHeader;
    if (r.record.type !== RecordType.header || typeof h !== "object" || h === null || h.magic !== "HVSIMTRC") {
      die("TRACE_MALFORMED", `${source.name}: the first record at offset ${MAGIC.length} is not a trace header`, {
        offset: MAGIC.length,
      });
    }
    return new TraceReader(source, h, r.record.end);
  }

  /** Yields whole records from `from` (a record boundary) on; sets `damage` and stops at damage. */
  *items(from = this.bodyStart, blockIndex = 0, eventsBefore = 0): Generator<TraceItem> {
    this.damage = null;
    let offset = from;
    let blocks = blockIndex;
    let events = eventsBefore;
    while (offset < this.source.size) {
      if (this.isTrailerAt(offset)) return;
      const r = readRecord(this.source, offset);
      if (!r.ok) {
        this.damage = { ...r.damage, block: blocks, eventsBefore: events };
        return;
      }
      const item = toItem(r.record, blocks);
      if (item === null) {
        this.damage = {
          code: "TRACE_MALFORMED",
          offset,
          block: blocks,
          eventsBefore: events,
          message: `record at offset ${offset} has a body that does not match its type ${r.record.type}`,
        };
        return;
      }
      offset = r.record.end;
      if (item.type === "block") {
        blocks += 1;
        events += item.events.length;
      }
      yield item;
      if (item.type === "footer") return;
    }
  }

  /**
   * The frames of the whole records from the body start on, with framing and checksums checked but
   * no body decoded: a cheap pass (a tenth of `items()`) that finds where a long trace is damaged.
   * Stops at the footer, the trailer or the first damage, which it returns.
   */
  *frames(): Generator<Frame, Omit<Damage, "eventsBefore"> | null> {
    let offset = this.bodyStart;
    let blocks = 0;
    while (offset < this.source.size && !this.isTrailerAt(offset)) {
      const r = readRecord(this.source, offset, false);
      if (!r.ok) return { ...r.damage, block: blocks };
      offset = r.record.end;
      if (r.record.type === RecordType.block) blocks += 1;
      yield { type: r.record.type, offset: r.record.offset, end: r.record.end };
      if (r.record.type === RecordType.footer) break;
    }
    return null;
  }

  /** Events with their outcomes, in order; stops at damage (see `damage`). */
  *events(): Generator<{ ev: EventBase; outcome: Outcome }> {
    for (const item of this.items()) {
      if (item.type !== "block") continue;
      for (let i = 0; i < item.events.length; i++) yield { ev: item.events[i]!, outcome: item.outcomes[i]! };
    }
  }

  /** The footer index, read through the trailer; null when the file has none (cut short, or damaged). */
  footer(): (FooterBody & { offset: number }) | null {
    if (this.source.size < TRAILER_BYTES) return null;
    const t = Buffer.from(this.source.read(this.source.size - TRAILER_BYTES, TRAILER_BYTES));
    if (!t.subarray(0, 8).equals(TRAILER_MAGIC)) return null;
    const at = Number(t.readBigUInt64LE(8));
    if (at < this.bodyStart || at >= this.source.size) return null;
    const r = readRecord(this.source, at);
    if (!r.ok || r.record.type !== RecordType.footer) return null;
    const item = toItem(r.record, 0);
    return item !== null && item.type === "footer" ? { ...item.footer, offset: at } : null;
  }

  /** Reads the one record at a known offset (from the footer index), for seeking. */
  itemAt(offset: number, blockIndex = 0): TraceItem | null {
    const r = readRecord(this.source, offset);
    return r.ok ? toItem(r.record, blockIndex) : null;
  }

  close(): void {
    this.source.close();
  }

  private isTrailerAt(offset: number): boolean {
    if (offset !== this.source.size - TRAILER_BYTES) return false;
    return Buffer.from(this.source.read(offset, 8)).equals(TRAILER_MAGIC);
  }
}

type ReadResult = { ok: true; record: RawRecord } | { ok: false; damage: Omit<Damage, "block" | "eventsBefore"> };

/** A record's place in the file, as `frames()` yields it. */
export interface Frame {
  readonly type: number;
  readonly offset: number;
  readonly end: number;
}

function readRecord(source: ByteSource, offset: number, decode = true): ReadResult {
  const head = Buffer.from(source.read(offset, FRAME_BYTES));
  if (head.length < FRAME_BYTES) {
    return damaged("TRACE_TRUNCATED", offset, `cut short at offset ${offset}: ${head.length} of ${FRAME_BYTES} record-header bytes`);
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
    return damaged(
      "TRACE_TRUNCATED",
      offset,
      `cut short inside the ${recordTypeName(type)} record at offset ${offset}: ${body.length} of ${length} bytes`,
    );
  }
  if (checksum(body) !== crc) {
    return damaged("TRACE_CHECKSUM", offset, `checksum mismatch in the ${recordTypeName(type)} record at offset ${offset}`);
  }
  let value: unknown;
  if (!decode) return { ok: true, record: { type, offset, end: offset + FRAME_BYTES + length, body: undefined } };
  try {
    value = decodeBody(body);
  } catch {
    return damaged("TRACE_MALFORMED", offset, `undecodable ${recordTypeName(type)} record at offset ${offset}`);
  }
  return { ok: true, record: { type, offset, end: offset + FRAME_BYTES + length, body: value } };
}

function damaged(code: Damage["code"], offset: number, message: string): ReadResult {
  return { ok: false, damage: { code, offset, message } };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

function toItem(r: RawRecord, blockIndex: number): TraceItem | null {
  const b = r.body;
  if (!isObject(b)) return null;
  switch (r.type) {
    case RecordType.block:
      return toBlock(b, r.offset, blockIndex);
    case RecordType.checkpoint:
      if (typeof b.seq !== "number" || typeof b.hash !== "string" || typeof b.t !== "number") return null;
      return { type: "checkpoint", offset: r.offset, ...(b as unknown as CheckpointBody) };
    case RecordType.footer:
      if (typeof b.events !== "number" || !Array.isArray(b.blocks)) return null;
      return { type: "footer", offset: r.offset, footer: b as unknown as FooterBody };
    default:
      return null;
  }
}

function toBlock(b: Record<string, unknown>, offset: number, index: number): TraceItem | null {
  const { first, t0, events, outcomes } = b as unknown as BlockBody;
  if (typeof first !== "number" || typeof t0 !== "number" || !Array.isArray(events) || !Array.isArray(outcomes)) return null;
  if (events.length !== outcomes.length) return null;
  let t = t0;
  for (let i = 0; i < events.length; i++) {
    // Decoded objects are fresh, so restoring seq and absolute t in place costs no copy.
    const e = events[i] as Record<string, unknown>;
    if (!isObject(e) || typeof e.kind !== "string" || typeof e.t !== "number") return null;
    t += e.t;
    e.t = t;
    e.seq = first + i;
  }
  return {
    type: "block",
    offset,
    index,
    first,
    events: events as unknown as EventBase[],
    outcomes: outcomes as Outcome[],
  };
}
