/**
 * Little-endian byte building and parsing for RM payloads. The reader never throws on short input
 * (payloads are client-controlled): it latches `short` and returns zeros, and the caller answers
 * RM_ERROR_MSG_INVALID.
 * Fields move through abi/le.ts (byte by byte, no DataView).
 */
import { readU16le, readU32le, writeLe } from "../abi/le.ts";

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
    writeLe(this.buf, this.room(2), v & 0xffff, 2);
    return this;
  }
  u32(v: number): this {
    const at = this.room(4);
    writeLe(this.buf, at, v >>> 0, 4);
    return this;
  }
  /** Addresses and sizes are below 2^53 in this model; they travel as u64. */
  u64(v: number | bigint): this {
    const x = BigInt.asUintN(64, BigInt(v));
    const at = this.room(8);
    writeLe(this.buf, at, Number(x & 0xffff_ffffn), 4);
    writeLe(this.buf, at + 4, Number(x >> 32n), 4);
    return this;
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
  u8(): number {
    const at = this.take(1);
    return at < 0 ? 0 : this.b[at]!;
  }
  u16(): number {
    const at = this.take(2);
    return at < 0 ? 0 : readU16le(this.b, at);
  }
  u32(): number {
    const at = this.take(4);
    return at < 0 ? 0 : readU32le(this.b, at);
  }
  /** A u64 that must fit a safe integer: larger values are reported as -1 (an invalid address). */
  u64(): number {
    const at = this.take(8);
    if (at < 0) return 0;
    const high = readU32le(this.b, at + 4);
    return high > SAFE_HIGH_MAX ? -1 : high * TWO32 + readU32le(this.b, at);
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
