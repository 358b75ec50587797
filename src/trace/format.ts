import { crc32 } from "node:zlib";

/**
 * The hvsim trace file ("HVT"), format version 1.
 *
 *   file    := MAGIC record* trailer?
 *   MAGIC   := "HVSIMTRC" (8 bytes)
 *   record  := type:u8  length:u32le  crc32:u32le  body[length]      (body = one msgpack value)
 *   trailer := "HVSIMEND" footerOffset:u64le                          (last 16 bytes)
 *
 * The first record is the header; then blocks of events with their outcomes, each followed by a
 * checkpoint (event index, state hash, and every so often a full snapshot); then the footer, an
 * index of block and checkpoint offsets for seeking. Every record carries the CRC-32 of its body,
 * so a flipped byte is caught in the record that holds it, and framing lets a reader stop at the
 * first damaged record having yielded every whole record before it.
 */
export const MAGIC = Buffer.from("HVSIMTRC", "latin1");
export const TRAILER_MAGIC = Buffer.from("HVSIMEND", "latin1");
export const TRAILER_BYTES = 16;
export const FRAME_BYTES = 9;
export const FORMAT_VERSION = 1;
/** A record body larger than this is damage, not data: it bounds what a reader will allocate. */
export const RECORD_BYTES_MAX = 256 * 1024 * 1024;

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
  readonly generator: string;
}

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
  readonly snapshot?: unknown;
}

export interface FooterBody {
  readonly events: number;
  readonly lastT: number;
  /** [byte offset, first event index, event count] per block. */
  readonly blocks: readonly (readonly [number, number, number])[];
  /** [byte offset, event index, has snapshot (0|1)] per checkpoint. */
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

export function trailer(footerOffset: number): Buffer {
  const b = Buffer.alloc(TRAILER_BYTES);
  TRAILER_MAGIC.copy(b, 0);
  b.writeBigUInt64LE(BigInt(footerOffset), 8);
  return b;
}

export const checksum = (body: Uint8Array): number => crc32(body);
