import { createHash } from "node:crypto";

/**
 * Canonical encoding of plain data: the same value gives the same bytes on every machine, whatever
 * the key insertion order. Object keys are sorted by UTF-16 code units; numbers, bigints, strings,
 * booleans and null each carry their own tag so that `1`, `1n` and `"1"` never collide.
 * Only plain data is accepted: the state is plain data by contract (see `serializable.ts`).
 */
export function canonicalString(value: unknown): string {
  const out: string[] = [];
  encode(value, out);
  return out.join("");
}

function encode(v: unknown, out: string[]): void {
  switch (typeof v) {
    case "number":
      if (!Number.isFinite(v)) throw new TypeError(`canonical encoding: non-finite number ${v}`);
      out.push("n", String(v), ";");
      return;
    case "bigint":
      out.push("b", v.toString(16), ";");
      return;
    case "string":
      out.push("s", String(v.length), ":", v);
      return;
    case "boolean":
      out.push(v ? "T" : "F");
      return;
    case "undefined":
      out.push("U");
      return;
    case "object":
      if (v === null) {
        out.push("N");
        return;
      }
      if (Array.isArray(v)) {
        out.push("[");
        for (const x of v) encode(x, out);
        out.push("]");
        return;
      }
      if (v instanceof Uint8Array) {
        out.push("x", Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex"), ";");
        return;
      }
      encodeObject(v as Record<string, unknown>, out);
      return;
    default:
      throw new TypeError(`canonical encoding: unsupported ${typeof v}`);
  }
}

function encodeObject(o: Record<string, unknown>, out: string[]): void {
  const keys = Object.keys(o).sort();
  out.push("{");
  for (const k of keys) {
    // An absent key and a key holding undefined hash the same: both mean "not set".
    if (o[k] === undefined) continue;
    out.push("s", String(k.length), ":", k);
    encode(o[k], out);
  }
  out.push("}");
}

/** SHA-256 of the canonical encoding, as 64 hex digits. */
export function stateHash(value: unknown): string {
  return createHash("sha256").update(canonicalString(value)).digest("hex");
}

/** Short form of a hash for human output. */
export const shortHash = (h: string): string => h.slice(0, 16);
