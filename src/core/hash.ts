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
  for (const k of sortedKeys(o)) {
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
 *
 * This runs at every checkpoint of a replay, so the encoding is written as UTF-8 bytes straight into
 * a buffer that reaches the hash in chunks (`HashFeed`) instead of being built as one string of
 * tens of thousands of pieces, which cost about 30% more to allocate, flatten and re-encode.
 * test/core-hash.test.ts checks the result against the straightforward string form.
 */
export function stateHash(value: unknown): string {
  const feed = new HashFeed();
  feedValue(feed, value);
  return feed.digest();
}

// Character codes of the encoding's tags and separators.
const C_NUMBER = 0x6e; // n
const C_BIGINT = 0x62; // b
const C_STRING = 0x73; // s
const C_BYTES = 0x78; // x
const C_TRUE = 0x54; // T
const C_FALSE = 0x46; // F
const C_UNDEFINED = 0x55; // U
const C_NULL = 0x4e; // N
const C_SEMI = 0x3b; // ;
const C_DIGIT_0 = 0x30; // 0
const C_COLON = 0x3a; // :
const C_ARRAY_OPEN = 0x5b; // [
const C_ARRAY_CLOSE = 0x5d; // ]
const C_OBJECT_OPEN = 0x7b; // {
const C_OBJECT_CLOSE = 0x7d; // }

/** Buffered input to one SHA-256: bytes collect in a fixed buffer and reach the hash a chunk at a time. */
class HashFeed {
  private static readonly CHUNK = 1 << 16;
  private readonly hash = createHash("sha256");
  private readonly buf = Buffer.alloc(HashFeed.CHUNK);
  private pos = 0;

  /** One byte (a tag or separator). */
  byte(c: number): void {
    if (this.pos === HashFeed.CHUNK) this.flush();
    this.buf[this.pos++] = c;
  }

  /** A string known to be ASCII (number digits, hex): one byte per character. */
  ascii(s: string): void {
    if (this.pos + s.length > HashFeed.CHUNK) {
      this.flush();
      if (s.length > HashFeed.CHUNK) {
        this.hash.update(s, "utf8"); // only a huge bigint's hex is this long
        return;
      }
    }
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < s.length; i++) buf[pos++] = s.charCodeAt(i);
    this.pos = pos;
  }

  /** Any string, as UTF-8 (as `hash.update(string)` would encode it). */
  text(s: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit (a surrogate pair: 4 bytes for 2 units).
    const most = 3 * s.length;
    if (this.pos + most > HashFeed.CHUNK) {
      this.flush();
      if (most > HashFeed.CHUNK) {
        this.hash.update(s, "utf8");
        return;
      }
    }
    const buf = this.buf;
    const start = this.pos;
    let pos = start;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        // Rare in state (keys and labels are ASCII): let Node encode the whole string.
        this.pos = start + buf.write(s, start, "utf8");
        return;
      }
      buf[pos++] = c;
    }
    this.pos = pos;
  }

  digest(): string {
    this.flush();
    return this.hash.digest("hex");
  }

  private flush(): void {
    if (this.pos > 0) this.hash.update(this.buf.subarray(0, this.pos));
    this.pos = 0;
  }
}

/** `s<length>:<string>`: strings and object keys. */
function feedString(f: HashFeed, s: string): void {
  f.byte(C_STRING);
  // Most keys are shorter than 10: one digit, without a number-to-string conversion per key.
  if (s.length < 10) f.byte(C_DIGIT_0 + s.length);
  else f.ascii(String(s.length));
  f.byte(C_COLON);
  f.text(s);
}

function feedValue(f: HashFeed, v: unknown): void {
  switch (typeof v) {
    case "number":
      if (!Number.isFinite(v)) throw new TypeError(`canonical encoding: non-finite number ${v}`);
      f.byte(C_NUMBER);
      f.ascii(String(v));
      f.byte(C_SEMI);
      return;
    case "string":
      feedString(f, v);
      return;
    case "boolean":
      f.byte(v ? C_TRUE : C_FALSE);
      return;
    case "bigint":
      f.byte(C_BIGINT);
      f.ascii(v.toString(16));
      f.byte(C_SEMI);
      return;
    case "undefined":
      f.byte(C_UNDEFINED);
      return;
    case "object":
      if (v === null) f.byte(C_NULL);
      else if (Array.isArray(v)) feedArray(f, v);
      else if (v instanceof Uint8Array) feedBytes(f, v);
      else feedObject(f, v as Record<string, unknown>);
      return;
    default:
      throw new TypeError(`canonical encoding: unsupported ${typeof v}`);
  }
}

function feedArray(f: HashFeed, a: readonly unknown[]): void {
  f.byte(C_ARRAY_OPEN);
  for (let i = 0; i < a.length; i++) feedValue(f, a[i]);
  f.byte(C_ARRAY_CLOSE);
}

/** `x<length>:<SHA-256 of the bytes>;` (see `stateHash`). */
function feedBytes(f: HashFeed, v: Uint8Array): void {
  f.byte(C_BYTES);
  f.ascii(String(v.length));
  f.byte(C_COLON);
  f.ascii(bytesDigest(v));
  f.byte(C_SEMI);
}

function feedObject(f: HashFeed, o: Record<string, unknown>): void {
  f.byte(C_OBJECT_OPEN);
  const keys = sortedKeys(o);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const x = o[k];
    // An absent key and a key holding undefined hash the same: both mean "not set".
    if (x === undefined) continue;
    feedString(f, k);
    feedValue(f, x);
  }
  f.byte(C_OBJECT_CLOSE);
}

/**
 * The object's own keys in UTF-16 code unit order, as `Object.keys(o).sort()` gives them.
 * Most state objects have a handful of keys, often already in order (ids of the same width come
 * ascending): an insertion sort is linear on those and avoids the generic sort's per-call
 * overhead, which was about a quarter of the hash. Both compare strings by code units.
 */
function sortedKeys(o: object): string[] {
  const keys = Object.keys(o);
  const n = keys.length;
  if (n > INSERTION_SORT_MAX) return keys.sort();
  for (let i = 1; i < n; i++) {
    const k = keys[i]!;
    if (!(k < keys[i - 1]!)) continue;
    let j = i - 1;
    do {
      keys[j + 1] = keys[j]!;
      j--;
    } while (j >= 0 && k < keys[j]!);
    keys[j + 1] = k;
  }
  return keys;
}
const INSERTION_SORT_MAX = 40;

/** Short form of a hash for human output. */
export const shortHash = (h: string): string => h.slice(0, 16);
