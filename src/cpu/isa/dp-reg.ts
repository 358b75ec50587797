import type { InsnClass } from "../decode.ts";
import { SLOT_DISCARD } from "../core.ts";
import { CONDITIONS, EXTENDS, SHIFTS, condition, imm, reg, regSp, xr, xs, xw } from "./operands.ts";

/** Data processing, register (Arm ARM C4.1.95): logical and add/sub with shifted or extended operands, carry, conditional ops, multiply/divide, 1- and 2-source. */

/**
 * JS declaring `ml`/`mh`: register m shifted by a constant (ShiftReg: LSL, LSR, ASR, ROR). The
 * cases avoid JS shifts by 32, which shift by 0.
 */
function shifted64(m: number, type: number, s: number): string {
  const lo = `R[${m}]`;
  const hi = `R[${m + 1}]`;
  if (s === 0) return `const ml = ${lo}, mh = ${hi};`;
  switch (type) {
    case 0:
      return s < 32 ? `const ml = ${lo} << ${s}, mh = (${hi} << ${s}) | (${lo} >>> ${32 - s});` : `const ml = 0, mh = ${lo} << ${s - 32};`;
    case 1:
      return s < 32 ? `const ml = (${lo} >>> ${s}) | (${hi} << ${32 - s}), mh = ${hi} >>> ${s};` : `const ml = ${hi} >>> ${s - 32}, mh = 0;`;
    case 2:
      return s < 32 ? `const ml = (${lo} >>> ${s}) | (${hi} << ${32 - s}), mh = ${hi} >> ${s};` : `const ml = ${hi} >> ${s - 32}, mh = ${hi} >> 31;`;
    default:
      if (s < 32) return `const ml = (${lo} >>> ${s}) | (${hi} << ${32 - s}), mh = (${hi} >>> ${s}) | (${lo} << ${32 - s});`;
      if (s === 32) return `const ml = ${hi}, mh = ${lo};`;
      return `const ml = (${hi} >>> ${s - 32}) | (${lo} << ${64 - s}), mh = (${lo} >>> ${s - 32}) | (${hi} << ${64 - s});`;
  }
}

function shifted32(m: number, type: number, s: number): string {
  const v = `R[${m}]`;
  if (s === 0) return `const ml = ${v};`;
  return `const ml = ${[`${v} << ${s}`, `${v} >>> ${s}`, `${v} >> ${s}`, `(${v} >>> ${s}) | (${v} << ${32 - s})`][type]};`;
}

const shiftText = (shift: number, amount: number): string => (amount === 0 && shift === 0 ? "" : `, ${SHIFTS[shift]} #${amount}`);

const LOGICAL = [
  ["and", "bic"],
  ["orr", "orn"],
  ["eor", "eon"],
  ["ands", "bics"],
] as const;
const LOGICAL_OPS = ["&", "|", "^", "&"] as const;

const logicalShifted: InsnClass = {
  name: "Logical (shifted register)",
  pattern: "sf:1 opc:2 01010 shift:2 N:1 rm:5 imm6:6 rn:5 rd:5",
  emit(f) {
    if (f.sf === 0 && f.imm6! >= 32) return null;
    const d = xw(f.rd!);
    const n = xr(f.rn!);
    const m = xr(f.rm!);
    const op = LOGICAL_OPS[f.opc!]!;
    const inv = f.N ? "~" : "";
    if (f.sf) {
      const flags = f.opc === 3 ? ` logicFlags64(c, l, h);` : "";
      return `{ ${shifted64(m, f.shift!, f.imm6!)} const l = R[${n}] ${op} ${inv}ml, h = R[${n + 1}] ${op} ${inv}mh; R[${d}] = l; R[${d + 1}] = h;${flags} }`;
    }
    const flags = f.opc === 3 ? ` logicFlags32(c, l);` : "";
    return `{ ${shifted32(m, f.shift!, f.imm6!)} const l = R[${n}] ${op} ${inv}ml; R[${d}] = l; R[${d + 1}] = 0;${flags} }`;
  },
  text(f) {
    if (f.sf === 0 && f.imm6! >= 32) return null;
    const sf = f.sf!;
    const sh = shiftText(f.shift!, f.imm6!);
    const rm = reg(f.rm!, sf);
    if (f.opc === 1 && f.N === 0 && f.rn === 31 && f.shift === 0 && f.imm6 === 0) return `mov\t${reg(f.rd!, sf)}, ${rm}`;
    if (f.opc === 1 && f.N === 1 && f.rn === 31) return `mvn\t${reg(f.rd!, sf)}, ${rm}${sh}`;
    if (f.opc === 3 && f.N === 0 && f.rd === 31) return `tst\t${reg(f.rn!, sf)}, ${rm}${sh}`;
    return `${LOGICAL[f.opc!]![f.N!]}\t${reg(f.rd!, sf)}, ${reg(f.rn!, sf)}, ${rm}${sh}`;
  },
};

/** The add/sub core shared by the shifted and extended forms: operand in ml/mh already declared. */
function addSub(sf: number, op: number, S: number, d: number, n: number, carry?: string): string {
  const [bl, bh] = op ? ["~ml", "~mh"] : ["ml", "mh"];
  const cin = carry ?? (op ? "1" : "0");
  if (sf) return S ? `adds64(c, R, ${d}, R[${n}], R[${n + 1}], ${bl}, ${bh}, ${cin});` : `add64(R, ${d}, R[${n}], R[${n + 1}], ${bl}, ${bh}, ${cin});`;
  return S ? `adds32(c, R, ${d}, R[${n}], ${bl}, ${cin});` : `add32(R, ${d}, R[${n}], ${bl}, ${cin});`;
}

const addSubShifted: InsnClass = {
  name: "Add/subtract (shifted register)",
  pattern: "sf:1 op:1 S:1 01011 shift:2 0 rm:5 imm6:6 rn:5 rd:5",
  emit(f) {
    if (f.shift === 3 || (f.sf === 0 && f.imm6! >= 32)) return null;
    const m = xr(f.rm!);
    const operand = f.sf ? shifted64(m, f.shift!, f.imm6!) : shifted32(m, f.shift!, f.imm6!);
    return `{ ${operand} ${addSub(f.sf!, f.op!, f.S!, xw(f.rd!), xr(f.rn!))} }`;
  },
  text(f) {
    if (f.shift === 3 || (f.sf === 0 && f.imm6! >= 32)) return null;
    const sf = f.sf!;
    const rm = `${reg(f.rm!, sf)}${shiftText(f.shift!, f.imm6!)}`;
    if (f.S && f.rd === 31) return `${f.op ? "cmp" : "cmn"}\t${reg(f.rn!, sf)}, ${rm}`;
    if (f.op && f.rn === 31) return `neg${f.S ? "s" : ""}\t${reg(f.rd!, sf)}, ${rm}`;
    return `${f.op ? "sub" : "add"}${f.S ? "s" : ""}\t${reg(f.rd!, sf)}, ${reg(f.rn!, sf)}, ${rm}`;
  },
};

/** JS declaring ml/mh: ExtendReg(m, option, shift) (Arm ARM shared/functions). */
export function extended(m: number, option: number, s: number): string {
  const lo = `R[${m}]`;
  const hi = `R[${m + 1}]`;
  const [l, h] = [
    [`${lo} & 0xff`, "0"],
    [`${lo} & 0xffff`, "0"],
    [lo, "0"],
    [lo, hi],
    [`(${lo} << 24) >> 24`, `(${lo} << 24) >> 31`],
    [`(${lo} << 16) >> 16`, `(${lo} << 16) >> 31`],
    [lo, `${lo} >> 31`],
    [lo, hi],
  ][option]!;
  if (s === 0) return `const ml = ${l}, mh = ${h};`;
  return `const el = ${l}, eh = ${h}; const ml = el << ${s}, mh = (eh << ${s}) | (el >>> ${32 - s});`;
}

const addSubExtended: InsnClass = {
  name: "Add/subtract (extended register)",
  pattern: "sf:1 op:1 S:1 01011 00 1 rm:5 option:3 imm3:3 rn:5 rd:5",
  emit(f) {
    if (f.imm3! > 4) return null;
    const d = f.S ? xw(f.rd!) : xs(f.rd!);
    return `{ ${extended(xr(f.rm!), f.option!, f.imm3!)} ${addSub(f.sf!, f.op!, f.S!, d, xs(f.rn!))} }`;
  },
  text(f) {
    if (f.imm3! > 4) return null;
    const sf = f.sf!;
    const wide = sf === 1 && (f.option! & 3) === 3;
    const rm = reg(f.rm!, wide ? 1 : 0);
    // UXTX (UXTW for 32-bit) next to SP reads as LSL, and as nothing at all when the shift is 0.
    const spInvolved = f.S ? f.rn === 31 : f.rd === 31 || f.rn === 31;
    let ext: string;
    if (spInvolved && f.option === (sf ? 3 : 2)) ext = f.imm3 === 0 ? "" : `, lsl #${f.imm3}`;
    else ext = `, ${EXTENDS[f.option!]}${f.imm3 === 0 ? "" : ` #${f.imm3}`}`;
    if (f.S && f.rd === 31) return `${f.op ? "cmp" : "cmn"}\t${regSp(f.rn!, sf)}, ${rm}${ext}`;
    const rd = f.S ? reg(f.rd!, sf) : regSp(f.rd!, sf);
    return `${f.op ? "sub" : "add"}${f.S ? "s" : ""}\t${rd}, ${regSp(f.rn!, sf)}, ${rm}${ext}`;
  },
};

const addSubCarry: InsnClass = {
  name: "Add/subtract (with carry)",
  pattern: "sf:1 op:1 S:1 11010000 rm:5 000000 rn:5 rd:5",
  emit(f) {
    const m = xr(f.rm!);
    return `{ const ml = R[${m}], mh = R[${m + 1}]; ${addSub(f.sf!, f.op!, f.S!, xw(f.rd!), xr(f.rn!), "c.C")} }`;
  },
  text(f) {
    const sf = f.sf!;
    const name = `${f.op ? "sbc" : "adc"}${f.S ? "s" : ""}`;
    if (f.op && f.rn === 31) return `ngc${f.S ? "s" : ""}\t${reg(f.rd!, sf)}, ${reg(f.rm!, sf)}`;
    return `${name}\t${reg(f.rd!, sf)}, ${reg(f.rn!, sf)}, ${reg(f.rm!, sf)}`;
  },
};

const condCompare: InsnClass = {
  name: "Conditional compare (register / immediate)",
  pattern: "sf:1 op:1 1 11010010 rm:5 cond:4 i:1 0 rn:5 0 nzcv:4",
  emit(f) {
    const n = xr(f.rn!);
    const m = xr(f.rm!);
    const operand = f.i ? `const ml = ${f.rm}, mh = 0;` : `const ml = R[${m}], mh = R[${m + 1}];`;
    const set = `c.N = ${(f.nzcv! >> 3) & 1}; c.Z = ${(f.nzcv! >> 2) & 1}; c.C = ${(f.nzcv! >> 1) & 1}; c.V = ${f.nzcv! & 1};`;
    return `if (${condition(f.cond!)}) { ${operand} ${addSub(f.sf!, f.op!, 1, SLOT_DISCARD, n)} } else { ${set} }`;
  },
  text(f) {
    const sf = f.sf!;
    const operand = f.i ? imm(f.rm!) : reg(f.rm!, sf);
    return `${f.op ? "ccmp" : "ccmn"}\t${reg(f.rn!, sf)}, ${operand}, ${imm(f.nzcv!)}, ${CONDITIONS[f.cond!]}`;
  },
};

const CSEL_NAMES = ["csel", "csinc", "csinv", "csneg"] as const;

const condSelect: InsnClass = {
  name: "Conditional select",
  pattern: "sf:1 op:1 S:1 11010100 rm:5 cond:4 op2:2 rn:5 rd:5",
  emit(f) {
    if (f.S === 1 || f.op2! >= 2) return null;
    const d = xw(f.rd!);
    const n = xr(f.rn!);
    const m = xr(f.rm!);
    const kind = (f.op! << 1) | f.op2!;
    const upper = f.sf ? "" : ` R[${d + 1}] = 0;`;
    const taken = `R[${d}] = R[${n}]; R[${d + 1}] = R[${n + 1}];`;
    let other: string;
    if (kind === 0) other = `R[${d}] = R[${m}]; R[${d + 1}] = R[${m + 1}];`;
    else if (kind === 1) other = `add64(R, ${d}, R[${m}], R[${m + 1}], 1, 0, 0);`;
    else if (kind === 2) other = `{ const l = ~R[${m}], h = ~R[${m + 1}]; R[${d}] = l; R[${d + 1}] = h; }`;
    else other = `add64(R, ${d}, ~R[${m}], ~R[${m + 1}], 1, 0, 0);`;
    return `if (${condition(f.cond!)}) { ${taken} } else { ${other} }${upper}`;
  },
  text(f) {
    if (f.S === 1 || f.op2! >= 2) return null;
    const sf = f.sf!;
    const kind = (f.op! << 1) | f.op2!;
    const inv = CONDITIONS[f.cond! ^ 1]!;
    const usual = f.cond! < 14;
    if (usual && f.rn === f.rm && kind !== 0) {
      if (kind === 3) return `cneg\t${reg(f.rd!, sf)}, ${reg(f.rn!, sf)}, ${inv}`;
      if (f.rn === 31) return `${kind === 1 ? "cset" : "csetm"}\t${reg(f.rd!, sf)}, ${inv}`;
      return `${kind === 1 ? "cinc" : "cinv"}\t${reg(f.rd!, sf)}, ${reg(f.rn!, sf)}, ${inv}`;
    }
    return `${CSEL_NAMES[kind]}\t${reg(f.rd!, sf)}, ${reg(f.rn!, sf)}, ${reg(f.rm!, sf)}, ${CONDITIONS[f.cond!]}`;
  },
};

/** op31:o0 of the 3-source group, for sf = 1 and the ones that also exist for sf = 0 (MADD/MSUB). */
const DP3: Record<number, { name: string; alias: string; long: boolean }> = {
  0b0000: { name: "madd", alias: "mul", long: false },
  0b0001: { name: "msub", alias: "mneg", long: false },
  0b0010: { name: "smaddl", alias: "smull", long: true },
  0b0011: { name: "smsubl", alias: "smnegl", long: true },
  0b0100: { name: "smulh", alias: "", long: false },
  0b1010: { name: "umaddl", alias: "umull", long: true },
  0b1011: { name: "umsubl", alias: "umnegl", long: true },
  0b1100: { name: "umulh", alias: "", long: false },
};

function dp3(f: Record<string, number>): (typeof DP3)[number] | null {
  const key = (f.op31! << 1) | f.o0!;
  const row = DP3[key];
  if (f.op54 !== 0 || row === undefined) return null;
  if (f.sf === 0 && key > 1) return null;
  return row;
}

const dataProc3: InsnClass = {
  name: "Data-processing (3 source)",
  pattern: "sf:1 op54:2 11011 op31:3 rm:5 o0:1 ra:5 rn:5 rd:5",
  emit(f) {
    const row = dp3(f);
    if (row === null) return null;
    const [d, n, m, a] = [xw(f.rd!), xr(f.rn!), xr(f.rm!), xr(f.ra!)];
    if (row.name === "madd" || row.name === "msub") return `${f.sf ? "madd64" : "madd32"}(R, ${d}, ${n}, ${m}, ${a}, ${f.o0});`;
    if (row.long) return `maddl(R, ${d}, ${n}, ${m}, ${a}, ${f.o0}, ${row.name[0] === "s" ? 1 : 0});`;
    return `mulh64(R, ${d}, ${n}, ${m}, ${row.name[0] === "s" ? 1 : 0});`;
  },
  text(f) {
    const row = dp3(f);
    if (row === null) return null;
    const sf = f.sf!;
    const src = row.long ? 0 : sf;
    const ops = `${reg(f.rd!, sf)}, ${reg(f.rn!, src)}, ${reg(f.rm!, src)}`;
    if (row.alias === "") return `${row.name}\t${ops}`;
    if (f.ra === 31) return `${row.alias}\t${ops}`;
    return `${row.name}\t${ops}, ${reg(f.ra!, sf)}`;
  },
};

const DP2: Record<number, string> = {
  0b000010: "udiv",
  0b000011: "sdiv",
  0b001000: "lsl",
  0b001001: "lsr",
  0b001010: "asr",
  0b001011: "ror",
  0b010000: "crc32b",
  0b010001: "crc32h",
  0b010010: "crc32w",
  0b010011: "crc32x",
  0b010100: "crc32cb",
  0b010101: "crc32ch",
  0b010110: "crc32cw",
  0b010111: "crc32cx",
};

function dp2(f: Record<string, number>): string | null {
  const name = DP2[f.opcode!];
  if (f.S === 1 || name === undefined) return null;
  if (name.startsWith("crc32") && (f.sf === 1) !== name.endsWith("x")) return null;
  return name;
}

const dataProc2: InsnClass = {
  name: "Data-processing (2 source)",
  pattern: "sf:1 0 S:1 11010110 rm:5 opcode:6 rn:5 rd:5",
  emit(f) {
    const name = dp2(f);
    if (name === null) return null;
    const [d, n, m] = [xw(f.rd!), xr(f.rn!), xr(f.rm!)];
    if (name.endsWith("div")) return `${f.sf ? "div64" : "div32"}(R, ${d}, ${n}, ${m}, ${name === "sdiv" ? 1 : 0});`;
    if (name.startsWith("crc32")) {
      const bytes = 1 << (f.opcode! & 3);
      return `R[${d}] = crc32(R[${n}], R[${m}], R[${m + 1}], ${bytes}, ${(f.opcode! >> 2) & 1}); R[${d + 1}] = 0;`;
    }
    const type = f.opcode! & 3;
    return f.sf ? `shift64(R, ${d}, R[${n}], R[${n + 1}], ${type}, R[${m}] & 63);` : `shift32(R, ${d}, R[${n}], ${type}, R[${m}] & 31);`;
  },
  text(f) {
    const name = dp2(f);
    if (name === null) return null;
    const sf = f.sf!;
    if (name.startsWith("crc32")) return `${name}\t${reg(f.rd!, 0)}, ${reg(f.rn!, 0)}, ${reg(f.rm!, sf)}`;
    return `${name}\t${reg(f.rd!, sf)}, ${reg(f.rn!, sf)}, ${reg(f.rm!, sf)}`;
  },
};

function dp1(f: Record<string, number>): string | null {
  if (f.S === 1 || f.opcode2 !== 0 || f.opcode! > 5) return null;
  if (f.opcode === 3 && f.sf === 0) return null;
  return ["rbit", "rev16", f.sf ? "rev32" : "rev", "rev", "clz", "cls"][f.opcode!]!;
}

const dataProc1: InsnClass = {
  name: "Data-processing (1 source)",
  pattern: "sf:1 1 S:1 11010110 opcode2:5 opcode:6 rn:5 rd:5",
  emit(f) {
    const name = dp1(f);
    if (name === null) return null;
    const [d, n] = [xw(f.rd!), xr(f.rn!)];
    const lo = `R[${n}]`;
    const hi = `R[${n + 1}]`;
    if (!f.sf) {
      const expr = { rbit: `rbit32(${lo})`, rev16: `rev16(${lo})`, rev: `rev32(${lo})`, clz: `Math.clz32(${lo})`, cls: `cls32(${lo})` }[name]!;
      return `R[${d}] = ${expr}; R[${d + 1}] = 0;`;
    }
    const pair = {
      rbit: [`rbit32(${hi})`, `rbit32(${lo})`],
      rev16: [`rev16(${lo})`, `rev16(${hi})`],
      rev32: [`rev32(${lo})`, `rev32(${hi})`],
      rev: [`rev32(${hi})`, `rev32(${lo})`],
      clz: [`clz64(${lo}, ${hi})`, "0"],
      cls: [`cls64(${lo}, ${hi})`, "0"],
    }[name]!;
    return `{ const l = ${pair[0]}, h = ${pair[1]}; R[${d}] = l; R[${d + 1}] = h; }`;
  },
  text(f) {
    const name = dp1(f);
    if (name === null) return null;
    return `${name}\t${reg(f.rd!, f.sf!)}, ${reg(f.rn!, f.sf!)}`;
  },
};

export const DATA_PROCESSING_REGISTER: readonly InsnClass[] = [
  logicalShifted,
  addSubShifted,
  addSubExtended,
  addSubCarry,
  condCompare,
  condSelect,
  dataProc3,
  dataProc2,
  dataProc1,
];
