/**
 * The trace's msgpack, written by hand for the values a trace holds: the bytes msgpackr writes
 * with codec.ts's options (records on, no shared structures, bigints as extensions 0x42/0x43),
 * which a property test holds it to, at about a third of the time.
 *
 * Why not msgpackr alone: a recording spends a quarter of its time packing blocks, and most of it
 * is not the writing but the generality around it: the bigint wrapping pass over every event
 * (codec.ts `wrapBigInts`), a search through the extension classes for every byte array and
 * bigint, and checks for options the trace never sets. Here a bigint and a byte array are written
 * where they are met.
 *
 * What the bytes are (msgpackr's `writeRecord`, pack.js): a plain object is a record. The first
 * object of a key list (keys in enumeration order) in a body defines it: fixext1 type 0x72 ('r')
 * with the record id, then the keys as an array; later objects of that key list write the id
 * alone. Ids run 0x40..0x7f and then cycle, each new definition taking over the id of the one
 * defined 64 definitions before. Then the values, in key order. A body is self-contained: no
 * definition carries over to the next.
 *
 * A value outside what a trace holds (undefined is fine; a Map, a Date, a class instance, a typed
 * array other than bytes) is not written here: `packRecords` returns null and the caller packs the
 * whole body with msgpackr.
 */

/** A node of the key-list trie: the key lists that start with the keys on the way to it. */
interface KeyList {
  readonly next: Map<string, KeyList>;
  /** The key list itself, once an object ending here has been defined. */
  keys: readonly string[] | null;
  /** The record id this key list holds in the body being written, valid while `body` is the current one. */
  id: number;
  body: number;
}

const RECORD_ID_FIRST = 0x40;
const RECORD_IDS = 64;
const EXT_RECORD_DEFINITION = 0x72;
const EXT_BIGINT_POSITIVE = 0x42;
const EXT_BIGINT_NEGATIVE = 0x43;

const root: KeyList = { next: new Map(), keys: null, id: 0, body: -1 };
/** The key list holding each record id, for the cycle past 64 definitions. */
const holders: (KeyList | null)[] = new Array<KeyList | null>(RECORD_IDS).fill(null);
let body = 0;
let definitions = 0;
/**
 * Key lists kept between bodies. Snapshots key objects by ids and addresses, so over a long
 * recording the distinct lists never stop coming: past this many the trie starts again, between
 * two bodies (it is only a cache; the bytes do not depend on it).
 */
const KEY_LISTS_MAX = 100_000;
let keyLists = 0;

let buf = new Uint8Array(1 << 16);
let view = new DataView(buf.buffer);
let pos = 0;

/** Thrown (and caught in `packRecords`) at a value this packer does not write. */
const UNSUPPORTED = Symbol("unsupported");

/** The msgpack of `value`, or null when it holds something only msgpackr writes. */
export function packRecords(value: unknown): Uint8Array | null {
  return inBody(() => {
    write(value);
    return buf.slice(0, pos);
  });
}

/** Runs `writeBody` as a new body (no definition carries over); null if it met a value only msgpackr writes. */
function inBody<T>(writeBody: () => T): T | null {
  body++;
  definitions = 0;
  pos = 0;
  if (keyLists > KEY_LISTS_MAX) {
    root.next.clear();
    holders.fill(null);
    keyLists = 0;
  }
  try {
    return writeBody();
  } catch (e) {
    if (e === UNSUPPORTED) return null;
    throw e;
  }
}

function room(n: number): void {
  if (pos + n <= buf.length) return;
  let size = buf.length * 2;
  while (size < pos + n) size *= 2;
  const grown = new Uint8Array(size);
  grown.set(buf.subarray(0, pos));
  buf = grown;
  view = new DataView(buf.buffer);
}

function write(v: unknown): void {
  switch (typeof v) {
    case "number":
      return writeNumber(v);
    case "string":
      return writeString(v);
    case "boolean":
      room(1);
      buf[pos++] = v ? 0xc3 : 0xc2;
      return;
    case "bigint":
      return writeBigInt(v);
    case "undefined":
      // msgpackr's undefined: fixext1 type 0, data 0.
      room(3);
      buf[pos++] = 0xd4;
      buf[pos++] = 0;
      buf[pos++] = 0;
      return;
    case "object":
      if (v === null) {
        room(1);
        buf[pos++] = 0xc0;
        return;
      }
      if (v.constructor === Object) return writeRecord(v as Record<string, unknown>);
      if (v.constructor === Array) return writeArray(v as unknown[]);
      if (v instanceof Uint8Array) return writeBytes(v);
      throw UNSUPPORTED;
    default:
      throw UNSUPPORTED;
  }
}

function writeNumber(v: number): void {
  room(9);
  if (v >>> 0 === v) {
    // Positive fixints stop at 0x3f: 0x40..0x7f are record ids.
    if (v < 0x40) buf[pos++] = v;
    else if (v < 0x100) {
      buf[pos++] = 0xcc;
      buf[pos++] = v;
    } else if (v < 0x10000) {
      buf[pos++] = 0xcd;
      buf[pos++] = v >> 8;
      buf[pos++] = v & 0xff;
    } else {
      buf[pos++] = 0xce;
      view.setUint32(pos, v);
      pos += 4;
    }
  } else if (v >> 0 === v) {
    if (v >= -0x20) buf[pos++] = 0x100 + v;
    else if (v >= -0x80) {
      buf[pos++] = 0xd0;
      buf[pos++] = v + 0x100;
    } else if (v >= -0x8000) {
      buf[pos++] = 0xd1;
      view.setInt16(pos, v);
      pos += 2;
    } else {
      buf[pos++] = 0xd2;
      view.setInt32(pos, v);
      pos += 4;
    }
  } else {
    buf[pos++] = 0xcb;
    view.setFloat64(pos, v);
    pos += 8;
  }
}

/** UTF-8 as msgpackr writes it: a lone surrogate becomes U+FFFD, the header sized by the bytes. */
function writeString(s: string): void {
  const n = s.length;
  // A string has at least as many bytes as UTF-16 units: its header is at least this long, and is
  // moved up in the rare case that its bytes need a longer one.
  const guess = headerBytes(n);
  room(5 + n * 3);
  const at = pos + guess;
  let p = at;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) buf[p++] = c;
    else if (c < 0x800) {
      buf[p++] = (c >> 6) | 0xc0;
      buf[p++] = (c & 0x3f) | 0x80;
    } else if ((c & 0xfc00) === 0xd800 && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      c = 0x10000 + ((c & 0x03ff) << 10) + (s.charCodeAt(++i) & 0x03ff);
      buf[p++] = (c >> 18) | 0xf0;
      buf[p++] = ((c >> 12) & 0x3f) | 0x80;
      buf[p++] = ((c >> 6) & 0x3f) | 0x80;
      buf[p++] = (c & 0x3f) | 0x80;
    } else if ((c & 0xf800) === 0xd800) {
      buf[p++] = 0xef;
      buf[p++] = 0xbf;
      buf[p++] = 0xbd;
    } else {
      buf[p++] = (c >> 12) | 0xe0;
      buf[p++] = ((c >> 6) & 0x3f) | 0x80;
      buf[p++] = (c & 0x3f) | 0x80;
    }
  }
  const length = p - at;
  const header = headerBytes(length);
  if (header !== guess) buf.copyWithin(pos + header, at, p);
  if (header === 1) buf[pos] = 0xa0 | length;
  else if (header === 2) {
    buf[pos] = 0xd9;
    buf[pos + 1] = length;
  } else if (header === 3) {
    buf[pos] = 0xda;
    view.setUint16(pos + 1, length);
  } else {
    buf[pos] = 0xdb;
    view.setUint32(pos + 1, length);
  }
  pos += header + length;
}

const headerBytes = (length: number): number => (length < 0x20 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5);

function writeBytes(b: Uint8Array): void {
  const n = b.length;
  room(5 + n);
  sizedHeader(n, 0xc4);
  buf.set(b, pos);
  pos += n;
}

/** The 8-, 16- or 32-bit length form of bin (tag8 0xc4) or ext (0xc7): tag8, tag8 + 1, tag8 + 2. */
function sizedHeader(n: number, tag8: number): void {
  if (n < 0x100) {
    buf[pos++] = tag8;
    buf[pos++] = n;
  } else if (n < 0x10000) {
    buf[pos++] = tag8 + 1;
    view.setUint16(pos, n);
    pos += 2;
  } else {
    buf[pos++] = tag8 + 2;
    view.setUint32(pos, n);
    pos += 4;
  }
}

/** codec.ts's bigint extensions: the magnitude big-endian in as few bytes as it needs (at least one). */
function writeBigInt(v: bigint): void {
  const negative = v < 0n;
  const m = negative ? -v : v;
  // Most registers hold small values: below 2^48 the bytes come from a number, not bigint steps.
  const small = m < 0x1000000000000n ? Number(m) : -1;
  let n = 1;
  if (small >= 0) for (let rest = Math.floor(small / 256); rest > 0; rest = Math.floor(rest / 256)) n++;
  else for (let rest = m >> 8n; rest > 0n; rest >>= 8n) n++;
  room(6 + n);
  // msgpackr's extension header (writeExtensionData): fixext for 1, 2, 4, 8 and 16 bytes, else ext8/16/32.
  if (n === 1) buf[pos++] = 0xd4;
  else if (n === 2) buf[pos++] = 0xd5;
  else if (n === 4) buf[pos++] = 0xd6;
  else if (n === 8) buf[pos++] = 0xd7;
  else if (n === 16) buf[pos++] = 0xd8;
  else sizedHeader(n, 0xc7);
  buf[pos++] = negative ? EXT_BIGINT_NEGATIVE : EXT_BIGINT_POSITIVE;
  if (small >= 0) {
    let x = small;
    for (let i = n - 1; i >= 0; i--) {
      buf[pos + i] = x % 256;
      x = Math.floor(x / 256);
    }
  } else {
    let x = m;
    for (let i = n - 1; i >= 0; i--) {
      buf[pos + i] = Number(x & 0xffn);
      x >>= 8n;
    }
  }
  pos += n;
}

function writeArray(a: readonly unknown[]): void {
  arrayHeader(a.length);
  for (let i = 0; i < a.length; i++) write(a[i]);
}

function arrayHeader(n: number): void {
  room(5);
  if (n < 0x10) buf[pos++] = 0x90 | n;
  else if (n < 0x10000) {
    buf[pos++] = 0xdc;
    view.setUint16(pos, n);
    pos += 2;
  } else {
    buf[pos++] = 0xdd;
    view.setUint32(pos, n);
    pos += 4;
  }
}

function writeRecord(o: Record<string, unknown>): void {
  let list = root;
  for (const k in o) list = step(list, k);
  recordHeader(list, o, false);
  for (const k in o) write(o[k]);
}

/** The trie node after `list` for key `k`. */
function step(list: KeyList, k: string): KeyList {
  let next = list.next.get(k);
  if (next === undefined) {
    next = { next: new Map(), keys: null, id: 0, body: -1 };
    list.next.set(k, next);
    keyLists++;
  }
  return next;
}

/**
 * The record id of the key list ending at `list`, or its definition: `o`'s own keys, or with
 * `stored` those of a recorded event's stored form (`storedKeys`).
 */
function recordHeader(list: KeyList, o: object, stored: boolean): void {
  room(3);
  if (list.body === body) {
    buf[pos++] = list.id;
    return;
  }
  const id = RECORD_ID_FIRST + (definitions++ % RECORD_IDS);
  // The key list defined 64 definitions ago in this body loses its id (one from an earlier body
  // may since hold another id in this one).
  const previous = holders[id - RECORD_ID_FIRST];
  if (previous !== null && previous !== undefined && previous.body === body && previous.id === id) previous.body = -1;
  holders[id - RECORD_ID_FIRST] = list;
  list.id = id;
  list.body = body;
  buf[pos++] = 0xd4;
  buf[pos++] = EXT_RECORD_DEFINITION;
  buf[pos++] = id;
  writeArray((list.keys ??= stored ? storedKeys(o) : Object.keys(o)));
}

/** A recorded event's keys as a block stores it: without `seq`, and `t` last. */
function storedKeys(ev: object): string[] {
  const keys = Object.keys(ev).filter((k) => k !== "seq" && k !== "t");
  keys.push("t");
  return keys;
}

/** What `packBlock` wrote: the body, and the byte column its events' long byte fields went to. */
export interface PackedBlock {
  readonly packed: Uint8Array;
  /** (event index in the block, field, bytes) for each field moved out, in event and key order. */
  readonly column: unknown[];
}

/** A block body's keys, in order (its record is defined from this object's keys). */
const BLOCK_SHAPE = { first: 0, t0: 0, events: 0, outcomes: 0 };

/**
 * A block body `{ first, t0, events, outcomes }` with its events in their stored form, without
 * building that form: each event is written without `seq` and with `t` last, as the delta from the
 * event before (from `t0` for the first), and each of its byte fields of at least `columnMin`
 * bytes is written as its place in the returned column (byte-column.ts). The same bytes as packing
 * the stored copies; null where `packRecords` would be.
 */
export function packBlock(first: number, t0: number, events: readonly object[], outcomes: readonly unknown[], columnMin: number): PackedBlock | null {
  return inBody(() => {
    const column: unknown[] = [];
    let list = root;
    for (const k in BLOCK_SHAPE) list = step(list, k);
    recordHeader(list, BLOCK_SHAPE, false);
    writeNumber(first);
    writeNumber(t0);
    const n = events.length;
    arrayHeader(n);
    let prevT = t0;
    for (let i = 0; i < n; i++) {
      const ev = events[i] as Record<string, unknown>;
      const t = ev.t as number;
      writeStoredEvent(ev, t - prevT, i, column, columnMin);
      prevT = t;
    }
    write(outcomes);
    return { packed: buf.slice(0, pos), column };
  });
}

function writeStoredEvent(ev: Record<string, unknown>, dt: number, index: number, column: unknown[], columnMin: number): void {
  let list = root;
  for (const k in ev) if (k !== "seq" && k !== "t") list = step(list, k);
  list = step(list, "t");
  recordHeader(list, ev, true);
  for (const k in ev) {
    if (k === "seq" || k === "t") continue;
    const v = ev[k];
    if (v instanceof Uint8Array && v.length >= columnMin) {
      writeNumber(column.length / 3);
      column.push(index, k, v);
    } else write(v);
  }
  writeNumber(dt);
}
