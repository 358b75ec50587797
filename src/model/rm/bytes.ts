/**
 * Little-endian byte building and parsing for RM payloads. The reader never throws on short input
 * (payloads are client-controlled): it latches `short` and returns zeros, and the caller answers
 * RM_ERROR_MSG_INVALID.
 *
 * Both move bytes with shifts rather than through a DataView: a view needs the array's
 * ArrayBuffer, and asking a small (on-heap) typed array for it makes V8 move the bytes off-heap,
 * which costs more than the whole message (several writers and readers run per RM request).
 */
const TWO32 = 0x1_0000_0000;
/** The largest high word of a u64 that is still a safe integer (2^53 - 1 = 0x1FFFFF_FFFFFFFF). */
const SAFE_HIGH_MAX = 0x1f_ffff;

export class ByteWriter {
  private buf = new Uint8Array(64);
  private n = 0;
  /** Makes room for `k` more bytes; returns where they go. */
  private room(k: number): number {
    if (this.n + k > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.n + k));
      next.set(this.buf.subarray(0, this.n));
      this.buf = next;
    }
    const at = this.n;
    this.n += k;
    return at;
  }
  u8(v: number): this {
    const at = this.room(1);
    this.buf[at] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    const at = this.room(2);
    this.buf[at] = v & 0xff;
    this.buf[at + 1] = (v >>> 8) & 0xff;
    return this;
  }
  u32(v: number): this {
    const at = this.room(4);
    this.put32(at, v >>> 0);
    return this;
  }
  /** Addresses and sizes are below 2^53 in this model; they travel as u64. */
  u64(v: number | bigint): this {
    const x = BigInt.asUintN(64, BigInt(v));
    const at = this.room(8);
    this.put32(at, Number(x & 0xffff_ffffn));
    this.put32(at + 4, Number(x >> 32n));
    return this;
  }
  private put32(at: number, v: number): void {
    this.buf[at] = v & 0xff;
    this.buf[at + 1] = (v >>> 8) & 0xff;
    this.buf[at + 2] = (v >>> 16) & 0xff;
    this.buf[at + 3] = v >>> 24;
  }
  bytes(b: Uint8Array): this {
    const at = this.room(b.length);
    this.buf.set(b, at);
    return this;
  }
  /** Pads with zeros to a 4-byte boundary (lists and strings in RM payloads, §1.6). */
  align4(): this {
    while (this.n % 4 !== 0) this.u8(0);
    return this;
  }
  /** A list: u16 count, u16 `reserved` (some lists carry a field there), entries, padding to 4. */
  list<T>(items: readonly T[], entry: (w: ByteWriter, item: T) => void, reserved = 0): this {
    this.u16(items.length).u16(reserved);
    for (const it of items) entry(this, it);
    return this.align4();
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.n);
  }
}

export class ByteReader {
  private off = 0;
  /** Set once a read ran past the end; every later read returns 0. */
  short = false;
  constructor(private readonly b: Uint8Array) {}
  private take(k: number): number {
    if (this.short || this.off + k > this.b.length) {
      this.short = true;
      return -1;
    }
    const at = this.off;
    this.off += k;
    return at;
  }
  private get32(at: number): number {
    const b = this.b;
    return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
  }
  u8(): number {
    const at = this.take(1);
    return at < 0 ? 0 : this.b[at]!;
  }
  u16(): number {
    const at = this.take(2);
    return at < 0 ? 0 : this.b[at]! | (this.b[at + 1]! << 8);
  }
  u32(): number {
    const at = this.take(4);
    return at < 0 ? 0 : this.get32(at);
  }
  /** A u64 that must fit a safe integer: larger values are reported as -1 (an invalid address). */
  u64(): number {
    const at = this.take(8);
    if (at < 0) return 0;
    const high = this.get32(at + 4);
    return high > SAFE_HIGH_MAX ? -1 : high * TWO32 + this.get32(at);
  }
  bytes(k: number): Uint8Array {
    const at = this.take(k);
    return at < 0 ? new Uint8Array(0) : this.b.slice(at, at + k);
  }
  align4(): void {
    while (this.off % 4 !== 0 && !this.short) this.take(1);
  }
  /** A list as `ByteWriter.list` writes it; `max` bounds the count (client-controlled). */
  list<T>(entry: (r: ByteReader) => T, max: number): { items: T[]; reserved: number; tooMany: boolean } {
    const count = this.u16();
    const reserved = this.u16();
    if (count > max) return { items: [], reserved, tooMany: true };
    const items: T[] = [];
    for (let i = 0; i < count && !this.short; i++) items.push(entry(this));
    this.align4();
    return { items, reserved, tooMany: false };
  }
  get remaining(): number {
    return this.b.length - this.off;
  }
}
