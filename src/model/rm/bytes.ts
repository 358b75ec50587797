/**
 * Little-endian byte building and parsing for RM payloads. The reader never throws on short input
 * (payloads are client-controlled): it latches `short` and returns zeros, and the caller answers
 * RM_ERROR_MSG_INVALID.
 */
export class ByteWriter {
  private buf = new Uint8Array(64);
  private n = 0;
  private room(k: number): DataView {
    if (this.n + k > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.n + k));
      next.set(this.buf.subarray(0, this.n));
      this.buf = next;
    }
    return new DataView(this.buf.buffer);
  }
  u8(v: number): this {
    this.room(1).setUint8(this.n, v & 0xff);
    this.n += 1;
    return this;
  }
  u16(v: number): this {
    this.room(2).setUint16(this.n, v & 0xffff, true);
    this.n += 2;
    return this;
  }
  u32(v: number): this {
    this.room(4).setUint32(this.n, v >>> 0, true);
    this.n += 4;
    return this;
  }
  /** Addresses and sizes are below 2^53 in this model; they travel as u64. */
  u64(v: number | bigint): this {
    this.room(8).setBigUint64(this.n, BigInt.asUintN(64, BigInt(v)), true);
    this.n += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.n);
    this.n += b.length;
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
  private readonly view: DataView;
  constructor(private readonly b: Uint8Array) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  private take(k: number): number {
    if (this.short || this.off + k > this.b.length) {
      this.short = true;
      return -1;
    }
    const at = this.off;
    this.off += k;
    return at;
  }
  u8(): number {
    const at = this.take(1);
    return at < 0 ? 0 : this.view.getUint8(at);
  }
  u16(): number {
    const at = this.take(2);
    return at < 0 ? 0 : this.view.getUint16(at, true);
  }
  u32(): number {
    const at = this.take(4);
    return at < 0 ? 0 : this.view.getUint32(at, true);
  }
  /** A u64 that must fit a safe integer: larger values are reported as -1 (an invalid address). */
  u64(): number {
    const at = this.take(8);
    if (at < 0) return 0;
    const v = this.view.getBigUint64(at, true);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(v);
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
