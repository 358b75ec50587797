import { crc32 } from "node:zlib";
import type { StateHashDefinition } from "../core/hash.ts";

/**
 * The hvsim trace file ("HVT"), format version 4 (versions 1 to 3 are still read).
 *
 *   file    := MAGIC header genesis (block checkpoint)* footer trailer
 *   MAGIC   := "HVSIMTRC" (8 bytes)
 *   record  := type:u8  length:u32le  crc32:u32le  body[length]
 *   body    := msgpack value                          (the header; every body of formats 1 and 2)
 *            | 0xC1 deflate-raw(msgpack value)        (every other body from format 3: compression.ts)
 *            | 0xC1 n:u32le deflate-raw(msgpack block)[n] msgpack(byte column)
 *                                                      (a block body from format 4: byte-column.ts)
 *   trailer := "HVSIMEND" footerOffset:u64le crc32:u32le             (formats 2 to 4: 20 bytes, the CRC-32
 *              of its first 16; format 1: the first 16 bytes only)
 *
 * The first record is the header; then the genesis checkpoint; then blocks of events with their
 * outcomes, each followed by its checkpoint (event index, state hash, and every so often a stored
 * state: a full snapshot, or in format 3 mostly a delta from the state stored before it, delta.ts);
 * then the footer, an index of block and checkpoint offsets for seeking, and the trailer, which points at the footer and ends the file. Every record carries the CRC-32 of its
 * body and the trailer its own, so a flipped byte is caught where it is, and framing lets a reader
 * stop at the first damaged record having yielded every whole record before it. A file that stops
 * before its footer and trailer is an unfinished recording (incomplete), not a damaged one.
 */
export const MAGIC = Buffer.from("HVSIMTRC", "latin1");
export const TRAILER_MAGIC = Buffer.from("HVSIMEND", "latin1");
export const FRAME_BYTES = 9;
/** The format this build writes. */
export const FORMAT_VERSION = 4;
/** The formats this build reads. */
export const FORMATS_READ: readonly number[] = [1, 2, 3, 4];
/** A record body larger than this is damage, not data: it bounds what a reader will allocate. */
export const RECORD_BYTES_MAX = 256 * 1024 * 1024;

/** Trailer length by format: format 1 had no check value of its own. */
export const trailerBytes = (formatVersion: number): number => (formatVersion >= 2 ? 20 : 16);

export const RecordType = {
  header: 1,
  block: 2,
  checkpoint: 3,
  footer: 4,
} as const;
export type RecordTypeName = keyof typeof RecordType;
export const recordTypeName = (t: number): RecordTypeName | undefined =>
  (Object.keys(RecordType) as RecordTypeName[]).find((k) => RecordType[k] === t);

export interface TraceHeader {
  readonly magic: "HVSIMTRC";
  readonly formatVersion: number;
  readonly modelVersion: string;
  readonly scenario: { readonly name: string; readonly hash: string };
  readonly seed: number;
  /** What `genesis` builds the first state from. */
  readonly config: unknown;
  /** Events per block (the last block may hold fewer). */
  readonly blockEvents: number;
  /** A full snapshot is stored at every Nth checkpoint. */
  readonly snapshotEveryBlocks: number;
  /**
   * Format 3: every Nth stored snapshot is a whole state, the others deltas from the one before,
   * so rebuilding any stored state reads at most N snapshot records. Absent before format 3 (all whole).
   */
  readonly snapshotFullEvery?: number;
  readonly generator: string;
  /** Which state hash the checkpoints carry (src/core/hash.ts); absent: 1, from before the choice. */
  readonly stateHash?: StateHashDefinition;
}

/** The state hash definition a trace's checkpoints were written with. */
export const stateHashOf = (header: TraceHeader): StateHashDefinition => header.stateHash ?? 1;

/** A block body: events without their `seq` (dense from `first`) and with `t` as a delta. */
export interface BlockBody {
  readonly first: number;
  readonly t0: number;
  readonly events: readonly Record<string, unknown>[];
  readonly outcomes: readonly unknown[];
}

export interface CheckpointBody {
  /** Index of the last event applied before this checkpoint (-1: genesis). */
  readonly seq: number;
  readonly t: number;
  readonly hash: string;
  /** The whole state after event `seq`. */
  readonly snapshot?: unknown;
  /** Format 3: the state after `seq` as a change from the one stored at an earlier checkpoint. */
  readonly delta?: SnapshotDelta;
}

export interface SnapshotDelta {
  /** Bytes back from this checkpoint's offset to the checkpoint whose stored state this changes. */
  readonly back: number;
  /** The event index that checkpoint is after. */
  readonly baseSeq: number;
  /** The change (delta.ts). */
  readonly change: unknown;
}

export interface FooterBody {
  readonly events: number;
  readonly lastT: number;
  /** [byte offset, first event index, event count] per block. */
  readonly blocks: readonly (readonly [number, number, number])[];
  /** [byte offset, event index, the state it stores: 0 none, 1 a whole snapshot, 2 a delta (format 3)] per checkpoint. */
  readonly checkpoints: readonly (readonly [number, number, number])[];
  readonly countsByKind: Readonly<Record<string, number>>;
  readonly finalHash: string;
}

export function frame(type: number, body: Uint8Array): Buffer {
  const head = Buffer.alloc(FRAME_BYTES);
  head.writeUInt8(type, 0);
  head.writeUInt32LE(body.length, 1);
  head.writeUInt32LE(crc32(body), 5);
  return Buffer.concat([head, body]);
}

/** The trailer that ends a file of the given format whose footer record starts at `footerOffset`. */
export function trailer(footerOffset: number, formatVersion = FORMAT_VERSION): Buffer {
  const b = Buffer.alloc(trailerBytes(formatVersion));
  TRAILER_MAGIC.copy(b, 0);
  b.writeBigUInt64LE(BigInt(footerOffset), 8);
  if (b.length > 16) b.writeUInt32LE(crc32(b.subarray(0, 16)), 16);
  return b;
}

export const checksum = (body: Uint8Array): number => crc32(body);
