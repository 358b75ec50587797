import { encodeRecordBody, encodeRecordedBlock } from "./compression.ts";
import { encodeDelta } from "./delta.ts";
import { WindowBytes } from "./window-bytes.ts";
import { STATE_HASH_DEFINITION, type StateHashDefinition } from "../core/hash.ts";
import { mutableCopy } from "../core/reducer.ts";
import {
  FORMAT_VERSION,
  MAGIC,
  RecordType,
  frame,
  trailer,
  type CheckpointBody,
  type FooterBody,
  type TraceHeader,
} from "./format.ts";
import type { ByteSink } from "./source.ts";
import type { EventBase, Outcome } from "../core/event.ts";

export interface WriterOptions {
  /** Events per block; a checkpoint follows every block. */
  readonly blockEvents?: number;
  /** Every Nth checkpoint carries a full snapshot of the state (seek targets for time travel). */
  readonly snapshotEveryBlocks?: number;
  /** Every Nth stored snapshot is a whole state; the ones between are deltas from the one before. */
  readonly snapshotFullEvery?: number;
  /**
   * The format to write: this build's (4); or 3 or 2, byte for byte what their writers wrote (3:
   * no byte column and no names in deltas; 2: uncompressed, every snapshot whole), for benchmarks
   * against them and for tools that need them.
   */
  readonly formatVersion?: 2 | 3 | 4;
}

/**
 * The state hash definition a trace of this format carries: this build's from format 3, and 1 (the
 * only one format 2 writers knew) for format 2, so a format 2 file written for comparison is byte for
 * byte what they wrote. The recorder hashes with it.
 */
export const hashDefinitionFor = (formatVersion: number): StateHashDefinition => (formatVersion < 3 ? 1 : STATE_HASH_DEFINITION);

export type HeaderFields = Omit<TraceHeader, "magic" | "formatVersion" | "blockEvents" | "snapshotEveryBlocks" | "snapshotFullEvery" | "stateHash">;

/**
 * Events per block, and so per checkpoint hash. 4096 rather than 1024 (measured on long-run, 200k
 * events, docs/architecture.md "Performance"): 8% fewer bytes (a block's deflate and record
 * structures serve more events), fast replay 23% faster (a quarter of the checkpoint hashes),
 * decoding 12% faster; what it costs is a block to decode for a single event (about 2 ms) and, in
 * a recording that crashes, up to 4095 events of the unfinished block. Divergence is still found at
 * the exact event: outcomes are compared one by one.
 */
export const BLOCK_EVENTS = 4096;

/** Every this many blocks a checkpoint stores the state: a seek replays at most 16,384 events. */
export const SNAPSHOT_EVERY_BLOCKS = 4;

/**
 * Stored snapshots per whole one (format 3). A seek rebuilds a state from at most this many snapshot
 * records; with a snapshot every 16,384 events, a whole state every 16 snapshots costs long-run
 * about 0.6 bytes/event and a seek reads a chain of at most 16 (docs/architecture.md).
 */
export const SNAPSHOT_FULL_EVERY = 16;

/** First format whose deltas name the bytes an event of their window carried (delta.ts, REF). */
const NAMES_FROM_FORMAT = 4;

/** Each format's default layout: format 2 the one its writers used, every snapshot whole. */
const FORMAT_3_LAYOUT = { blockEvents: BLOCK_EVENTS, snapshotEveryBlocks: SNAPSHOT_EVERY_BLOCKS, snapshotFullEvery: SNAPSHOT_FULL_EVERY } as const;
const FORMAT_2_LAYOUT = { blockEvents: 1024, snapshotEveryBlocks: 16, snapshotFullEvery: 1 } as const;

/**
 * Streaming trace writer. The caller (the recorder) appends events with their outcomes; when a
 * block is full (`append` returns true) it calls `checkpoint` with the state hash after the
 * block's last event, which writes the block and the checkpoint as whole records. A crash
 * therefore loses at most the block being filled.
 */
export class TraceWriter {
  private offset = 0;
  private readonly blockEvents: number;
  private readonly snapshotEveryBlocks: number;
  private pending: EventBase[] = [];
  private pendingOutcomes: Outcome[] = [];
  private readonly blocks: [number, number, number][] = [];
  private readonly checkpoints: [number, number, number][] = [];
  private readonly countsByKind: Record<string, number> = {};
  private events = 0;
  private lastT = 0;
  private closed = false;
  private readonly snapshotFullEvery: number;
  private readonly formatVersion: number;
  /** The last stored state (a private copy: the caller's state moves on), what the next delta is from. */
  private stored: { offset: number; seq: number; state: unknown; chain: number } | null = null;
  /** The bytes the events since the last stored state carried, for the next delta to name (null when no snapshot is a delta). */
  private readonly window: WindowBytes | null;

  constructor(
    private readonly sink: ByteSink,
    header: HeaderFields,
    genesis: { hash: string; t: number; snapshot: unknown },
    options: WriterOptions = {},
  ) {
    this.formatVersion = options.formatVersion ?? FORMAT_VERSION;
    const v2 = this.formatVersion < 3;
    const layout = v2 ? FORMAT_2_LAYOUT : FORMAT_3_LAYOUT;
    this.blockEvents = options.blockEvents ?? layout.blockEvents;
    this.snapshotEveryBlocks = options.snapshotEveryBlocks ?? layout.snapshotEveryBlocks;
    // Format 2 stores every snapshot whole: its layout's chain of one is not an option there.
    this.snapshotFullEvery = (v2 ? undefined : options.snapshotFullEvery) ?? layout.snapshotFullEvery;
    if (!(this.blockEvents >= 1 && this.snapshotEveryBlocks >= 1 && this.snapshotFullEvery >= 1)) throw new RangeError("writer options must be >= 1");
    this.window = this.snapshotFullEvery > 1 && this.formatVersion >= NAMES_FROM_FORMAT ? new WindowBytes() : null;
    this.emit(MAGIC);
    // What says how this file is laid out and hashed is this writer's, whatever a header copied from
    // another trace carries. Format 2 writes neither field it did not know, so it stays byte for byte.
    const { magic: _m, formatVersion: _f, blockEvents: _b, snapshotEveryBlocks: _s, snapshotFullEvery: _c, stateHash: _h, ...fields } = header as HeaderFields & Partial<TraceHeader>;
    const full: TraceHeader = {
      magic: "HVSIMTRC",
      formatVersion: this.formatVersion,
      blockEvents: this.blockEvents,
      snapshotEveryBlocks: this.snapshotEveryBlocks,
      ...(v2 ? {} : { snapshotFullEvery: this.snapshotFullEvery }),
      ...fields,
      ...(v2 ? {} : { stateHash: hashDefinitionFor(this.formatVersion) }),
    };
    this.emitRecord(RecordType.header, full);
    this.lastT = genesis.t;
    this.writeCheckpoint({ seq: -1, t: genesis.t, hash: genesis.hash, snapshot: genesis.snapshot });
  }

  /** Appends one event and its outcome; returns true when the block is full and needs its checkpoint. */
  append(ev: EventBase, outcome: Outcome): boolean {
    if (this.closed) throw new Error("trace writer is closed");
    if (ev.seq !== this.events) throw new Error(`trace writer: event ${ev.seq} appended, expected ${this.events}`);
    this.pending.push(ev);
    this.pendingOutcomes.push(outcome);
    this.countsByKind[ev.kind] = (this.countsByKind[ev.kind] ?? 0) + 1;
    this.events += 1;
    return this.pending.length >= this.blockEvents;
  }

  /** True if the next checkpoint will store a snapshot, so the caller only builds one when needed. */
  wantsSnapshot(): boolean {
    return (this.blocks.length + 1) % this.snapshotEveryBlocks === 0;
  }

  /** Writes the pending block and a checkpoint with the state hash after its last event (a snapshot is encoded now; the writer keeps a copy to store the next one as a delta). */
  checkpoint(hash: string, snapshot?: unknown): void {
    if (this.pending.length === 0) return;
    const last = this.pending[this.pending.length - 1]!;
    this.writeBlock();
    this.writeCheckpoint({ seq: last.seq, t: last.t, hash, ...(snapshot === undefined ? {} : { snapshot }) });
  }

  /** Flushes the last block (with its checkpoint), then writes the footer index and trailer. */
  finish(finalHash: string, snapshot?: unknown): void {
    this.checkpoint(finalHash, snapshot);
    const footer: FooterBody = {
      events: this.events,
      lastT: this.lastT,
      blocks: this.blocks,
      checkpoints: this.checkpoints,
      countsByKind: sortedCounts(this.countsByKind),
      finalHash,
    };
    const at = this.offset;
    this.emitRecord(RecordType.footer, footer);
    this.emit(trailer(at, this.formatVersion));
    this.closed = true;
    this.sink.close();
  }

  get eventCount(): number {
    return this.events;
  }

  private writeBlock(): void {
    const first = this.pending[0]!.seq;
    // seq is implied by position; t is stored as the delta from the previous event (small ints).
    const { stored, column } = encodeRecordedBlock(first, this.lastT, this.pending, this.pendingOutcomes, this.formatVersion);
    if (this.window !== null && column !== null) this.window.noteColumn(first, column);
    this.blocks.push([this.offset, first, this.pending.length]);
    this.emit(frame(RecordType.block, stored));
    this.lastT = this.pending[this.pending.length - 1]!.t;
    this.pending = [];
    this.pendingOutcomes = [];
  }

  /**
   * A checkpoint with a snapshot stores it whole every `snapshotFullEvery` stored snapshots (genesis
   * first), and otherwise as the change from the one stored before, found `back` bytes earlier.
   */
  private writeCheckpoint(body: CheckpointBody): void {
    const offset = this.offset;
    if (body.snapshot === undefined) {
      this.checkpoints.push([offset, body.seq, 0]);
      this.emitRecord(RecordType.checkpoint, body);
      return;
    }
    const prev = this.stored;
    const chain = prev === null || prev.chain + 1 >= this.snapshotFullEvery ? 0 : prev.chain + 1;
    this.checkpoints.push([offset, body.seq, prev === null || chain === 0 ? 1 : 2]);
    if (prev === null || chain === 0) this.emitRecord(RecordType.checkpoint, body);
    else {
      const { snapshot, ...rest } = body;
      this.emitRecord(RecordType.checkpoint, { ...rest, delta: { back: offset - prev.offset, baseSeq: prev.seq, change: encodeDelta(prev.state, snapshot, this.window ?? undefined) } });
    }
    if (this.snapshotFullEvery === 1) return;
    this.window?.clear();
    // A private copy: the recorder hands over its live state, which the next events change in place.
    this.stored = { offset, seq: body.seq, state: mutableCopy(body.snapshot), chain };
  }

  private emitRecord(type: number, body: unknown): void {
    this.emit(frame(type, encodeRecordBody(type, body, this.formatVersion)));
  }

  private emit(bytes: Uint8Array): void {
    this.sink.write(bytes);
    this.offset += bytes.length;
  }
}

function sortedCounts(c: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(c).sort()) out[k] = c[k]!;
  return out;
}
