import { Packr, Unpackr, addExtension } from "msgpackr";
import { packRecords } from "./record-packer.ts";

/**
 * The one msgpack configuration hvsim uses. Options are pinned so that bytes stay stable:
 * - records (`useRecords`) shrink repeated object shapes; a fresh Packr per record body keeps each
 *   body self-contained (no structure table shared across blocks, so any block decodes alone and
 *   the bytes never depend on what was written before);
 * - no string bundling, no sequential-structure tricks: a damaged block cannot poison the next one.
 * - bigints (64-bit registers) travel as a compact extension (below), not as 9-byte int64s.
 */
const packOptions = {
  useRecords: true,
  int64AsType: "bigint" as const,
  bundleStrings: false,
  sequential: false,
  moreTypes: false,
  structuredClone: false,
  variableMapSize: true,
  largeBigIntToFloat: false,
};

/**
 * msgpack writes every bigint as 9 bytes; most register values are small. A bigint is therefore
 * wrapped (by `wrapBigInts`) and packed as extension 0x42 (non-negative) or 0x43 (negative) holding
 * the magnitude big-endian in as few bytes as it needs. Unpacking gives back a plain bigint.
 */
class PackedBigInt {
  constructor(readonly value: bigint) {}
}
const EXT_BIGINT_POSITIVE = 0x42;
const EXT_BIGINT_NEGATIVE = 0x43;

function magnitudeBytes(v: bigint): Buffer {
  let hex = v.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  return Buffer.from(hex, "hex");
}

function bytesToBigInt(b: Uint8Array): bigint {
  // Up to 6 bytes fit a safe integer: build it as a number and convert once (the common case).
  if (b.length <= 6) {
    let n = 0;
    for (let i = 0; i < b.length; i++) n = n * 256 + b[i]!;
    return BigInt(n);
  }
  if (b.length <= 8) {
    const padded = Buffer.alloc(8);
    padded.set(b, 8 - b.length);
    return padded.readBigUInt64BE(0);
  }
  return BigInt(`0x${Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex")}`);
}

addExtension({
  Class: PackedBigInt,
  type: EXT_BIGINT_POSITIVE,
  pack(w: PackedBigInt) {
    if (w.value < 0n) throw new Error("negative bigint packed as positive");
    return magnitudeBytes(w.value);
  },
  unpack: (b: Uint8Array) => bytesToBigInt(b),
});
// Negative values are rare (signed error codes widened to 64 bits are stored unsigned): a second
// class keeps the sign out of the payload.
class PackedNegativeBigInt extends PackedBigInt {}
addExtension({
  Class: PackedNegativeBigInt,
  type: EXT_BIGINT_NEGATIVE,
  pack: (w: PackedNegativeBigInt) => magnitudeBytes(-w.value),
  unpack: (b: Uint8Array) => -bytesToBigInt(b),
});

/**
 * Plain data with every bigint wrapped for the compact extension. Only the objects and arrays on
 * the way to a bigint are copied; a subtree without one is passed as it is (most of an event, and
 * most of a snapshot), so encoding allocates little. The input is never changed.
 */
function wrapBigInts(v: unknown): unknown {
  if (typeof v === "bigint") return v < 0n ? new PackedNegativeBigInt(v) : new PackedBigInt(v);
  if (typeof v !== "object" || v === null || v instanceof Uint8Array) return v;
  if (Array.isArray(v)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      const w = wrapBigInts(x);
      if (w !== x) (out ??= v.slice())[i] = w;
    }
    return out ?? v;
  }
  const o = v as Record<string, unknown>;
  let out: Record<string, unknown> | null = null;
  for (const k in o) {
    const x = o[k];
    const w = wrapBigInts(x);
    if (w !== x) (out ??= copyOf(o))[k] = w;
  }
  return out ?? v;
}

function copyOf(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in o) out[k] = o[k];
  return out;
}

/**
 * One packer for every body: with no shared structures, msgpackr forgets its record ids after each
 * `pack`, so each body still defines every record it uses (same bytes as a fresh Packr per body).
 */
const packer = new Packr(packOptions);
export function encodeBody(value: unknown): Uint8Array {
  return packRecords(value) ?? packWithMsgpackr(value);
}

/** msgpackr's bytes for `value`: what `packRecords` must equal, and what it falls back to. */
export function packWithMsgpackr(value: unknown): Uint8Array {
  return packer.pack(wrapBigInts(value));
}

export function decodeBody(bytes: Uint8Array): unknown {
  return new Unpackr(packOptions).unpack(bytes);
}
