import type { EmitContext, Fields, InsnClass } from "../decode.ts";
import { SYSREGS, encodeSysreg, sysregAt, sysregText } from "../sysregs.ts";
import { CONDITIONS, addr, condition, halves, imm, reg, setConst, xr, xw } from "./operands.ts";

/** Branches, exception generating and system instructions (Arm ARM C4.1.65). */

const PA_LIMIT = 2 ** 48;
const always = (): boolean => true;

/** Go to a constant target; out-of-range targets take the Instruction Abort at the branch. */
function goTo(target: number, e: EmitContext): string {
  return target >= 0 && target < PA_LIMIT ? `c.pc = ${target}; ${e.done}` : `c.branchTo(${target}); ${e.done}`;
}

function conditional(test: string, target: number, e: EmitContext): string {
  return `if (${test}) { ${goTo(target, e)} } c.pc = ${e.pc + 4}; ${e.done}`;
}

const branchImm: InsnClass = {
  name: "Unconditional branch (immediate)",
  pattern: "op:1 00101 imm26:s26",
  emit(f, e) {
    const link = f.op ? `${setConst(60, BigInt(e.pc + 4))} ` : "";
    return link + goTo(e.pc + f.imm26! * 4, e);
  },
  text(f, pc) {
    return `${f.op ? "bl" : "b"}\t${addr(pc + f.imm26! * 4)}`;
  },
  ends: always,
};

const compareBranch: InsnClass = {
  name: "Compare and branch (immediate)",
  pattern: "sf:1 011010 op:1 imm19:s19 rt:5",
  emit(f, e) {
    const t = xr(f.rt!);
    const value = f.sf ? `(R[${t}] | R[${t + 1}])` : `R[${t}]`;
    return conditional(`${value} ${f.op ? "!==" : "==="} 0`, e.pc + f.imm19! * 4, e);
  },
  text(f, pc) {
    return `${f.op ? "cbnz" : "cbz"}\t${reg(f.rt!, f.sf!)}, ${addr(pc + f.imm19! * 4)}`;
  },
  ends: always,
};

const testBranch: InsnClass = {
  name: "Test and branch (immediate)",
  pattern: "b5:1 011011 op:1 b40:5 imm14:s14 rt:5",
  emit(f, e) {
    const t = xr(f.rt!);
    const bit = (f.b5! << 5) | f.b40!;
    const word = bit < 32 ? `R[${t}]` : `R[${t + 1}]`;
    return conditional(`((${word} >>> ${bit & 31}) & 1) === ${f.op}`, e.pc + f.imm14! * 4, e);
  },
  text(f, pc) {
    const bit = (f.b5! << 5) | f.b40!;
    return `${f.op ? "tbnz" : "tbz"}\t${reg(f.rt!, f.b5!)}, #${bit}, ${addr(pc + f.imm14! * 4)}`;
  },
  ends: always,
};

const condBranch: InsnClass = {
  name: "Conditional branch (immediate)",
  pattern: "0101010 0 imm19:s19 0 cond:4",
  emit(f, e) {
    return conditional(condition(f.cond!), e.pc + f.imm19! * 4, e);
  },
  text(f, pc) {
    return `b.${CONDITIONS[f.cond!]}\t${addr(pc + f.imm19! * 4)}`;
  },
  ends: always,
};

const exceptionGen: InsnClass = {
  name: "Exception generation",
  pattern: "11010100 opc:3 imm16:16 op2:3 LL:2",
  emit(f, e) {
    if (f.op2 !== 0) return null;
    const key = (f.opc! << 2) | f.LL!;
    switch (key) {
      case 0b00001:
        return `c.svc(${f.imm16}, ${e.pc}); ${e.done}`;
      case 0b00010:
      case 0b00011:
        return `if (!c.hvcSmc("${f.LL === 2 ? "hvc" : "smc"}", ${f.imm16}, ${e.pc})) ${e.fail} ${e.done}`;
      case 0b00100:
        return `c.brk(${f.imm16}, ${e.pc}); ${e.fail}`;
      default:
        // HLT needs halting debug; DCPSx are UNDEFINED outside Debug state.
        return null;
    }
  },
  text(f) {
    if (f.op2 !== 0) return null;
    const name = { 0b00001: "svc", 0b00010: "hvc", 0b00011: "smc", 0b00100: "brk", 0b01000: "hlt", 0b10101: "dcps1", 0b10110: "dcps2", 0b10111: "dcps3" }[(f.opc! << 2) | f.LL!];
    if (name === undefined) return null;
    if (name.startsWith("dcps")) return f.imm16 === 0 ? name : `${name}\t${imm(f.imm16!)}`;
    return `${name}\t${imm(f.imm16!)}`;
  },
  ends: always,
};

/** Hint names objdump knows (CRm:op2); every hint this CPU does not implement executes as NOP, as the architecture requires. */
const HINTS: Record<number, string> = {
  0: "nop",
  1: "yield",
  2: "wfe",
  3: "wfi",
  4: "sev",
  5: "sevl",
  7: "xpaclri",
  8: "pacia1716",
  10: "pacib1716",
  12: "autia1716",
  14: "autib1716",
  16: "esb",
  17: "psb\tcsync",
  18: "tsb\tcsync",
  20: "csdb",
  22: "clearbhb",
  24: "paciaz",
  25: "paciasp",
  26: "pacibz",
  27: "pacibsp",
  28: "autiaz",
  29: "autiasp",
  30: "autibz",
  31: "autibsp",
  32: "bti",
  34: "bti\tc",
  36: "bti\tj",
  38: "bti\tjc",
};

const hint: InsnClass = {
  name: "Hints",
  pattern: "11010101000000110010 CRm:4 op2:3 11111",
  emit(f, e) {
    const n = (f.CRm! << 3) | f.op2!;
    if (n === 2 || n === 3) return `c.wait("${n === 3 ? "wfi" : "wfe"}", ${e.pc}); ${e.done}`;
    return "";
  },
  text(f) {
    const n = (f.CRm! << 3) | f.op2!;
    return HINTS[n] ?? `hint\t${imm(n)}`;
  },
  ends: (f) => f.CRm === 0 && (f.op2 === 2 || f.op2 === 3),
};

const BARRIER_OPTIONS: Record<number, string> = { 1: "oshld", 2: "oshst", 3: "osh", 5: "nshld", 6: "nshst", 7: "nsh", 9: "ishld", 10: "ishst", 11: "ish", 13: "ld", 14: "st", 15: "sy" };

const barrier: InsnClass = {
  name: "Barriers",
  pattern: "11010101000000110011 CRm:4 op2:3 11111",
  emit(f) {
    switch (f.op2) {
      case 2:
        return "c.monitorAddr = -1;";
      case 4:
      case 5:
      case 6:
        // Memory is sequentially consistent here and code caches are kept coherent: nothing to order.
        return "";
      default:
        return null;
    }
  },
  text(f) {
    const opt = BARRIER_OPTIONS[f.CRm!] ?? `#0x${f.CRm!.toString(16).padStart(2, "0")}`;
    switch (f.op2) {
      case 2:
        return f.CRm === 15 ? "clrex" : `clrex\t${imm(f.CRm!)}`;
      case 4:
        if (f.CRm === 0) return "ssbb";
        if (f.CRm === 4) return "pssbb";
        return `dsb\t${opt}`;
      case 5:
        return `dmb\t${opt}`;
      case 6:
        return f.CRm === 15 ? "isb" : `isb\t${imm(f.CRm!)}`;
      default:
        return null;
    }
  },
};

const PSTATE_FIELDS: Record<number, "spsel" | "daifset" | "daifclr"> = { 0b000101: "spsel", 0b011110: "daifset", 0b011111: "daifclr" };

/** The PSTATE field an MSR (immediate) writes; SPSel takes only CRm<0> (binutils treats other values as a register move). */
function pstateField(f: Fields): "spsel" | "daifset" | "daifclr" | undefined {
  const field = PSTATE_FIELDS[(f.op1! << 3) | f.op2!];
  return field === "spsel" && f.CRm! > 1 ? undefined : field;
}

const msrImm: InsnClass = {
  name: "PSTATE",
  pattern: "1101010100000 op1:3 0100 CRm:4 op2:3 11111",
  emit(f, e) {
    const field = pstateField(f);
    if (field === undefined) return null;
    return `if (!c.msrImm("${field}", ${f.CRm}, ${e.pc})) ${e.fail} c.pc = ${e.pc + 4}; ${e.done}`;
  },
  text(f) {
    const field = pstateField(f);
    if (field === undefined) return null;
    return `msr\t${field}, ${imm(f.CRm!)}`;
  },
  ends: always,
};

interface SysOp {
  readonly text: string;
  /** Takes Xt (printed and, for DC/AT, used as the address). */
  readonly usesRt: boolean;
  readonly kind: "nop" | "zva" | "at" | "va" | "el1";
}

/** The SYS operations ARMv8.0 defines at EL1 (op1, CRn, CRm, op2), by Arm ARM C5.3 (DC, IC, AT, TLBI). */
const SYS_OPS = new Map<number, SysOp>();
function sysOp(op1: number, crn: number, crm: number, op2: number, text: string, usesRt: boolean, kind: SysOp["kind"]): void {
  SYS_OPS.set(encodeSysreg(1, op1, crn, crm, op2), { text, usesRt, kind });
}
sysOp(0, 7, 1, 0, "ic\tialluis", false, "el1");
sysOp(0, 7, 5, 0, "ic\tiallu", false, "el1");
sysOp(3, 7, 5, 1, "ic\tivau", true, "va");
sysOp(0, 7, 6, 1, "dc\tivac", true, "el1");
sysOp(0, 7, 6, 2, "dc\tisw", true, "el1");
sysOp(0, 7, 10, 2, "dc\tcsw", true, "el1");
sysOp(0, 7, 14, 2, "dc\tcisw", true, "el1");
sysOp(3, 7, 4, 1, "dc\tzva", true, "zva");
sysOp(3, 7, 10, 1, "dc\tcvac", true, "va");
sysOp(3, 7, 11, 1, "dc\tcvau", true, "va");
sysOp(3, 7, 14, 1, "dc\tcivac", true, "va");
sysOp(0, 7, 8, 0, "at\ts1e1r", true, "at");
sysOp(0, 7, 8, 1, "at\ts1e1w", true, "at");
sysOp(0, 7, 8, 2, "at\ts1e0r", true, "at");
sysOp(0, 7, 8, 3, "at\ts1e0w", true, "at");
for (const [crm, suffix] of [
  [3, "is"],
  [7, ""],
] as const) {
  sysOp(0, 8, crm, 0, `tlbi\tvmalle1${suffix}`, false, "el1");
  sysOp(0, 8, crm, 1, `tlbi\tvae1${suffix}`, true, "el1");
  sysOp(0, 8, crm, 2, `tlbi\taside1${suffix}`, true, "el1");
  sysOp(0, 8, crm, 3, `tlbi\tvaae1${suffix}`, true, "el1");
  sysOp(0, 8, crm, 5, `tlbi\tvale1${suffix}`, true, "el1");
  sysOp(0, 8, crm, 7, `tlbi\tvaale1${suffix}`, true, "el1");
}

const sysOpOf = (f: Fields): SysOp | undefined => SYS_OPS.get(encodeSysreg(1, f.op1!, f.CRn!, f.CRm!, f.op2!));

const sys: InsnClass = {
  name: "System instructions",
  pattern: "1101010100 L:1 01 op1:3 CRn:4 CRm:4 op2:3 rt:5",
  emit(f, e) {
    const op = sysOpOf(f);
    if (f.L === 1 || op === undefined) return null;
    const el0Undefined = `if (c.el === 0) { c.undefinedInsn(${e.pc}); ${e.fail} }`;
    switch (op.kind) {
      case "zva":
        return `if (!c.dcZva(${xr(f.rt!)}, ${e.pc})) ${e.fail}`;
      case "va":
        return `if (!c.cacheOpAllowed(${e.pc})) ${e.fail}`;
      case "at":
        return `${el0Undefined} c.translate(${xr(f.rt!)});`;
      default:
        return el0Undefined;
    }
  },
  text(f) {
    const op = sysOpOf(f);
    if (f.L === 1) return `sysl\t${reg(f.rt!, 1)}, #${f.op1}, C${f.CRn}, C${f.CRm}, #${f.op2}`;
    if (op === undefined) return `sys\t#${f.op1}, C${f.CRn}, C${f.CRm}, #${f.op2}${f.rt === 31 ? "" : `, ${reg(f.rt!, 1)}`}`;
    return op.usesRt ? `${op.text}, ${reg(f.rt!, 1)}` : op.text;
  },
};

const sysreg: InsnClass = {
  name: "System register move",
  pattern: "1101010100 L:1 1 o0:1 op1:3 CRn:4 CRm:4 op2:3 rt:5",
  emit(f, e) {
    const desc = sysregAt(encodeSysreg(2 + f.o0!, f.op1!, f.CRn!, f.CRm!, f.op2!));
    if (desc === undefined) return null;
    if (f.L) {
      if (desc.read.kind === "none") return null;
      return `if (!c.mrs(SYS[${SYS_INDEX.get(desc.name)}], ${xw(f.rt!)}, ${e.pc}, ${e.index})) ${e.fail}`;
    }
    if (desc.write.kind === "none" || desc.write.kind === "const") return null;
    const t = xr(f.rt!);
    const write = `if (!c.msr(SYS[${SYS_INDEX.get(desc.name)}], R[${t}], R[${t + 1}], ${e.pc}, ${e.index})) ${e.fail}`;
    return desc.endsBlock ? `${write} c.pc = ${e.pc + 4}; ${e.done}` : write;
  },
  text(f) {
    const name = sysregText(2 + f.o0!, f.op1!, f.CRn!, f.CRm!, f.op2!);
    return f.L ? `mrs\t${reg(f.rt!, 1)}, ${name}` : `msr\t${name}, ${reg(f.rt!, 1)}`;
  },
  ends(f) {
    const desc = sysregAt(encodeSysreg(2 + f.o0!, f.op1!, f.CRn!, f.CRm!, f.op2!));
    return f.L === 0 && desc?.endsBlock === true;
  },
};

/** Generated code names a register descriptor by its index in SYSREGS (passed to blocks as `SYS`). */
const SYS_INDEX = new Map(SYSREGS.map((d, i) => [d.name, i]));

const branchReg: InsnClass = {
  name: "Unconditional branch (register)",
  pattern: "1101011 opc:4 op2:5 op3:6 rn:5 op4:5",
  emit(f, e) {
    if (f.op2 !== 31 || f.op3 !== 0 || f.op4 !== 0) return null;
    const n = xr(f.rn!);
    const [lo, hi] = halves(BigInt(e.pc + 4));
    switch (f.opc) {
      case 0:
      case 2:
        return `c.setPc64(R[${n}], R[${n + 1}]); ${e.done}`;
      case 1:
        return `{ const l = R[${n}], h = R[${n + 1}]; R[60] = ${lo}; R[61] = ${hi}; c.setPc64(l, h); } ${e.done}`;
      case 4:
        if (f.rn !== 31) return null;
        return `if (c.el === 0) { c.undefinedInsn(${e.pc}); ${e.fail} } c.eret(); ${e.done}`;
      default:
        return null;
    }
  },
  text(f) {
    if (f.op2 !== 31 || f.op3 !== 0 || f.op4 !== 0) return null;
    switch (f.opc) {
      case 0:
        return `br\t${reg(f.rn!, 1)}`;
      case 1:
        return `blr\t${reg(f.rn!, 1)}`;
      case 2:
        return f.rn === 30 ? "ret" : `ret\t${reg(f.rn!, 1)}`;
      case 4:
        return f.rn === 31 ? "eret" : null;
      case 5:
        return f.rn === 31 ? "drps" : null;
      default:
        return null;
    }
  },
  ends: always,
};

export const BRANCH_SYSTEM: readonly InsnClass[] = [branchImm, compareBranch, testBranch, condBranch, exceptionGen, hint, barrier, msrImm, sys, sysreg, branchReg];
