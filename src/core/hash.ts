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

/**
 * Byte arrays in state are copy-on-write wherever another state may share them (the pure path), so
 * an array's digest can be remembered; the fast path's in-place writes forget it (`writableBytes`).
 * A memo, not state: the digest is the same with or without it.
 */
const digestMemo = new WeakMap<Uint8Array, string>();
/** Drops a remembered digest: for a byte array written in place on the fast path (see bytes.ts). */
export function forgetDigest(v: Uint8Array): void {
  digestMemo.delete(v);
}

function bytesDigest(v: Uint8Array): string {
  let d = digestMemo.get(v);
  if (d === undefined) {
    d = createHash("sha256").update(v).digest("hex");
    digestMemo.set(v, d);
  }
  return d;
}

/**
 * SHA-256 of the canonical encoding, as 64 hex digits. A byte array enters as `x<length>:<its own
 * SHA-256>;` rather than as hex text: states holding page and disk contents hash many times faster
 * (unchanged arrays are not hashed again), and the hash still depends on every byte. So for a state
 * holding bytes the digest is not sha256(canonicalString(state)); `canonicalString` stays the
 * readable form of the same structure.
 */
export function stateHash(value: unknown): string {
  const h = createHash("sha256");
  let pending = "";
  const walk = (v: unknown): void => {
    if (v instanceof Uint8Array) {
      pending += `x${v.length}:${bytesDigest(v)};`;
      return;
    }
    if (typeof v !== "object" || v === null) {
      pending += encode(v);
      return;
    }
    if (Array.isArray(v)) {
      pending += "[";
      for (const x of v) walk(x);
      pending += "]";
      return;
    }
    const o = v as Record<string, unknown>;
    pending += "{";
    for (const k of Object.keys(o).sort()) {
      const x = o[k];
      if (x === undefined) continue;
      pending += `s${k.length}:${k}`;
      walk(x);
    }
    pending += "}";
  };
  walk(value);
  h.update(pending);
  return h.digest("hex");
}

/** Short form of a hash for human output. */
export const shortHash = (h: string): string => h.slice(0, 16);
