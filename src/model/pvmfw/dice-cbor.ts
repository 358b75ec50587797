/**
 * CBOR for the DICE chain, deterministic: definite lengths, shortest integer heads, map keys in
 * bytewise-lexicographic order of their encodings (RFC 8949 §4.2.1 core deterministic encoding).
 * cbor-x does the value encoding; map key order and array framing are done here so the bytes never
 * depend on insertion order. Decoding of untrusted bytes never throws (it returns null).
 */
import { Decoder, Encoder } from "cbor-x";

const encoder = new Encoder({
  mapsAsObjects: false,
  useRecords: false,
  tagUint8Array: false, // a Uint8Array is a plain bstr, not tag 64
  variableMapSize: true, // shortest map heads
  structuredClone: false,
});
const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });

/** Encodes a value; the result is a fresh copy (cbor-x may reuse its internal buffer). */
export function cborEncode(value: unknown): Uint8Array {
  return new Uint8Array(encoder.encode(value));
}

/** Decodes exactly one item filling all of `bytes`, or null for anything malformed. */
export function cborDecode(bytes: Uint8Array): unknown {
  try {
    return decoder.decode(bytes) as unknown;
  } catch {
    return null;
  }
}

/**
 * A CBOR integer in its shortest form: cbor-x writes a JS number ≥ 2^32 as a float and any bigint
 * with an 8-byte head, so small bigints become numbers and large ones stay bigints.
 */
export function cborInt(v: bigint | number): bigint | number {
  const b = BigInt(v);
  return b >= -(1n << 32n) && b < 1n << 32n ? Number(b) : b;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return a.length - b.length;
}

/** A Map with its keys in deterministic order (sorted by their encoded bytes). */
export function canonicalMap(entries: readonly (readonly [number, unknown])[]): Map<number, unknown> {
  const keyed = entries.map(([k, v]) => ({ k, v, enc: cborEncode(k) }));
  keyed.sort((x, y) => compareBytes(x.enc, y.enc));
  return new Map(keyed.map((e) => [e.k, e.v]));
}

/** The head of a definite-length item of major type `major` with argument `n` (shortest form). */
export function cborHead(major: number, n: number): Uint8Array {
  const m = major << 5;
  if (n < 24) return Uint8Array.of(m | n);
  if (n < 0x100) return Uint8Array.of(m | 24, n);
  if (n < 0x10000) return Uint8Array.of(m | 25, n >> 8, n & 0xff);
  return Uint8Array.of(m | 26, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/** Reads the head at `p`: major type, argument and head length; null when malformed or indefinite. */
function readHead(b: Uint8Array, p: number): { major: number; arg: bigint; len: number } | null {
  const first = b[p];
  if (first === undefined) return null;
  const major = first >> 5;
  const ai = first & 31;
  if (ai < 24) return { major, arg: BigInt(ai), len: 1 };
  if (ai > 27) return null; // reserved (28..30) or indefinite length (31): not deterministic CBOR
  const size = 1 << (ai - 24);
  if (p + 1 + size > b.length) return null;
  let arg = 0n;
  for (let i = 0; i < size; i++) arg = (arg << 8n) | BigInt(b[p + 1 + i] as number);
  return { major, arg, len: 1 + size };
}

/**
 * The end offset of the item starting at `start`, or null. Iterative: each step consumes at least
 * one byte and the count of pending items can never exceed the bytes left, so it is bounded by
 * the input length whatever the lengths claim.
 */
export function cborItemEnd(b: Uint8Array, start: number): number | null {
  let p = start;
  let pending = 1n;
  while (pending > 0n) {
    const h = readHead(b, p);
    if (h === null) return null;
    p += h.len;
    pending -= 1n;
    if (h.major === 2 || h.major === 3) {
      if (BigInt(p) + h.arg > BigInt(b.length)) return null;
      p += Number(h.arg);
    } else if (h.major === 4) pending += h.arg;
    else if (h.major === 5) pending += 2n * h.arg;
    else if (h.major === 6) pending += 1n;
    if (pending > BigInt(b.length - p)) return null;
  }
  return p;
}

/** The elements of a top-level array, and the first framing problem if any (index -1 = the array itself). */
export interface SplitArray {
  readonly items: Uint8Array[];
  readonly error: { readonly index: number; readonly reason: string } | null;
}

/**
 * Splits a top-level definite array into the byte ranges of its elements. Stops at the first
 * element that is not well-formed; the elements before it are still returned, so a caller can
 * check them first and blame the earliest bad entry.
 */
export function splitCborArray(b: Uint8Array): SplitArray {
  const h = readHead(b, 0);
  if (h === null || h.major !== 4) return { items: [], error: { index: -1, reason: "not a definite-length CBOR array" } };
  if (h.arg > BigInt(b.length)) return { items: [], error: { index: -1, reason: "array claims more elements than there are bytes" } };
  const items: Uint8Array[] = [];
  let p = h.len;
  for (let i = 0; i < Number(h.arg); i++) {
    const end = cborItemEnd(b, p);
    if (end === null) return { items, error: { index: i, reason: "entry is not well-formed CBOR" } };
    items.push(b.subarray(p, end));
    p = end;
  }
  return { items, error: p === b.length ? null : { index: -1, reason: "trailing bytes after the chain array" } };
}
