import { SLOT_DISCARD, SLOT_ZR } from "../core.ts";

/**
 * Operand helpers shared by the instruction classes: register slots for generated code, and
 * operand text as objdump prints it. Register 31 means the zero register or the stack pointer
 * depending on the operand; the slot is chosen here, at decode time, so blocks never test for it.
 */

/** Slot of register r read as a general register (31 reads as zero). */
export const xr = (r: number): number => (r === 31 ? SLOT_ZR : 2 * r);
/** Slot of register r written as a general register (writes to 31 are discarded). */
export const xw = (r: number): number => (r === 31 ? SLOT_DISCARD : 2 * r);
/** Slot of register r where 31 is the current stack pointer (slot 62 is SP). */
export const xs = (r: number): number => 2 * r;

/** `x5`/`w5`/`xzr`/`wzr`. */
export const reg = (r: number, sf: number): string => (r === 31 ? (sf ? "xzr" : "wzr") : `${sf ? "x" : "w"}${r}`);
/** `x5`/`w5`/`sp`/`wsp`. */
export const regSp = (r: number, sf: number): string => (r === 31 ? (sf ? "sp" : "wsp") : `${sf ? "x" : "w"}${r}`);

/** An immediate as objdump prints it: `#0x1f`, and negative values as `#-8` only where the syntax is signed. */
export const imm = (v: number | bigint): string => `#0x${v.toString(16)}`;
export const simm = (v: number): string => `#${v}`;
/** An address operand (branch target, literal): hex without a prefix, as objdump prints it before `<symbol>`. */
export const addr = (v: number | bigint): string => BigInt.asUintN(64, BigInt(v)).toString(16);

export const CONDITIONS = ["eq", "ne", "cs", "cc", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al", "nv"] as const;

/** ConditionHolds(cond) (Arm ARM shared/functions/system) as a JS expression over the core's flags. */
export function condition(cond: number): string {
  const base = ["c.Z === 1", "c.C === 1", "c.N === 1", "c.V === 1", "(c.C === 1 && c.Z === 0)", "c.N === c.V", "(c.Z === 0 && c.N === c.V)", "true"][cond >> 1]!;
  // cond<0> inverts the result, except for 1111 (NV), which is "always" like AL.
  return (cond & 1) === 1 && cond !== 15 ? `!(${base})` : base;
}

export const SHIFTS = ["lsl", "lsr", "asr", "ror"] as const;
export const EXTENDS = ["uxtb", "uxth", "uxtw", "uxtx", "sxtb", "sxth", "sxtw", "sxtx"] as const;

/** Writes a 64-bit constant into slot pair d. */
export function setConst(d: number, v: bigint): string {
  const u = BigInt.asUintN(64, v);
  return `R[${d}] = ${Number(u & 0xffffffffn) | 0}; R[${d + 1}] = ${Number(u >> 32n) | 0};`;
}

/** The (lo, hi) int32 halves of a 64-bit value. */
export function halves(v: bigint): [number, number] {
  const u = BigInt.asUintN(64, v);
  return [Number(u & 0xffffffffn) | 0, Number(u >> 32n) | 0];
}
