import { encodeRecordBody } from "./compression.ts";
import { storedKind } from "./structure.ts";
import { MAGIC, RecordType, frame, trailer, type FooterBody, type TraceHeader } from "./format.ts";
import type { Damage, TraceReader } from "./reader.ts";
import type { ByteSink } from "./source.ts";
import { die } from "../core/errors.ts";

export interface RepairResult {
  /** Blocks (each with its checkpoint) carried over, and the events in them. */
  readonly blocks: number;
  readonly events: number;
  /** What ended the input: damage, an unfinished end, or null when the input was whole. */
  readonly ended: Damage | null;
  /** A last block was whole but its checkpoint was not: dropped, since nothing verifies its state. */
  readonly droppedBlock: { readonly first: number; readonly count: number } | null;
  /** The format written: the input's (its records are copied as they are), at least 2 (a trailer checksum). */
  readonly formatVersion: number;
  /** Bytes of the input after the last record carried over, and where they start. */
  readonly droppedBytes: number;
  readonly droppedFrom: number;
}

/**
 * Writes a complete trace (the input's format, at least 2; footer and trailer rebuilt) from the whole records of a
 * damaged or unfinished one: the header, the genesis checkpoint, then every block whose checkpoint
 * is whole too, copied byte for byte (a block body decodes alone, so it needs no re-encoding). No
 * model is run: what is carried over is exactly what was recorded, and replay verifies it as ever.
 * Streams, so memory stays bounded by one block.
 */
export function repairTrace(reader: TraceReader, sink: ByteSink, note: string): RepairResult {
  // Records are copied byte for byte, so they keep the format they were written in (format 1 differs
  // from 2 only in the trailer, which is rebuilt). Deltas point back by distance, which copying keeps.
  const formatVersion = Math.max(2, reader.formatVersion);
  const header: TraceHeader = { ...reader.header, formatVersion, generator: `${reader.header.generator}; ${note}` };
  let offset = 0;
  const emit = (b: Uint8Array): void => {
    sink.write(b);
    offset += b.length;
  };
  emit(MAGIC);
  emit(frame(RecordType.header, encodeRecordBody(RecordType.header, header, formatVersion)));
  const blocks: [number, number, number][] = [];
  const checkpoints: [number, number, number][] = [];
  const counts: Record<string, number> = Object.create(null) as Record<string, number>;
  let pending: { raw: Uint8Array; first: number; count: number; kinds: string[] } | null = null;
  let events = 0;
  let lastT = 0;
  let finalHash = "";
  let keptEnd = reader.bodyStart;
  const raw = (at: number, end: number): Uint8Array => Buffer.from(reader.source.read(at, end - at));
  for (const item of reader.items()) {
    if (item.type === "block") {
      pending = { raw: raw(item.offset, item.end), first: item.first, count: item.events.length, kinds: item.events.map((e) => e.kind) };
    } else if (item.type === "checkpoint") {
      if (pending !== null) {
        blocks.push([offset, pending.first, pending.count]);
        emit(pending.raw);
        for (const k of pending.kinds) counts[k] = (counts[k] ?? 0) + 1;
        events += pending.count;
        pending = null;
      }
      checkpoints.push([offset, item.seq, storedKind(item)]);
      emit(raw(item.offset, item.end));
      lastT = item.t;
      finalHash = item.hash;
      keptEnd = item.end;
    }
  }
  if (checkpoints.length === 0) die("TRACE_MALFORMED", `${reader.source.name}: nothing to repair: no whole genesis checkpoint after the header`, { offset: reader.bodyStart });
  const sorted: Record<string, number> = {};
  for (const k of Object.keys(counts).sort()) sorted[k] = counts[k]!;
  const footer: FooterBody = { events, lastT, blocks, checkpoints, countsByKind: sorted, finalHash };
  const at = offset;
  emit(frame(RecordType.footer, encodeRecordBody(RecordType.footer, footer, formatVersion)));
  emit(trailer(at, formatVersion));
  sink.close();
  const whole = reader.damage === null;
  return {
    blocks: blocks.length,
    events,
    ended: reader.damage,
    formatVersion,
    droppedBlock: pending === null ? null : { first: pending.first, count: pending.count },
    // A whole input keeps everything but its old footer and trailer, which were rebuilt.
    droppedBytes: whole ? 0 : reader.source.size - keptEnd,
    droppedFrom: keptEnd,
  };
}
