import type { EmitContext, Fields, InsnClass } from "../decode.ts";
import { ACC_ALIGN, SLOT_TMP, SLOT_TMP2 } from "../core.ts";
import { extended } from "./dp-reg.ts";
import { addr, halves, imm, reg, regSp, xr, xs, xw } from "./operands.ts";

/** Loads and stores (Arm ARM C4.1.66): every integer addressing mode of ARMv8.0. FP/SIMD forms are UNDEFINED (no FP here). */

/**
 * ISS of a data abort for a single-register access (ESR_ELx ISS for EC 0x24/0x25): ISV, SAS
 * (log2 size), SSE, SRT, SF, AR. WnR is added when a store faults. Forms with writeback, pairs and
 * exclusives report ISV = 0: a hypervisor cannot emulate them from the syndrome alone.
 */
function iss(size: number, signExtend: boolean, rt: number, sf64: boolean, acquireRelease: boolean): number {
  return (1 << 24) | (Math.log2(size) << 22) | ((signExtend ? 1 : 0) << 21) | (rt << 16) | ((sf64 ? 1 : 0) << 15) | ((acquireRelease ? 1 : 0) << 14);
}

/** How a loaded value of `size` bytes lands in slot pair t: zero-extended, or sign-extended to 32 or 64 bits. */
function loadResult(t: number, size: number, ext: "zero" | "s32" | "s64"): string {
  if (size === 8) return `R[${t}] = c.lo; R[${t + 1}] = c.hi;`;
  if (ext === "zero") return `R[${t}] = c.lo; R[${t + 1}] = 0;`;
  const v = size === 4 ? "c.lo" : `(c.lo << ${32 - 8 * size}) >> ${32 - 8 * size}`;
  return ext === "s32" ? `R[${t}] = ${v}; R[${t + 1}] = 0;` : `{ const v = ${v}; R[${t}] = v; R[${t + 1}] = v >> 31; }`;
}

/** Base register rn + constant offset into TMP; returns [code, address slot]. Offset 0 uses the base itself. */
function baseOffset(rn: number, offset: number): [string, number] {
  const b = xs(rn);
  if (offset === 0) return ["", b];
  const [lo, hi] = halves(BigInt(offset));
  return [`add64(R, ${SLOT_TMP}, R[${b}], R[${b + 1}], ${lo}, ${hi}, 0);`, SLOT_TMP];
}

const spCheck = (rn: number, e: EmitContext): string => (rn === 31 ? `if (c.spMisaligned(${e.pc})) ${e.fail} ` : "");

/** Size, load/store and extension of the integer single-register forms (size:opc), or null when unallocated/FP. */
interface SingleForm {
  readonly size: number;
  readonly load: boolean;
  readonly ext: "zero" | "s32" | "s64";
  /** Register width of Rt (for the syndrome and the text). */
  readonly sf: number;
  readonly prefetch: boolean;
}

function singleForm(size: number, opc: number): SingleForm | null {
  const bytes = 1 << size;
  if (opc === 0) return { size: bytes, load: false, ext: "zero", sf: size === 3 ? 1 : 0, prefetch: false };
  if (opc === 1) return { size: bytes, load: true, ext: "zero", sf: size === 3 ? 1 : 0, prefetch: false };
  if (size === 3) return opc === 2 ? { size: 8, load: true, ext: "zero", sf: 1, prefetch: true } : null;
  if (size === 2 && opc === 3) return null;
  return { size: bytes, load: true, ext: opc === 2 ? "s64" : "s32", sf: opc === 2 ? 1 : 0, prefetch: false };
}

const SUFFIX = ["b", "h", "", ""] as const;

/** LDR/STR, LDUR/STUR (unscaled), LDTR/STTR (unprivileged), with the S/B/H/W suffixes. */
function singleName(variant: "" | "u" | "t", form: SingleForm, size: number): string {
  const signed = form.ext === "zero" ? "" : "s";
  return `${form.load ? "ld" : "st"}${variant}r${signed}${form.ext !== "zero" && size === 2 ? "w" : SUFFIX[size]}`;
}

/** The access itself, at the address in slot `a`, for a single-register form. */
function singleAccess(form: SingleForm, rt: number, a: number, e: EmitContext, syndrome: number): string {
  if (form.prefetch) return "";
  if (form.load) return `if (!c.ld(${form.size}, ${a}, ${e.pc}, ${syndrome})) ${e.fail} ${loadResult(xw(rt), form.size, form.ext)}`;
  const t = xr(rt);
  return `if (!c.st(${form.size}, ${a}, R[${t}], R[${t + 1}], ${e.pc}, ${syndrome})) ${e.fail}`;
}

const PRF_TYPE = ["pld", "pli", "pst"] as const;

/** The prefetch operation named by Rt (prfop), as objdump prints it. */
function prfop(rt: number): string {
  const type = rt >> 3;
  const target = (rt >> 1) & 3;
  if (type === 3 || target === 3) return `#0x${rt.toString(16).padStart(2, "0")}`;
  return `${PRF_TYPE[type]}l${target + 1}${rt & 1 ? "strm" : "keep"}`;
}

const rtText = (form: SingleForm, rt: number): string => (form.prefetch ? prfop(rt) : reg(rt, form.sf));
const memText = (rn: number, offset: number): string => (offset === 0 ? `[${regSp(rn, 1)}]` : `[${regSp(rn, 1)}, #${offset}]`);

const loadLiteral: InsnClass = {
  name: "Load register (literal)",
  pattern: "opc:2 011 V:1 00 imm19:s19 rt:5",
  emit(f, e) {
    if (f.V === 1 || f.opc === 3) return f.V === 1 ? null : "";
    const target = BigInt.asUintN(64, BigInt(e.pc + f.imm19! * 4));
    const [lo, hi] = halves(target);
    const size = f.opc === 1 ? 8 : 4;
    const ext = f.opc === 2 ? "s64" : "zero";
    const syndrome = iss(size, ext !== "zero", f.rt!, f.opc !== 0, false);
    return `R[${SLOT_TMP}] = ${lo}; R[${SLOT_TMP + 1}] = ${hi}; if (!c.ld(${size}, ${SLOT_TMP}, ${e.pc}, ${syndrome})) ${e.fail} ${loadResult(xw(f.rt!), size, ext)}`;
  },
  text(f, pc) {
    if (f.V === 1) return null;
    const target = addr(pc + f.imm19! * 4);
    if (f.opc === 3) return `prfm\t${prfop(f.rt!)}, ${target}`;
    return `${f.opc === 2 ? "ldrsw" : "ldr"}\t${reg(f.rt!, f.opc === 0 ? 0 : 1)}, ${target}`;
  },
};

const PAIR_NAMES: Record<number, string> = { 0: "stp", 1: "ldp", 3: "ldpsw", 4: "stp", 5: "ldp" };

/** Load/store pair: (size of each register, sign-extend) for opc:L, or null. */
function pairForm(f: Fields): { size: number; signed: boolean; name: string } | null {
  if (f.V === 1 || f.opc === 3) return null;
  const key = (f.opc! << 1) | f.L!;
  if (key === 2) return null; // STGP (MTE), not in ARMv8.0
  if (key === 3 && f.mode === 0) return null; // no LDNPSW
  // A load pair into one register twice is CONSTRAINED UNPREDICTABLE; this CPU takes UNDEFINED, as binutils reads it.
  if (f.L === 1 && f.rt === f.rt2) return null;
  // So is LDPSW writing back into one of its own destinations (binutils reads it as unallocated).
  if (key === 3 && (f.mode === 1 || f.mode === 3) && f.rn !== 31 && (f.rn === f.rt || f.rn === f.rt2)) return null;
  let name = PAIR_NAMES[key]!;
  if (f.mode === 0) name = name.replace("p", "np");
  return { size: f.opc === 2 ? 8 : 4, signed: key === 3, name };
}

const pair: InsnClass = {
  name: "Load/store register pair",
  pattern: "opc:2 101 V:1 0 mode:2 L:1 imm7:s7 rt2:5 rn:5 rt:5",
  emit(f, e) {
    const form = pairForm(f);
    if (form === null) return null;
    const offset = f.imm7! * form.size;
    const post = f.mode === 1;
    const writeback = f.mode === 1 || f.mode === 3;
    const [addCode, a] = post ? ["", xs(f.rn!)] : baseOffset(f.rn!, offset);
    const second = `add64(R, ${SLOT_TMP2}, R[${a}], R[${a + 1}], ${form.size}, 0, 0);`;
    const b = xs(f.rn!);
    const [olo, ohi] = halves(BigInt(offset));
    const wb = !writeback ? "" : post ? `add64(R, ${b}, R[${b}], R[${b + 1}], ${olo}, ${ohi}, 0);` : `R[${b}] = R[${a}]; R[${b + 1}] = R[${a + 1}];`;
    // Pairs report ISV = 0: there is no single transfer register to emulate.
    const syndrome = 0;
    let body: string;
    if (f.L) {
      const ext = form.signed ? "s64" : "zero";
      body =
        `if (!c.ld(${form.size}, ${a}, ${e.pc}, ${syndrome})) ${e.fail} const l1 = c.lo, h1 = c.hi; ${second} ` +
        `if (!c.ld(${form.size}, ${SLOT_TMP2}, ${e.pc}, ${syndrome})) ${e.fail} ` +
        `${loadResult(xw(f.rt2!), form.size, ext)} c.lo = l1; c.hi = h1; ${loadResult(xw(f.rt!), form.size, ext)}`;
    } else {
      const t = xr(f.rt!);
      const t2 = xr(f.rt2!);
      body =
        `const l2 = R[${t2}], h2 = R[${t2 + 1}]; if (!c.st(${form.size}, ${a}, R[${t}], R[${t + 1}], ${e.pc}, ${syndrome})) ${e.fail} ` +
        `${second} if (!c.st(${form.size}, ${SLOT_TMP2}, l2, h2, ${e.pc}, ${syndrome})) ${e.fail}`;
    }
    return `{ ${spCheck(f.rn!, e)}${addCode} ${body} ${wb} }`;
  },
  text(f) {
    const form = pairForm(f);
    if (form === null) return null;
    const sf = form.size === 8 || form.signed ? 1 : 0;
    const offset = f.imm7! * form.size;
    const regs = `${reg(f.rt!, sf)}, ${reg(f.rt2!, sf)}`;
    const base = regSp(f.rn!, 1);
    if (f.mode === 1) return `${form.name}\t${regs}, [${base}], #${offset}`;
    if (f.mode === 3) return `${form.name}\t${regs}, [${base}, #${offset}]!`;
    return `${form.name}\t${regs}, ${memText(f.rn!, offset)}`;
  },
};

const immediateIndexed: InsnClass = {
  name: "Load/store register (unscaled immediate, immediate post-/pre-indexed, unprivileged)",
  pattern: "size:2 111 V:1 00 opc:2 0 imm9:s9 mode:2 rn:5 rt:5",
  emit(f, e) {
    const form = singleForm(f.size!, f.opc!);
    if (f.V === 1 || form === null || (form.prefetch && f.mode !== 0)) return null;
    if (form.prefetch) return "";
    const post = f.mode === 1;
    const writeback = f.mode === 1 || f.mode === 3;
    const [addCode, a] = post ? ["", xs(f.rn!)] : baseOffset(f.rn!, f.imm9!);
    const b = xs(f.rn!);
    const [olo, ohi] = halves(BigInt(f.imm9!));
    const wb = !writeback ? "" : post ? `add64(R, ${b}, R[${b}], R[${b + 1}], ${olo}, ${ohi}, 0);` : `R[${b}] = R[${a}]; R[${b + 1}] = R[${a + 1}];`;
    const syndrome = writeback ? 0 : iss(form.size, form.ext !== "zero", f.rt!, form.sf === 1, false);
    return `{ ${spCheck(f.rn!, e)}${addCode} ${singleAccess(form, f.rt!, a, e, syndrome)} ${wb} }`;
  },
  text(f) {
    const form = singleForm(f.size!, f.opc!);
    if (f.V === 1 || form === null || (form.prefetch && f.mode !== 0)) return null;
    const base = regSp(f.rn!, 1);
    if (form.prefetch) return `prfum\t${prfop(f.rt!)}, ${memText(f.rn!, f.imm9!)}`;
    const rt = rtText(form, f.rt!);
    if (f.mode === 0) return `${singleName("u", form, f.size!)}\t${rt}, ${memText(f.rn!, f.imm9!)}`;
    if (f.mode === 2) return `${singleName("t", form, f.size!)}\t${rt}, ${memText(f.rn!, f.imm9!)}`;
    const name = singleName("", form, f.size!);
    return f.mode === 1 ? `${name}\t${rt}, [${base}], #${f.imm9}` : `${name}\t${rt}, [${base}, #${f.imm9}]!`;
  },
};

const registerOffset: InsnClass = {
  name: "Load/store register (register offset)",
  pattern: "size:2 111 V:1 00 opc:2 1 rm:5 option:3 S:1 10 rn:5 rt:5",
  emit(f, e) {
    const form = singleForm(f.size!, f.opc!);
    if (f.V === 1 || form === null || (f.option! & 2) === 0) return null;
    if (form.prefetch) return "";
    const b = xs(f.rn!);
    const shift = f.S ? f.size! : 0;
    const address = `${extended(xr(f.rm!), f.option!, shift)} add64(R, ${SLOT_TMP}, R[${b}], R[${b + 1}], ml, mh, 0);`;
    const syndrome = iss(form.size, form.ext !== "zero", f.rt!, form.sf === 1, false);
    return `{ ${spCheck(f.rn!, e)}${address} ${singleAccess(form, f.rt!, SLOT_TMP, e, syndrome)} }`;
  },
  text(f) {
    const form = singleForm(f.size!, f.opc!);
    if (f.V === 1 || form === null || (f.option! & 2) === 0) return null;
    const rm = reg(f.rm!, f.option! & 1);
    const amount = f.S ? ` #${f.size}` : "";
    let ext: string;
    if (f.option === 3) ext = f.S ? `, lsl #${f.size}` : "";
    else ext = `, ${["", "", "uxtw", "", "", "", "sxtw", "sxtx"][f.option!]}${amount}`;
    const mem = `[${regSp(f.rn!, 1)}, ${rm}${ext}]`;
    if (form.prefetch) return `prfm\t${prfop(f.rt!)}, ${mem}`;
    return `${singleName("", form, f.size!)}\t${rtText(form, f.rt!)}, ${mem}`;
  },
};

const unsignedOffset: InsnClass = {
  name: "Load/store register (unsigned immediate)",
  pattern: "size:2 111 V:1 01 opc:2 imm12:12 rn:5 rt:5",
  emit(f, e) {
    const form = singleForm(f.size!, f.opc!);
    if (f.V === 1 || form === null) return null;
    if (form.prefetch) return "";
    const [addCode, a] = baseOffset(f.rn!, f.imm12! << f.size!);
    const syndrome = iss(form.size, form.ext !== "zero", f.rt!, form.sf === 1, false);
    return `{ ${spCheck(f.rn!, e)}${addCode} ${singleAccess(form, f.rt!, a, e, syndrome)} }`;
  },
  text(f) {
    const form = singleForm(f.size!, f.opc!);
    if (f.V === 1 || form === null) return null;
    const mem = memText(f.rn!, f.imm12! << f.size!);
    if (form.prefetch) return `prfm\t${prfop(f.rt!)}, ${mem}`;
    return `${singleName("", form, f.size!)}\t${rtText(form, f.rt!)}, ${mem}`;
  },
};

/** The exclusive/ordered forms of ARMv8.0, by o2:L:o1:o0 (CAS, CASP and the LOR forms are ARMv8.1). */
const EXCLUSIVE: Record<number, { name: string; load: boolean; pair: boolean; exclusive: boolean; ordered: boolean }> = {
  0b0000: { name: "stxr", load: false, pair: false, exclusive: true, ordered: false },
  0b0001: { name: "stlxr", load: false, pair: false, exclusive: true, ordered: true },
  0b0100: { name: "ldxr", load: true, pair: false, exclusive: true, ordered: false },
  0b0101: { name: "ldaxr", load: true, pair: false, exclusive: true, ordered: true },
  0b0010: { name: "stxp", load: false, pair: true, exclusive: true, ordered: false },
  0b0011: { name: "stlxp", load: false, pair: true, exclusive: true, ordered: true },
  0b0110: { name: "ldxp", load: true, pair: true, exclusive: true, ordered: false },
  0b0111: { name: "ldaxp", load: true, pair: true, exclusive: true, ordered: true },
  0b1001: { name: "stlr", load: false, pair: false, exclusive: false, ordered: true },
  0b1101: { name: "ldar", load: true, pair: false, exclusive: false, ordered: true },
};

function exclusiveForm(f: Fields): (typeof EXCLUSIVE)[number] | null {
  const row = EXCLUSIVE[(f.o2! << 3) | (f.L! << 2) | (f.o1! << 1) | f.o0!];
  if (row === undefined) return null;
  // LDAR/STLR fix Rs and Rt2 as ones; binutils (and ARMv8.1's LDLAR/CAS space) treat other values as other instructions.
  if (!row.exclusive && (f.rs !== 31 || f.rt2 !== 31)) return null;
  if (row.pair && f.size! < 2) return null;
  return row;
}

const exclusive: InsnClass = {
  name: "Load/store exclusive and ordered",
  pattern: "size:2 001000 o2:1 L:1 o1:1 rs:5 o0:1 rt2:5 rn:5 rt:5",
  emit(f, e) {
    const row = exclusiveForm(f);
    if (row === null) return null;
    const size = 1 << f.size!;
    const total = row.pair ? 2 * size : size;
    const a = xs(f.rn!);
    const align = `if (!c.aligned(${a}, ${total}, ${e.pc}, ${row.load ? 0 : 1})) ${e.fail} `;
    const syndrome = row.exclusive || row.pair ? ACC_ALIGN : ACC_ALIGN | iss(size, false, f.rt!, size === 8, true);
    const second = `add64(R, ${SLOT_TMP2}, R[${a}], R[${a + 1}], ${size}, 0, 0);`;
    const t = xr(f.rt!);
    const t2 = xr(f.rt2!);
    let body: string;
    if (row.load) {
      const mark = row.exclusive ? `c.markExclusive(${a}, ${total});` : "";
      body = `if (!c.ld(${size}, ${a}, ${e.pc}, ${syndrome})) ${e.fail}`;
      if (row.pair) {
        body += ` const l1 = c.lo, h1 = c.hi; ${second} if (!c.ld(${size}, ${SLOT_TMP2}, ${e.pc}, ${syndrome})) ${e.fail} ${loadResult(xw(f.rt2!), size, "zero")} c.lo = l1; c.hi = h1;`;
      }
      body += ` ${loadResult(xw(f.rt!), size, "zero")} ${mark}`;
    } else {
      let store = `if (!c.st(${size}, ${a}, R[${t}], R[${t + 1}], ${e.pc}, ${syndrome})) ${e.fail}`;
      if (row.pair) store = `const l2 = R[${t2}], h2 = R[${t2 + 1}]; ${store} ${second} if (!c.st(${size}, ${SLOT_TMP2}, l2, h2, ${e.pc}, ${syndrome})) ${e.fail}`;
      if (row.exclusive) {
        const s = xw(f.rs!);
        body = `if (c.checkExclusive(${a}, ${total})) { ${store} R[${s}] = 0; } else { R[${s}] = 1; } R[${s + 1}] = 0;`;
      } else {
        body = store;
      }
    }
    return `{ ${spCheck(f.rn!, e)}${align}${body} }`;
  },
  text(f) {
    const row = exclusiveForm(f);
    if (row === null) return null;
    const sf = f.size === 3 ? 1 : 0;
    const name = `${row.name}${f.size! < 2 ? SUFFIX[f.size!] : ""}`;
    const regs = row.pair ? `${reg(f.rt!, sf)}, ${reg(f.rt2!, sf)}` : reg(f.rt!, sf);
    const status = !row.load && row.exclusive ? `${reg(f.rs!, 0)}, ` : "";
    return `${name}\t${status}${regs}, [${regSp(f.rn!, 1)}]`;
  },
};

export const LOADS_STORES: readonly InsnClass[] = [exclusive, loadLiteral, pair, immediateIndexed, registerOffset, unsignedOffset];
