import { constants, deflateRawSync, inflateRawSync } from "node:zlib";
import { joinByteColumn, splitByteColumn } from "./byte-column.ts";
import { decodeBody, encodeBody } from "./codec.ts";
import { RECORD_BYTES_MAX, RecordType, type BlockBody } from "./format.ts";
import { REF_BYTES_MIN } from "./delta.ts";
import { packBlock } from "./record-packer.ts";
import { shallowCopy } from "../core/copy.ts";
import type { EventBase, Outcome } from "../core/event.ts";

/**
 * Record bodies in trace format 3: the msgpack body (codec.ts) compressed with raw deflate
 * (RFC 1951, Node's built-in zlib), after one tag byte 0xC1. 0xC1 is the one byte msgpack never
 * uses, so a compressed body can never be mistaken for a msgpack one and a reader tells them apart
 * without knowing the format: the header stays plain msgpack in every format (it is what says the
 * format), and every other record of a format 3 file is compressed. Each body is compressed alone
 * (no window or dictionary shared across records), so every block still decodes by itself, and
 * the CRC in the frame covers the stored (compressed) bytes.
 *
 * Why raw deflate at level 6 (tools/bench/codecs.ts, docs/architecture.md "Trace file"): it
 * decodes faster than brotli at every quality measured, for about 1 byte/event more on long-run.
 * Every option is pinned so that the bytes are a function of the body alone: zlib's output is
 * deterministic for a fixed level, window, memory level, strategy and zlib build.
 */
export const COMPRESSED_TAG = 0xc1;

const DEFLATE_OPTIONS = {
  level: 6,
  windowBits: 15,
  memLevel: 8,
  strategy: constants.Z_DEFAULT_STRATEGY,
} as const;

/**
 * What a compressed body may inflate to: the bound a format 2 body had on the bytes a reader holds
 * (RECORD_BYTES_MAX), so compression never lets a few stored bytes make a reader allocate more than
 * an uncompressed record could. Past it, a body is damage (a decompression bomb), not data.
 */
export const INFLATED_BYTES_MAX = RECORD_BYTES_MAX;

/** First format whose bodies (all but the header's) are compressed. */
export const COMPRESSED_FROM_FORMAT = 3;

/**
 * First format whose block bodies keep their events' long byte fields in a column after the
 * compressed events, stored as they are (byte-column.ts):
 *   0xC1 deflatedLength:u32le deflate-raw(msgpack block with placeholders) msgpack(column)
 * Measured on long-run (600k events): the column is 3.59 bytes/event packed and 3.55 deflated
 * (guest data is random), so deflating it bought nothing; laid apart, the events deflate better
 * (10.62 -> 10.41 bytes/event of blocks), recording deflates a third less, and the bytes a stored
 * state names (delta.ts, REF) are read without inflating or decoding a single event: 0.26 ms a
 * block against 1.1 ms to decode it.
 */
export const BYTE_COLUMN_FROM_FORMAT = 4;

/** The stored bytes of a record body of `type` in a file of `formatVersion`. */
export function encodeRecordBody(type: number, value: unknown, formatVersion: number): Uint8Array {
  if (type === RecordType.block && formatVersion >= BYTE_COLUMN_FROM_FORMAT) return encodeColumnBlock(value as BlockBody).stored;
  const packed = encodeBody(value);
  if (type === RecordType.header || formatVersion < COMPRESSED_FROM_FORMAT) return packed;
  const deflated = deflateRawSync(packed, DEFLATE_OPTIONS);
  const out = Buffer.allocUnsafe(deflated.length + 1);
  out[0] = COMPRESSED_TAG;
  deflated.copy(out, 1);
  return out;
}

/** A format 4 block body from its stored events, and the byte column its long byte fields went to. */
function encodeColumnBlock(body: BlockBody): { stored: Uint8Array; column: readonly unknown[] } {
  const { events, column } = splitByteColumn(body.events);
  return { stored: columnBody(encodeBody({ first: body.first, t0: body.t0, events, outcomes: body.outcomes }), column), column };
}

/** A format 4 block body: its packed events deflated, then its byte column as it is. */
function columnBody(packedEvents: Uint8Array, column: readonly unknown[]): Uint8Array {
  const deflated = deflateRawSync(packedEvents, DEFLATE_OPTIONS);
  const stored = encodeBody(column);
  const out = Buffer.allocUnsafe(5 + deflated.length + stored.length);
  out[0] = COMPRESSED_TAG;
  out.writeUInt32LE(deflated.length, 1);
  deflated.copy(out, 5);
  out.set(stored, 5 + deflated.length);
  return out;
}

/**
 * The stored body of a block of events as they were recorded (`seq` set, `t` absolute) in a file
 * of `formatVersion`, and, from format 4, its byte column, whose entries the writer's window notes.
 * The recorder's path: the events are packed in their stored form without copying them into it
 * (record-packer.ts `packBlock`; the copies cost about 0.3 µs per event of a recording); anything
 * the packer leaves to msgpackr takes the copies (`storedEvents`).
 */
export function encodeRecordedBlock(first: number, t0: number, events: readonly EventBase[], outcomes: readonly Outcome[], formatVersion: number): { stored: Uint8Array; column: readonly unknown[] | null } {
  if (formatVersion < BYTE_COLUMN_FROM_FORMAT) return { stored: encodeRecordBody(RecordType.block, { first, t0, events: storedEvents(events, t0), outcomes }, formatVersion), column: null };
  const fast = packBlock(first, t0, events, outcomes, REF_BYTES_MIN);
  if (fast !== null) return { stored: columnBody(fast.packed, fast.column), column: fast.column };
  return encodeColumnBlock({ first, t0, events: storedEvents(events, t0), outcomes });
}

/** Events as a block stores them: no `seq` (dense from `first`), `t` last as the delta from the event before. */
export function storedEvents(events: readonly EventBase[], t0: number): Record<string, unknown>[] {
  let prevT = t0;
  return events.map((ev) => {
    const stored = shallowCopy(ev, "seq", "t");
    stored.t = ev.t - prevT;
    prevT = ev.t;
    return stored;
  });
}

/** Why a stored body could not be decoded (the reader names the record and its offset). */
export class BodyError extends Error {}

/**
 * The value a stored body of `type` holds in a file of `formatVersion` (a header's, read before the
 * format is known, is plain msgpack in every format), compressed or not. Throws BodyError when it
 * cannot be decoded.
 */
export function decodeRecordBody(stored: Uint8Array, type: number, formatVersion: number): unknown {
  if (type === RecordType.block && formatVersion >= BYTE_COLUMN_FROM_FORMAT) {
    const { deflated, column } = columnParts(stored);
    const block = unpack(inflate(deflated), "its events inflate to bytes that are not msgpack") as Record<string, unknown>;
    const problem = joinByteColumn(block, unpack(column, "its byte column is not msgpack"));
    if (problem !== null) throw new BodyError(problem);
    return block;
  }
  if (stored.length === 0 || stored[0] !== COMPRESSED_TAG) return unpack(stored, "");
  return unpack(inflate(stored.subarray(1)), "its body inflates to bytes that are not msgpack");
}

/** The byte column alone of a format 4 block body: what a stored state's names are read from, no event decoded. */
export function decodeByteColumn(stored: Uint8Array): unknown {
  return unpack(columnParts(stored).column, "its byte column is not msgpack");
}

function columnParts(stored: Uint8Array): { deflated: Uint8Array; column: Uint8Array } {
  if (stored.length < 5 || stored[0] !== COMPRESSED_TAG) throw new BodyError("a block body without its compressed events and byte column");
  const n = Buffer.from(stored.buffer, stored.byteOffset, stored.length).readUInt32LE(1);
  if (5 + n > stored.length) throw new BodyError(`its compressed events claim ${n} bytes, past the end of the body`);
  return { deflated: stored.subarray(5, 5 + n), column: stored.subarray(5 + n) };
}

function inflate(deflated: Uint8Array): Uint8Array {
  try {
    return inflateRawSync(deflated, { maxOutputLength: INFLATED_BYTES_MAX });
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new BodyError(code === "ERR_BUFFER_TOO_LARGE" ? `its compressed body inflates past ${INFLATED_BYTES_MAX} bytes` : "its compressed body does not inflate");
  }
}

function unpack(packed: Uint8Array, why: string): unknown {
  try {
    return decodeBody(packed);
  } catch {
    throw new BodyError(why);
  }
}
