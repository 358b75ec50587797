import { createHash, type Hash } from "node:crypto";

/**
 * The canonical encoding's bytes and the buffer they are written into: shared by both state-hash
 * definitions (hash.ts). Tags keep `1`, `1n` and `"1"` apart; object keys are sorted by UTF-16 code
 * units; a byte array enters as `x<length>:<its own SHA-256, hex>;`.
 */

/**
 * Byte arrays in state are copy-on-write wherever another state may share them (the pure path), so
 * an array's digest can be remembered; the fast path's in-place writes forget it (`writableBytes`).
 * A memo, not state: the digest is the same with or without it.
 */
const digestMemo = new WeakMap<Uint8Array, Buffer>();
/** Drops a remembered digest: for a byte array written in place on the fast path (see bytes.ts). */
export function forgetDigest(v: Uint8Array): void {
  digestMemo.delete(v);
}

/** SHA-256 of the array's bytes (remembered until `forgetDigest`: the same Buffer until then). */
function bytesDigest(v: Uint8Array): Buffer {
  let d = digestMemo.get(v);
  if (d === undefined) {
    d = createHash("sha256").update(v).digest();
    digestMemo.set(v, d);
  }
  return d;
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
export const C_ARRAY_OPEN = 0x5b; // [
export const C_ARRAY_CLOSE = 0x5d; // ]
export const C_OBJECT_OPEN = 0x7b; // {
export const C_OBJECT_CLOSE = 0x7d; // }

/**
 * Bytes of an encoding, collected in a buffer. With a hash to feed (`HashFeed.streaming`) a full
 * buffer is flushed into it a chunk at a time, so a whole state's encoding is never held; without
 * one (`HashFeed.growing`, one tree node's encoding) the buffer grows and is hashed in one call.
 * Writing UTF-8 straight into a buffer beats building strings of tens of thousands of pieces,
 * which cost about 30% more to allocate, flatten and re-encode.
 */
export class HashFeed {
  private static readonly CHUNK = 1 << 16;
  private buf: Buffer;
  pos = 0;
  /** False once an object or array that is not frozen was encoded (see hash-tree.ts memo). */
  frozen = true;

  /**
   * @param rawDigests a byte array's digest enters as its 32 bytes (definition 2) rather than as
   *   64 hex digits (definition 1)
   */
  private constructor(
    private readonly hash: Hash | null,
    readonly rawDigests: boolean,
  ) {
    this.buf = Buffer.allocUnsafe(hash === null ? 4096 : HashFeed.CHUNK);
  }

  static streaming(rawDigests = false): HashFeed {
    return new HashFeed(createHash("sha256"), rawDigests);
  }

  static growing(): HashFeed {
    return new HashFeed(null, true);
  }

  /** Empties a growing feed for the next node. */
  reset(): void {
    this.pos = 0;
    this.frozen = true;
  }

  /** The bytes so far (a growing feed): valid until the next write. */
  contents(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** One byte (a tag or separator). */
  byte(c: number): void {
    if (this.pos === this.buf.length) this.makeRoom(1);
    this.buf[this.pos++] = c;
  }

  /** Raw bytes (a child's digest). */
  raw(b: Uint8Array): void {
    if (this.pos + b.length > this.buf.length) this.makeRoom(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** A string known to be ASCII (number digits, hex): one byte per character. */
  ascii(s: string): void {
    if (this.pos + s.length > this.buf.length && !this.makeRoom(s.length)) {
      this.hash!.update(s, "utf8"); // only a huge bigint's hex is this long
      return;
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
    if (this.pos + most > this.buf.length && !this.makeRoom(most)) {
      this.hash!.update(s, "utf8");
      return;
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

  /** The SHA-256 of everything fed (a streaming feed), hex. */
  digest(): string {
    this.flush();
    return this.hash!.digest("hex");
  }

  /**
   * Makes room for `n` more bytes: a streaming feed flushes (false if `n` is more than a whole
   * chunk: the caller then hashes that piece directly), a growing one doubles.
   */
  private makeRoom(n: number): boolean {
    if (this.hash !== null) {
      this.flush();
      return n <= HashFeed.CHUNK;
    }
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
    return true;
  }

  private flush(): void {
    if (this.pos > 0) this.hash!.update(this.buf.subarray(0, this.pos));
    this.pos = 0;
  }
}

/** `s<length>:<string>`: strings and object keys. */
export function feedString(f: HashFeed, s: string): void {
  f.byte(C_STRING);
  // Most keys are shorter than 10: one digit, without a number-to-string conversion per key.
  if (s.length < 10) f.byte(C_DIGIT_0 + s.length);
  else f.ascii(String(s.length));
  f.byte(C_COLON);
  f.text(s);
}

/** A primitive, or (recursively, whole) an array, a byte array by its digest or an object. */
export function feedValue(f: HashFeed, v: unknown): void {
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
  if (f.frozen && !Object.isFrozen(a)) f.frozen = false;
  f.byte(C_ARRAY_OPEN);
  for (let i = 0; i < a.length; i++) feedValue(f, a[i]);
  f.byte(C_ARRAY_CLOSE);
}

/** `x<length>:<SHA-256 of the bytes>;` (the digest as hex, or raw in definition 2). */
export function feedBytes(f: HashFeed, v: Uint8Array): void {
  feedBytesDigest(f, v.length, bytesDigest(v));
}

function feedBytesDigest(f: HashFeed, length: number, digest: Buffer): void {
  f.byte(C_BYTES);
  f.ascii(String(length));
  f.byte(C_COLON);
  if (f.rawDigests) f.raw(digest);
  else f.ascii(digest.toString("hex"));
  f.byte(C_SEMI);
}

function feedObject(f: HashFeed, o: Record<string, unknown>): void {
  if (f.frozen && !Object.isFrozen(o)) f.frozen = false;
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
export function sortedKeys(o: object): string[] {
  return sortInPlace(Object.keys(o));
}

export function sortInPlace(keys: string[]): string[] {
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
