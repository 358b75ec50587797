/**
 * 64-bit integer operations on 32-bit halves, named after the Arm ARM's shared pseudocode
 * (`AddWithCarry`, `DecodeBitMasks`, ...). Registers live in an Int32Array as (low, high) pairs:
 * BigInt arithmetic per instruction is several times slower in this Node, and doubles are exact only
 * to 53 bits. Arguments are int32 or uint32 halves as read from the register file; results are
 * written to the register pair at index `d` (low at d, high at d + 1).
 *
 * Generated block code calls these by name (see `blocks.ts`); V8 inlines them.
 */

/** The four condition flags, as 0/1 numbers (PSTATE.NZCV). */
export interface Flags {
  N: number;
  Z: number;
  C: number;
  V: number;
}

const TWO32 = 4294967296;

/** AddWithCarry(x, y, carry) on 64 bits, no flags. */
export function add64(R: Int32Array, d: number, al: number, ah: number, bl: number, bh: number, cin: number): void {
  const lo = (al >>> 0) + (bl >>> 0) + cin;
  R[d + 1] = (ah + bh + (lo >= TWO32 ? 1 : 0)) | 0;
  R[d] = lo | 0;
}

/** AddWithCarry(x, y, carry) on 64 bits, setting NZCV. */
export function adds64(f: Flags, R: Int32Array, d: number, al: number, ah: number, bl: number, bh: number, cin: number): void {
  const lo = (al >>> 0) + (bl >>> 0) + cin;
  const hs = (ah >>> 0) + (bh >>> 0) + (lo >= TWO32 ? 1 : 0);
  const rl = lo | 0;
  const rh = hs | 0;
  f.N = rh >>> 31;
  f.Z = (rl | rh) === 0 ? 1 : 0;
  f.C = hs >= TWO32 ? 1 : 0;
  f.V = ((ah ^ rh) & (bh ^ rh)) >>> 31;
  R[d] = rl;
  R[d + 1] = rh;
}

/** AddWithCarry(x, y, carry) on 32 bits (the upper half of the destination is zeroed), no flags. */
export function add32(R: Int32Array, d: number, a: number, b: number, cin: number): void {
  R[d] = ((a >>> 0) + (b >>> 0) + cin) | 0;
  R[d + 1] = 0;
}

/** AddWithCarry(x, y, carry) on 32 bits, setting NZCV. */
export function adds32(f: Flags, R: Int32Array, d: number, a: number, b: number, cin: number): void {
  const s = (a >>> 0) + (b >>> 0) + cin;
  const r = s | 0;
  f.N = r >>> 31;
  f.Z = r === 0 ? 1 : 0;
  f.C = s >= TWO32 ? 1 : 0;
  f.V = ((a ^ r) & (b ^ r)) >>> 31;
  R[d] = r;
  R[d + 1] = 0;
}

/** NZCV for a logical result (ANDS, BICS): N and Z from it, C and V cleared. */
export function logicFlags64(f: Flags, lo: number, hi: number): void {
  f.N = hi >>> 31;
  f.Z = (lo | hi) === 0 ? 1 : 0;
  f.C = 0;
  f.V = 0;
}

export function logicFlags32(f: Flags, lo: number): void {
  f.N = lo >>> 31;
  f.Z = lo === 0 ? 1 : 0;
  f.C = 0;
  f.V = 0;
}

/** The high 32 bits of the unsigned 64-bit product of two 32-bit values. */
export function umulhi32(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = ((a0 * b0) >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) >>> 0;
}

/** The high 32 bits of the signed 64-bit product of two 32-bit values. */
export function smulhi32(a: number, b: number): number {
  let hi = umulhi32(a >>> 0, b >>> 0);
  if (a < 0 || a > 0x7fffffff) hi -= b >>> 0;
  if (b < 0 || b > 0x7fffffff) hi -= a >>> 0;
  return hi | 0;
}

/** MADD/MSUB: Xd = Xa +/- Xn * Xm (low 64 bits). `neg` is 1 for MSUB. */
export function madd64(R: Int32Array, d: number, n: number, m: number, a: number, neg: number): void {
  const nl = R[n]!;
  const nh = R[n + 1]!;
  const ml = R[m]!;
  const mh = R[m + 1]!;
  let pl = Math.imul(nl, ml);
  let ph = (umulhi32(nl >>> 0, ml >>> 0) + Math.imul(nl, mh) + Math.imul(nh, ml)) | 0;
  if (neg !== 0) {
    // Two's complement of the product: ~p + 1.
    pl = ~pl;
    ph = ~ph;
    const lo = (pl >>> 0) + 1;
    ph = (ph + (lo >= TWO32 ? 1 : 0)) | 0;
    pl = lo | 0;
  }
  add64(R, d, R[a]!, R[a + 1]!, pl, ph, 0);
}

/** MADD/MSUB on 32 bits. */
export function madd32(R: Int32Array, d: number, n: number, m: number, a: number, neg: number): void {
  const p = Math.imul(R[n]!, R[m]!);
  R[d] = neg !== 0 ? (R[a]! - p) | 0 : (R[a]! + p) | 0;
  R[d + 1] = 0;
}

/** SMADDL/SMSUBL/UMADDL/UMSUBL: Xd = Xa +/- Wn * Wm (64-bit product of 32-bit operands). */
export function maddl(R: Int32Array, d: number, n: number, m: number, a: number, neg: number, signed: number): void {
  const x = R[n]!;
  const y = R[m]!;
  let pl = Math.imul(x, y);
  let ph = signed !== 0 ? smulhi32(x, y) : umulhi32(x >>> 0, y >>> 0) | 0;
  if (neg !== 0) {
    pl = ~pl;
    ph = ~ph;
    const lo = (pl >>> 0) + 1;
    ph = (ph + (lo >= TWO32 ? 1 : 0)) | 0;
    pl = lo | 0;
  }
  add64(R, d, R[a]!, R[a + 1]!, pl, ph, 0);
}

/** UMULH/SMULH: the high 64 bits of the 128-bit product of Xn and Xm. */
export function mulh64(R: Int32Array, d: number, n: number, m: number, signed: number): void {
  const al = R[n]! >>> 0;
  const ah = R[n + 1]! >>> 0;
  const bl = R[m]! >>> 0;
  const bh = R[m + 1]! >>> 0;
  // Four 32x32 partial products, summed by 32-bit columns (every sum stays far below 2^53).
  const p0h = umulhi32(al, bl);
  const p1l = Math.imul(al, bh) >>> 0;
  const p1h = umulhi32(al, bh);
  const p2l = Math.imul(ah, bl) >>> 0;
  const p2h = umulhi32(ah, bl);
  const p3l = Math.imul(ah, bh) >>> 0;
  const p3h = umulhi32(ah, bh);
  const w1 = p0h + p1l + p2l;
  const w2 = p1h + p2h + p3l + Math.floor(w1 / TWO32);
  let lo = w2 >>> 0;
  let hi = p3h + Math.floor(w2 / TWO32);
  if (signed !== 0) {
    // Signed high half = unsigned high half - (a < 0 ? b : 0) - (b < 0 ? a : 0), modulo 2^64.
    if (ah >= 0x80000000) {
      const s = lo - bl;
      hi = hi - bh - (s < 0 ? 1 : 0);
      lo = s >>> 0;
    }
    if (bh >= 0x80000000) {
      const s = lo - al;
      hi = hi - ah - (s < 0 ? 1 : 0);
      lo = s >>> 0;
    }
  }
  R[d] = lo | 0;
  R[d + 1] = hi | 0;
}

const TWO52 = 4503599627370496;

/** UDIV/SDIV on 64 bits (division by zero gives zero; INT64_MIN / -1 wraps, as the architecture says). */
export function div64(R: Int32Array, d: number, n: number, m: number, signed: number): void {
  const nl = R[n]!;
  const nh = R[n + 1]!;
  const ml = R[m]!;
  const mh = R[m + 1]!;
  if ((ml | mh) === 0) {
    R[d] = 0;
    R[d + 1] = 0;
    return;
  }
  if (signed === 0 && nh === 0 && mh === 0) {
    R[d] = Math.floor((nl >>> 0) / (ml >>> 0)) | 0;
    R[d + 1] = 0;
    return;
  }
  // Doubles divide exactly below 2^52 (the quotient's fraction is coarser than its rounding error).
  const a = signed !== 0 ? nh * TWO32 + (nl >>> 0) : (nh >>> 0) * TWO32 + (nl >>> 0);
  const b = signed !== 0 ? mh * TWO32 + (ml >>> 0) : (mh >>> 0) * TWO32 + (ml >>> 0);
  if (Math.abs(a) < TWO52 && Math.abs(b) < TWO52) {
    const q = Math.trunc(a / b);
    R[d] = q | 0;
    R[d + 1] = Math.floor(q / TWO32) | 0;
    return;
  }
  const x = signed !== 0 ? (BigInt(nh) << 32n) | BigInt(nl >>> 0) : (BigInt(nh >>> 0) << 32n) | BigInt(nl >>> 0);
  const y = signed !== 0 ? (BigInt(mh) << 32n) | BigInt(ml >>> 0) : (BigInt(mh >>> 0) << 32n) | BigInt(ml >>> 0);
  const q = BigInt.asUintN(64, x / y);
  R[d] = Number(q & 0xffffffffn) | 0;
  R[d + 1] = Number(q >> 32n) | 0;
}

/** UDIV/SDIV on 32 bits. */
export function div32(R: Int32Array, d: number, n: number, m: number, signed: number): void {
  const x = R[n]!;
  const y = R[m]!;
  R[d + 1] = 0;
  if (y === 0) {
    R[d] = 0;
  } else if (signed !== 0) {
    R[d] = Math.trunc(x / y) | 0; // INT32_MIN / -1 = 2^31, which | 0 wraps back to INT32_MIN
  } else {
    R[d] = Math.floor((x >>> 0) / (y >>> 0)) | 0;
  }
}

/** LSLV/LSRV/ASRV/RORV and the shifted-register operands: shift (lo, hi) by s (0..63). Type 0 LSL, 1 LSR, 2 ASR, 3 ROR. */
export function shift64(R: Int32Array, d: number, lo: number, hi: number, type: number, s: number): void {
  if (s === 0) {
    R[d] = lo;
    R[d + 1] = hi;
    return;
  }
  let rl: number;
  let rh: number;
  if (type === 0) {
    if (s < 32) {
      rh = (hi << s) | (lo >>> (32 - s));
      rl = lo << s;
    } else {
      rh = lo << (s - 32);
      rl = 0;
    }
  } else if (type === 3) {
    if (s < 32) {
      rl = (lo >>> s) | (hi << (32 - s));
      rh = (hi >>> s) | (lo << (32 - s));
    } else if (s === 32) {
      rl = hi;
      rh = lo;
    } else {
      const t = s - 32;
      rl = (hi >>> t) | (lo << (32 - t));
      rh = (lo >>> t) | (hi << (32 - t));
    }
  } else if (s < 32) {
    rl = (lo >>> s) | (hi << (32 - s));
    rh = type === 2 ? hi >> s : hi >>> s;
  } else {
    rl = type === 2 ? hi >> (s - 32) : hi >>> (s - 32);
    rh = type === 2 ? hi >> 31 : 0;
  }
  R[d] = rl | 0;
  R[d + 1] = rh | 0;
}

/** 32-bit shifts by s (0..31), upper half zeroed. */
export function shift32(R: Int32Array, d: number, v: number, type: number, s: number): void {
  let r: number;
  if (s === 0) r = v;
  else if (type === 0) r = v << s;
  else if (type === 1) r = v >>> s;
  else if (type === 2) r = v >> s;
  else r = (v >>> s) | (v << (32 - s));
  R[d] = r | 0;
  R[d + 1] = 0;
}

/** CLS on 32 bits: leading bits equal to the sign bit, not counting the sign bit itself. */
export function cls32(v: number): number {
  return Math.clz32((v ^ (v >> 31)) << 1 | 1);
}

export function clz64(lo: number, hi: number): number {
  return hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
}

export function cls64(lo: number, hi: number): number {
  const s = hi >> 31;
  const xh = hi ^ s;
  const xl = lo ^ s;
  // Count leading zeros of (x << 1) over 64 bits, minus nothing: the sign bit itself is shifted out.
  const h = (xh << 1) | (xl >>> 31);
  const l = xl << 1;
  return h !== 0 ? Math.clz32(h) : l !== 0 ? 32 + Math.clz32(l) : 63;
}

export function rbit32(v: number): number {
  v = ((v >>> 1) & 0x55555555) | ((v & 0x55555555) << 1);
  v = ((v >>> 2) & 0x33333333) | ((v & 0x33333333) << 2);
  v = ((v >>> 4) & 0x0f0f0f0f) | ((v & 0x0f0f0f0f) << 4);
  v = ((v >>> 8) & 0x00ff00ff) | ((v & 0x00ff00ff) << 8);
  return ((v >>> 16) | (v << 16)) | 0;
}

export function rev32(v: number): number {
  return ((v >>> 24) | ((v >>> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24)) | 0;
}

export function rev16(v: number): number {
  return (((v >>> 8) & 0x00ff00ff) | ((v & 0x00ff00ff) << 8)) | 0;
}

/** CRC-32 (polynomial 0x04C11DB7, reflected: 0xEDB88320) or CRC-32C (0x1EDC6F41, reflected 0x82F63B78) of `bytes` bytes of (lo, hi). */
export function crc32(acc: number, lo: number, hi: number, bytes: number, castagnoli: number): number {
  const poly = castagnoli !== 0 ? 0x82f63b78 : 0xedb88320;
  let crc = acc >>> 0;
  for (let i = 0; i < bytes; i++) {
    const byte = i < 4 ? (lo >>> (8 * i)) & 0xff : (hi >>> (8 * (i - 4))) & 0xff;
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ poly : crc >>> 1;
  }
  return crc | 0;
}

/**
 * DecodeBitMasks(N, imms, immr, immediate) (Arm ARM shared/functions/bitmasks): the (wmask, tmask)
 * pair used by logical immediates and the bitfield instructions, as 64-bit values; null when the
 * combination is reserved.
 */
export function decodeBitMasks(
  n: number,
  imms: number,
  immr: number,
  immediate: boolean,
  datasize: 32 | 64,
): { wmask: bigint; tmask: bigint } | null {
  const combined = (n << 6) | (~imms & 0x3f);
  if (combined === 0) return null;
  const len = 31 - Math.clz32(combined);
  if (len < 1) return null;
  const levels = (1 << len) - 1;
  if (immediate && (imms & levels) === levels) return null;
  const s = imms & levels;
  const r = immr & levels;
  const diff = (s - r) & levels;
  const esize = 1 << len;
  if (esize > datasize) return null;
  const d = diff & levels;
  const ones = (k: number): bigint => (1n << BigInt(k)) - 1n;
  const welem = ones(s + 1);
  const telem = ones(d + 1);
  const ror = (x: bigint, sh: number): bigint => {
    if (sh === 0) return x;
    const m = ones(esize);
    return ((x >> BigInt(sh)) | (x << BigInt(esize - sh))) & m;
  };
  const replicate = (x: bigint): bigint => {
    let out = 0n;
    for (let i = 0; i < datasize; i += esize) out |= x << BigInt(i);
    return out;
  };
  return { wmask: replicate(ror(welem, r)), tmask: replicate(telem) };
}

/** ROR of the 64-bit value (lo, hi) by r (0..63), into `out` as [lo, hi]. */
function ror64(lo: number, hi: number, r: number, out: Int32Array): void {
  if (r === 0) {
    out[0] = lo;
    out[1] = hi;
  } else if (r < 32) {
    out[0] = (lo >>> r) | (hi << (32 - r));
    out[1] = (hi >>> r) | (lo << (32 - r));
  } else if (r === 32) {
    out[0] = hi;
    out[1] = lo;
  } else {
    const t = r - 32;
    out[0] = (hi >>> t) | (lo << (32 - t));
    out[1] = (lo >>> t) | (hi << (32 - t));
  }
}

const rot = new Int32Array(2);

/**
 * SBFM (kind 0), BFM (kind 1), UBFM (kind 2) on 64 bits (Arm ARM C6.2.29 BFM's pseudocode): the
 * source rotated right by r, merged under wmask into the destination (zero for SBFM/UBFM), then
 * the bits above the field taken from the sign bit s (SBFM) or the destination (BFM) under tmask.
 * `dr` is the destination read slot (XZR reads zero), `dw` the write slot.
 */
export function bfm64(R: Int32Array, dr: number, dw: number, n: number, r: number, wl: number, wh: number, tl: number, th: number, s: number, kind: number): void {
  const sl = R[n]!;
  const sh = R[n + 1]!;
  ror64(sl, sh, r, rot);
  const dl = kind === 1 ? R[dr]! : 0;
  const dh = kind === 1 ? R[dr + 1]! : 0;
  const bl = (dl & ~wl) | (rot[0]! & wl);
  const bh = (dh & ~wh) | (rot[1]! & wh);
  let topl = dl;
  let toph = dh;
  if (kind === 0) {
    topl = -(s < 32 ? (sl >>> s) & 1 : (sh >>> (s - 32)) & 1);
    toph = topl;
  }
  R[dw] = (topl & ~tl) | (bl & tl);
  R[dw + 1] = (toph & ~th) | (bh & th);
}

/** SBFM/BFM/UBFM on 32 bits; the upper half of the destination is zeroed. */
export function bfm32(R: Int32Array, dr: number, dw: number, n: number, r: number, w: number, t: number, s: number, kind: number): void {
  const src = R[n]!;
  const rotated = r === 0 ? src : (src >>> r) | (src << (32 - r));
  const dst = kind === 1 ? R[dr]! : 0;
  const bot = (dst & ~w) | (rotated & w);
  const top = kind === 0 ? -((src >>> s) & 1) : dst;
  R[dw] = (top & ~t) | (bot & t);
  R[dw + 1] = 0;
}
