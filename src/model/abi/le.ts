/**
 * Little-endian fields in byte arrays, as Gunyah's RM messages and virtio rings lay them out.
 * Read and written byte by byte on purpose: a DataView over a small Uint8Array makes V8 move its
 * bytes off-heap (about half a microsecond each), and these run for every RM packet and ring access.
 */
export const readU16le = (b: Uint8Array, at: number): number => b[at]! | (b[at + 1]! << 8);
export const readU32le = (b: Uint8Array, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
/** A u64 field as a number: exact below 2^53 (the model's addresses and sizes). */
export const readU64le = (b: Uint8Array, at: number): number => readU32le(b, at) + readU32le(b, at + 4) * 2 ** 32;

/** Writes the low `n` (at most 4) bytes of `v`, a non-negative integer below 2^32, at `b[at]`; returns `b`. */
export function writeLe(b: Uint8Array, at: number, v: number, n: 1 | 2 | 4): Uint8Array {
  for (let i = 0; i < n; i++) b[at + i] = v >>> (8 * i);
  return b;
}
