import { createHash } from "node:crypto";

/**
 * Canonical encoding of plain data: the same value gives the same bytes on every machine, whatever
 * the key insertion order. Object keys are sorted by UTF-16 code units; numbers, bigints, strings,
 * booleans and null each carry their own tag so that `1`, `1n` and `"1"` never collide.
 * Only plain data is accepted: the state is plain data by contract (see `serializable.ts`).
 */
export function canonicalString(value: unknown): string {
  return encode(value);
}

// String concatenation (V8 ropes) beats collecting parts and joining: this runs at every checkpoint.
function encode(v: unknown): string {
  switch (typeof v) {
    case "number":
      if (!Number.isFinite(v)) throw new TypeError(`canonical encoding: non-finite number ${v}`);
      return `n${v};`;
    case "bigint":
      return `b${v.toString(16)};`;
    case "string":
      return `s${v.length}:${v}`;
    case "boolean":
      return v ? "T" : "F";
    case "undefined":
      return "U";
    case "object":
      if (v === null) return "N";
      if (Array.isArray(v)) {
        let out = "[";
        for (const x of v) out += encode(x);
        return `${out}]`;
      }
      if (v instanceof Uint8Array) return `x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex")};`;
      return encodeObject(v as Record<string, unknown>);
    default:
      throw new TypeError(`canonical encoding: unsupported ${typeof v}`);
  }
}

function encodeObject(o: Record<string, unknown>): string {
  let out = "{";
  for (const k of Object.keys(o).sort()) {
    const x = o[k];
    // An absent key and a key holding undefined hash the same: both mean "not set".
    if (x === undefined) continue;
    out += `s${k.length}:${k}${encode(x)}`;
  }
  return `${out}}`;
}

/** SHA-256 of the canonical encoding, as 64 hex digits. */
export function stateHash(value: unknown): string {
  return createHash("sha256").update(canonicalString(value)).digest("hex");
}

/** Short form of a hash for human output. */
export const shortHash = (h: string): string => h.slice(0, 16);
