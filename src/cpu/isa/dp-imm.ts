import { decodeBitMasks } from "../alu.ts";
import type { InsnClass } from "../decode.ts";
import { addr, halves, imm, reg, regSp, setConst, xr, xs, xw } from "./operands.ts";

/** Data processing, immediate (Arm ARM C4.1.86): PC-relative addressing, add/sub, logical, move wide, bitfield, extract. */

const TWO64 = 1n << 64n;

const pcRel: InsnClass = {
  name: "PC-rel. addressing",
  pattern: "op:1 immlo:2 10000 immhi:19 rd:5",
  emit(f, e) {
    return setConst(xw(f.rd!), target(f, e.pc));
  },
  text(f, pc) {
    return `${f.op ? "adrp" : "adr"}\t${reg(f.rd!, 1)}, ${addr(target(f, pc))}`;
  },
};

function target(f: Record<string, number>, pc: number): bigint {
  const offset = BigInt(((f.immhi! << 2) | f.immlo!) << 11 >> 11);
  if (f.op === 0) return (BigInt(pc) + offset + TWO64) % TWO64;
  return ((BigInt(pc) & ~0xfffn) + (offset << 12n) + TWO64) % TWO64;
}

const addSubImm: InsnClass = {
  name: "Add/subtract (immediate)",
  pattern: "sf:1 op:1 S:1 100010 sh:1 imm12:12 rn:5 rd:5",
  emit(f) {
    const value = f.imm12! << (12 * f.sh!);
    const n = xs(f.rn!);
    const d = f.S ? xw(f.rd!) : xs(f.rd!);
    // SUB is AddWithCarry(x, NOT(imm), 1).
    const [bl, bh, cin] = f.op ? [~value, -1, 1] : [value, 0, 0];
    if (f.sf) return f.S ? `adds64(c, R, ${d}, R[${n}], R[${n + 1}], ${bl}, ${bh}, ${cin});` : `add64(R, ${d}, R[${n}], R[${n + 1}], ${bl}, ${bh}, ${cin});`;
    return f.S ? `adds32(c, R, ${d}, R[${n}], ${bl}, ${cin});` : `add32(R, ${d}, R[${n}], ${bl}, ${cin});`;
  },
  text(f) {
    const shift = f.sh ? ", lsl #12" : "";
    const sf = f.sf!;
    if (!f.op && !f.S && f.sh === 0 && f.imm12 === 0 && (f.rd === 31 || f.rn === 31)) return `mov\t${regSp(f.rd!, sf)}, ${regSp(f.rn!, sf)}`;
    if (f.S && f.rd === 31) return `${f.op ? "cmp" : "cmn"}\t${regSp(f.rn!, sf)}, ${imm(f.imm12!)}${shift}`;
    const rd = f.S ? reg(f.rd!, sf) : regSp(f.rd!, sf);
    return `${f.op ? "sub" : "add"}${f.S ? "s" : ""}\t${rd}, ${regSp(f.rn!, sf)}, ${imm(f.imm12!)}${shift}`;
  },
};

/**
 * Whether a bitmask immediate could be written by one MOVZ or MOVN (binutils' test for the MOV
 * alias of ORR: the value, or its inverse, has at most one non-zero 16-bit halfword).
 */
function wideConstant(value: bigint, sf: number): boolean {
  const width = sf ? 64 : 32;
  const fits = (v: bigint): boolean => {
    let nonzero = 0;
    for (let h = 0; h < width; h += 16) if (((v >> BigInt(h)) & 0xffffn) !== 0n) nonzero += 1;
    return nonzero <= 1;
  };
  return fits(value) || fits(BigInt.asUintN(width, ~value));
}

const LOGICAL = ["and", "orr", "eor", "ands"] as const;
const LOGICAL_OPS = ["&", "|", "^", "&"] as const;

function bitmaskValue(f: Record<string, number>): bigint | null {
  if (f.sf === 0 && f.N === 1) return null;
  const m = decodeBitMasks(f.N!, f.imms!, f.immr!, true, f.sf ? 64 : 32);
  return m === null ? null : m.wmask;
}

const logicalImm: InsnClass = {
  name: "Logical (immediate)",
  pattern: "sf:1 opc:2 100100 N:1 immr:6 imms:6 rn:5 rd:5",
  emit(f) {
    const value = bitmaskValue(f);
    if (value === null) return null;
    const [lo, hi] = halves(value);
    const n = xr(f.rn!);
    // AND/ORR/EOR may write SP; ANDS writes XZR when rd is 31.
    const d = f.opc === 3 ? xw(f.rd!) : xs(f.rd!);
    const op = LOGICAL_OPS[f.opc!]!;
    const flags = f.opc === 3 ? (f.sf ? `logicFlags64(c, R[${d}], R[${d + 1}]);` : `logicFlags32(c, R[${d}]);`) : "";
    if (f.sf) return `{ const l = R[${n}] ${op} ${lo}, h = R[${n + 1}] ${op} ${hi}; R[${d}] = l; R[${d + 1}] = h; } ${flags}`;
    return `R[${d}] = R[${n}] ${op} ${lo}; R[${d + 1}] = 0; ${flags}`;
  },
  text(f) {
    const value = bitmaskValue(f);
    if (value === null) return null;
    const sf = f.sf!;
    if (f.opc === 3 && f.rd === 31) return `tst\t${reg(f.rn!, sf)}, ${imm(value)}`;
    if (f.opc === 1 && f.rn === 31 && !wideConstant(value, sf)) return `mov\t${regSp(f.rd!, sf)}, ${imm(value)}`;
    const rd = f.opc === 3 ? reg(f.rd!, sf) : regSp(f.rd!, sf);
    return `${LOGICAL[f.opc!]}\t${rd}, ${reg(f.rn!, sf)}, ${imm(value)}`;
  },
};

const moveWide: InsnClass = {
  name: "Move wide (immediate)",
  pattern: "sf:1 opc:2 100101 hw:2 imm16:16 rd:5",
  emit(f) {
    if (f.opc === 1 || (f.sf === 0 && f.hw! >= 2)) return null;
    const d = xw(f.rd!);
    const shift = 16 * f.hw!;
    if (f.opc === 3) {
      // MOVK keeps the other bits of the destination.
      const word = d + (f.hw! >> 1);
      const lowHalf = (f.hw! & 1) === 0;
      const keep = lowHalf ? "0xffff0000" : "0xffff";
      const put = lowHalf ? f.imm16! : (f.imm16! << 16) | 0;
      return `R[${word}] = (R[${word}] & ${keep}) | ${put};${f.sf ? "" : ` R[${d + 1}] = 0;`}`;
    }
    let v = BigInt(f.imm16!) << BigInt(shift);
    if (f.opc === 0) v = ~v;
    if (!f.sf) v = BigInt.asUintN(32, v);
    return setConst(d, v);
  },
  text(f) {
    if (f.opc === 1 || (f.sf === 0 && f.hw! >= 2)) return null;
    const sf = f.sf!;
    const shift = 16 * f.hw!;
    const rd = reg(f.rd!, sf);
    const lsl = f.hw ? `, lsl #${shift}` : "";
    if (f.opc === 3) return `movk\t${rd}, ${imm(f.imm16!)}${lsl}`;
    const isZero = f.imm16 === 0 && f.hw !== 0;
    if (f.opc === 2) return isZero ? `movz\t${rd}, ${imm(0)}${lsl}` : `mov\t${rd}, ${imm(BigInt(f.imm16!) << BigInt(shift))}`;
    // MOVN reads as MOV of the inverted value, except where MOVZ would say the same thing.
    if (isZero || (sf === 0 && f.imm16 === 0xffff)) return `movn\t${rd}, ${imm(f.imm16!)}${lsl}`;
    const width = sf ? 64 : 32;
    return `mov\t${rd}, ${imm(BigInt.asUintN(width, ~(BigInt(f.imm16!) << BigInt(shift))))}`;
  },
};

const BITFIELD_KIND = ["sbfm", "bfm", "ubfm"] as const;

function bitfieldMasks(f: Record<string, number>): { wmask: bigint; tmask: bigint } | null {
  if (f.opc === 3) return null;
  if (f.sf === 1 && f.N !== 1) return null;
  if (f.sf === 0 && (f.N !== 0 || f.immr! >= 32 || f.imms! >= 32)) return null;
  return decodeBitMasks(f.N!, f.imms!, f.immr!, false, f.sf ? 64 : 32);
}

/** BFXPreferred (Arm ARM shared/functions): whether UBFM/SBFM reads as UBFX/SBFX. */
function bfxPreferred(sf: number, uns: number, imms: number, immr: number): boolean {
  if (imms < immr) return false;
  if (imms === (sf ? 63 : 31)) return false;
  if (immr === 0) {
    if (sf === 0 && (imms === 7 || imms === 15)) return false;
    if (sf === 1 && uns === 0 && (imms === 7 || imms === 15 || imms === 31)) return false;
  }
  return true;
}

const bitfield: InsnClass = {
  name: "Bitfield",
  pattern: "sf:1 opc:2 100110 N:1 immr:6 imms:6 rn:5 rd:5",
  emit(f) {
    const m = bitfieldMasks(f);
    if (m === null) return null;
    const args = `R, ${xr(f.rd!)}, ${xw(f.rd!)}, ${xr(f.rn!)}, ${f.immr}`;
    if (f.sf) {
      const [wl, wh] = halves(m.wmask);
      const [tl, th] = halves(m.tmask);
      return `bfm64(${args}, ${wl}, ${wh}, ${tl}, ${th}, ${f.imms}, ${f.opc});`;
    }
    return `bfm32(${args}, ${halves(m.wmask)[0]}, ${halves(m.tmask)[0]}, ${f.imms}, ${f.opc});`;
  },
  text(f) {
    if (bitfieldMasks(f) === null) return null;
    const sf = f.sf!;
    const width = sf ? 64 : 32;
    const { immr, imms } = f as { immr: number; imms: number };
    const rd = reg(f.rd!, sf);
    const rn = reg(f.rn!, sf);
    const ops = (a: number, b: number): string => `${rd}, ${rn}, #${a}, #${b}`;
    if (f.opc === 1) {
      if (imms < immr) return f.rn === 31 ? `bfc\t${rd}, #${width - immr}, #${imms + 1}` : `bfi\t${ops(width - immr, imms + 1)}`;
      return `bfxil\t${ops(immr, imms - immr + 1)}`;
    }
    const u = f.opc === 2 ? "u" : "s";
    if (imms === width - 1) return `${f.opc === 2 ? "lsr" : "asr"}\t${rd}, ${rn}, #${immr}`;
    if (f.opc === 2 && imms + 1 === immr) return `lsl\t${rd}, ${rn}, #${width - 1 - imms}`;
    if (imms < immr) return `${u}bfiz\t${ops(width - immr, imms + 1)}`;
    if (bfxPreferred(sf, f.opc === 2 ? 1 : 0, imms, immr)) return `${u}bfx\t${ops(immr, imms - immr + 1)}`;
    const ext = imms === 7 ? "b" : imms === 15 ? "h" : "w";
    return `${u}xt${ext}\t${rd}, ${reg(f.rn!, 0)}`;
  },
};

const extract: InsnClass = {
  name: "Extract",
  pattern: "sf:1 00 100111 N:1 0 rm:5 imms:6 rn:5 rd:5",
  emit(f) {
    if (f.sf !== f.N || (f.sf === 0 && f.imms! >= 32)) return null;
    const d = xw(f.rd!);
    const n = xr(f.rn!);
    const m = xr(f.rm!);
    const s = f.imms!;
    if (!f.sf) return `R[${d}] = ${s === 0 ? `R[${m}]` : `(R[${m}] >>> ${s}) | (R[${n}] << ${32 - s})`}; R[${d + 1}] = 0;`;
    // (Xn:Xm) >> lsb, low 64 bits, on halves: words m.lo, m.hi, n.lo, n.hi.
    const words = [`R[${m}]`, `R[${m + 1}]`, `R[${n}]`, `R[${n + 1}]`];
    const w = s >> 5;
    const b = s & 31;
    const part = (k: number): string => (b === 0 ? words[w + k]! : `(${words[w + k]} >>> ${b}) | (${words[w + k + 1] ?? "0"} << ${32 - b})`);
    return `{ const l = ${part(0)}, h = ${part(1)}; R[${d}] = l; R[${d + 1}] = h; }`;
  },
  text(f) {
    if (f.sf !== f.N || (f.sf === 0 && f.imms! >= 32)) return null;
    const sf = f.sf!;
    if (f.rn === f.rm) return `ror\t${reg(f.rd!, sf)}, ${reg(f.rn!, sf)}, #${f.imms}`;
    return `extr\t${reg(f.rd!, sf)}, ${reg(f.rn!, sf)}, ${reg(f.rm!, sf)}, #${f.imms}`;
  },
};

export const DATA_PROCESSING_IMMEDIATE: readonly InsnClass[] = [pcRel, addSubImm, logicalImm, moveWide, bitfield, extract];
export { BITFIELD_KIND };
