import { encodeBody } from "./codec.ts";
import { shallowCopy } from "../core/copy.ts";
import { STATE_HASH_DEFINITION } from "../core/hash.ts";
import {
  FORMAT_VERSION,
  MAGIC,
  RecordType,
  frame,
  trailer,
  type BlockBody,
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
}

export type HeaderFields = Omit<TraceHeader, "magic" | "formatVersion" | "blockEvents" | "snapshotEveryBlocks" | "stateHash">;

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

  constructor(
    private readonly sink: ByteSink,
    header: HeaderFields,
    genesis: { hash: string; t: number; snapshot: unknown },
    options: WriterOptions = {},
  ) {
    this.blockEvents = options.blockEvents ?? 1024;
    this.snapshotEveryBlocks = options.snapshotEveryBlocks ?? 16;
    if (!(this.blockEvents >= 1 && this.snapshotEveryBlocks >= 1)) throw new RangeError("writer options must be >= 1");
    this.emit(MAGIC);
    const full: TraceHeader = {
      magic: "HVSIMTRC",
      formatVersion: FORMAT_VERSION,
      blockEvents: this.blockEvents,
      snapshotEveryBlocks: this.snapshotEveryBlocks,
      ...header,
      // The hashes this writer is given are this build's (a copied header may name an older one).
      stateHash: STATE_HASH_DEFINITION,
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

  /** Writes the pending block and a checkpoint with the state hash after its last event (a snapshot is encoded now, not kept). */
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
    this.emit(trailer(at));
    this.closed = true;
    this.sink.close();
  }

  get eventCount(): number {
    return this.events;
  }

  private writeBlock(): void {
    const first = this.pending[0]!.seq;
    let prevT = this.lastT;
    const t0 = prevT;
    const events = this.pending.map((ev) => {
      // seq is implied by position; t is stored as the delta from the previous event (small ints).
      const stored = shallowCopy(ev, "seq", "t");
      stored.t = ev.t - prevT;
      prevT = ev.t;
      return stored;
    });
    const body: BlockBody = { first, t0, events, outcomes: this.pendingOutcomes };
    this.blocks.push([this.offset, first, this.pending.length]);
    this.emitRecord(RecordType.block, body);
    this.lastT = prevT;
    this.pending = [];
    this.pendingOutcomes = [];
  }

  private writeCheckpoint(body: CheckpointBody): void {
    this.checkpoints.push([this.offset, body.seq, body.snapshot === undefined ? 0 : 1]);
    this.emitRecord(RecordType.checkpoint, body);
  }

  private emitRecord(type: number, body: unknown): void {
    this.emit(frame(type, encodeBody(body)));
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
