/**
 * Editing traces by hand, as a user with a hex editor and a CRC calculator would: split a file into
 * its records with their decoded bodies, change them, and put the file together again with every
 * checksum right. `assemble` always points the trailer at the footer; `footer: "rebuild"` also
 * rewrites the footer as an index of the records as they now are (the careful editor), `"keep"`
 * leaves its lists as they were (offsets and all).
 */
import { Packr } from "msgpackr";
import { decodeRecordBody, encodeRecordBody } from "../src/trace/compression.ts";
import { FRAME_BYTES, MAGIC, RecordType, frame, trailer, type CheckpointBody, type FooterBody } from "../src/trace/format.ts";
import { storedKind } from "../src/trace/structure.ts";

export interface EditableRecord {
  type: number;
  /** The decoded body; `raw` wins when set (bodies msgpack cannot build from a JS value). */
  body: unknown;
  raw?: Uint8Array;
}

export function splitTrace(bytes: Uint8Array): EditableRecord[] {
  const b = Buffer.from(bytes);
  const records: EditableRecord[] = [];
  let at = MAGIC.length;
  let format = 0; // the header is read before the format is known
  while (at + FRAME_BYTES <= b.length && !b.subarray(at, at + 8).equals(Buffer.from("HVSIMEND"))) {
    const type = b.readUInt8(at);
    const length = b.readUInt32LE(at + 1);
    const body = b.subarray(at + FRAME_BYTES, at + FRAME_BYTES + length);
    records.push({ type, body: decodeRecordBody(body, type, format) });
    if (type === RecordType.header) format = (records.at(-1)!.body as { formatVersion: number }).formatVersion;
    at += FRAME_BYTES + length;
  }
  return records;
}

/** Bodies are stored as the file's format stores them (compressed from format 3, blocks with a byte column from 4), as the header says. */
const formatOf = (records: readonly EditableRecord[]): number => {
  const h = records.find((r) => r.type === RecordType.header)?.body as { formatVersion?: unknown } | undefined;
  return typeof h?.formatVersion === "number" ? h.formatVersion : 4;
};

export function assemble(records: readonly EditableRecord[], o: { footer: "keep" | "rebuild" }): Buffer {
  const parts: Uint8Array[] = [MAGIC];
  let at = MAGIC.length;
  const blocks: [number, number, number][] = [];
  const checkpoints: [number, number, number][] = [];
  const counts: Record<string, number> = {};
  let footerAt = -1;
  const format = formatOf(records);
  const checkpointAt = new Map<number, number>();
  for (const r of records) {
    // A delta names the checkpoint it changes by distance back: an edit that resizes a record between them moves it.
    const d = r.type === RecordType.checkpoint ? (r.body as { seq: number; delta?: { baseSeq: number; back: number } }).delta : undefined;
    const base = d === undefined ? undefined : checkpointAt.get(d.baseSeq);
    const value = d === undefined || base === undefined ? r.body : { ...(r.body as object), delta: { ...d, back: at - base } };
    let body = r.raw ?? encodeRecordBody(r.type, value, format);
    if (r.type === RecordType.block) {
      const blk = r.body as { first: number; events: { kind: string }[] };
      blocks.push([at, blk.first, blk.events.length]);
      for (const e of blk.events) counts[e.kind] = (counts[e.kind] ?? 0) + 1;
    } else if (r.type === RecordType.checkpoint) {
      const c = r.body as CheckpointBody;
      checkpoints.push([at, c.seq, storedKind(c)]);
      checkpointAt.set(c.seq, at);
    } else if (r.type === RecordType.footer) {
      footerAt = at;
      if (o.footer === "rebuild") {
        const f = r.body as FooterBody;
        const events = blocks.reduce((n, x) => n + x[2], 0);
        body = encodeRecordBody(r.type, { ...f, events, blocks, checkpoints, countsByKind: counts }, format);
      }
    }
    const framed = frame(r.type, body);
    parts.push(framed);
    at += framed.length;
  }
  if (footerAt >= 0) parts.push(trailer(footerAt, Math.max(2, format)));
  return Buffer.concat(parts);
}

/** A msgpack body from a JS value as it is (own `__proto__` keys stay keys), for hostile bodies. */
export const rawBody = (v: unknown): Uint8Array => new Packr({ useRecords: false }).pack(v);

/** `depth` nested one-element lists around 1, as msgpack bytes (packers refuse to build them). */
export function nestedList(depth: number): Uint8Array {
  const b = Buffer.alloc(depth + 1, 0x91);
  b[depth] = 0x01;
  return b;
}

export const indexOfType = (records: readonly EditableRecord[], type: number, n: number): number => {
  let seen = 0;
  for (let i = 0; i < records.length; i++) if (records[i]!.type === type && seen++ === n) return i;
  throw new Error(`no record ${n} of type ${type}`);
};
