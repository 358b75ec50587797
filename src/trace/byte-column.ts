import { REF_BYTES_MIN } from "./delta.ts";
import { shallowCopy } from "../core/copy.ts";

/**
 * A block's byte column (trace format 4, compression.ts): every event field holding a byte array
 * of at least REF_BYTES_MIN bytes (the guest data a `vm_mem_write` carries) is stored after the
 * events, as a flat list of (event index in the block, field, bytes), and the field itself holds
 * the entry's place in that list. Key order and every other field stay as they were.
 *
 * The long arrays are the ones a stored state may name (delta.ts, REF), so a seek reads a block's
 * column alone to resolve them; and being random, they compress to nothing, so they are stored as
 * they are while the events around them deflate better without them.
 */

type Fields = Record<string, unknown>;

/** The events with their long byte fields replaced by places in the column, and the column. Events that have none are not copied. */
export function splitByteColumn(events: readonly Fields[]): { events: Fields[]; column: unknown[] } {
  const column: unknown[] = [];
  const out: Fields[] = new Array(events.length);
  for (let i = 0; i < events.length; i++) {
    const ev = events[i]!;
    let copy: Fields | null = null;
    for (const k in ev) {
      const v = ev[k];
      if (!(v instanceof Uint8Array) || v.length < REF_BYTES_MIN) continue;
      copy ??= shallowCopy(ev);
      copy[k] = column.length / 3;
      column.push(i, k, v);
    }
    out[i] = copy ?? ev;
  }
  return { events: out, column };
}

/**
 * Puts a decoded block's column back into its events (in place: they are fresh from the decoder).
 * Each entry must name an event's own field that holds exactly its place, so every entry lands
 * once and nowhere else; what is wrong is said, else null.
 */
export function joinByteColumn(block: Fields, column: unknown): string | null {
  if (!Array.isArray(column) || column.length % 3 !== 0) return "its byte column is not a list of (event, field, bytes) entries";
  if (column.length === 0) return null;
  const events = block.events;
  if (!Array.isArray(events)) return "a byte column for a block with no list of events";
  for (let j = 0; j < column.length; j += 3) {
    const i = column[j];
    const field = column[j + 1];
    const bytes = column[j + 2];
    const place = j / 3;
    const ev = Number.isSafeInteger(i) ? events[i as number] : undefined;
    const fields = typeof ev === "object" && ev !== null && !Array.isArray(ev) ? (ev as Fields) : undefined;
    if (fields === undefined || typeof field !== "string" || !(bytes instanceof Uint8Array)) return `byte column entry ${place} is not (an event of the block, a field, bytes)`;
    if (!Object.hasOwn(fields, field) || fields[field] !== place) return `byte column entry ${place} names the ${field} of event ${String(i)} of the block, which does not hold its place`;
    fields[field] = bytes;
  }
  return null;
}
