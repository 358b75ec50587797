import { decodeBitMasks } from "../../src/cpu/alu.ts";

/**
 * Random A64 programs for differential testing against QEMU: GNU as syntax, every implemented
 * encoding class, and only behaviour that is defined and the same at EL0 under Linux (QEMU's user
 * mode) and at EL1 here. The rules that keep a program well-defined:
 *  - x26 holds the scratch buffer's address and is never written; memory operands are formed from
 *    it just before use, so every access lands in the buffer (or is a literal in the program).
 *  - SP stays 16-byte aligned inside the buffer; only `add sp, x26, #n` writes it.
 *  - Branches go forward to a label a few instructions on, so every program terminates.
 *  - CONSTRAINED UNPREDICTABLE forms are never produced (writeback to a transfer register, LDP
 *    with Rt == Rt2, STXR whose status register is a source...).
 */

export class Prng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  /** mulberry32 */
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  int(n: number): number {
    return this.u32() % n;
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(percent: number): boolean {
    return this.int(100) < percent;
  }
  /** A 64-bit value biased towards the edges arithmetic gets wrong. */
  u64(): bigint {
    switch (this.int(8)) {
      case 0:
        return BigInt(this.int(16));
      case 1:
        return BigInt.asUintN(64, -BigInt(this.int(16) + 1));
      case 2:
        return this.pick([0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffn, 0x80000000n, 0x7fffffffn, 0x100000000n]);
      case 3:
        return BigInt(this.u32());
      default:
        return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
    }
  }
}

/** Registers a random instruction may write: all but x26 (the buffer) and x31. */
const WRITABLE = [...Array.from({ length: 26 }, (_, i) => i), 27, 28, 29, 30];
const SCRATCH_BYTES = 8192;
export { SCRATCH_BYTES };

const CONDS = ["eq", "ne", "cs", "cc", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al"];

interface Ctx {
  readonly p: Prng;
  readonly out: string[];
  label: number;
  /** Labels to place: [label, instructions still to emit before it]. */
  pending: [string, number][];
  literals: string[];
  readonly caseId: number;
}

const x = (r: number): string => (r === 31 ? "xzr" : `x${r}`);
const w = (r: number): string => (r === 31 ? "wzr" : `w${r}`);
const rn = (sf: boolean, r: number): string => (sf ? x(r) : w(r));

function dst(c: Ctx, zr = true): number {
  return zr && c.p.chance(5) ? 31 : c.p.pick(WRITABLE);
}
function src(c: Ctx): number {
  return c.p.chance(6) ? 31 : c.p.int(31);
}

function emit(c: Ctx, line: string): void {
  c.out.push(`\t${line}`);
  for (const pend of c.pending) pend[1] -= 1;
}

/** Labels go only between the instruction groups makers emit, so no branch skips a group's set-up. */
function placeLabels(c: Ctx): void {
  for (const pend of c.pending.filter((q) => q[1] <= 0)) c.out.push(`${pend[0]}:`);
  c.pending = c.pending.filter((q) => q[1] > 0);
}

/** A label placed 1..6 instructions after the next `after` ones. */
function forwardLabel(c: Ctx, after = 0): string {
  const name = `.Lc${c.caseId}_${c.label++}`;
  c.pending.push([name, after + c.p.range(1, 6)]);
  return name;
}

/** Points base register b at buffer offset `off` (with `add`, itself a tested instruction). */
function setBase(c: Ctx, b: number, off: number): void {
  if (off <= 4095) {
    emit(c, `add ${x(b)}, x26, #${off}`);
    return;
  }
  emit(c, `add ${x(b)}, x26, #${off >> 12}, lsl #12`);
  if (off & 4095) emit(c, `add ${x(b)}, ${x(b)}, #${off & 4095}`);
}

/** A base register for a memory access: SP (kept inside the buffer) or a fresh one. */
function memBase(c: Ctx, off: number, avoid: readonly number[] = []): string {
  if (c.p.chance(15) && off % 16 === 0 && off <= 4095) {
    emit(c, `add sp, x26, #${off}`);
    return "sp";
  }
  let b: number;
  do b = c.p.pick(WRITABLE);
  while (avoid.includes(b));
  setBase(c, b, off);
  return x(b);
}

const bigHex = (v: bigint): string => `0x${v.toString(16)}`;

type Maker = (c: Ctx) => void;

const dataImmediate: Record<string, Maker> = {
  addSubImm(c) {
    const sf = c.p.chance(60);
    const op = c.p.pick(["add", "adds", "sub", "subs"]);
    const setsFlags = op.endsWith("s");
    const d = dst(c, setsFlags);
    const n = c.p.chance(10) ? "sp" : rn(sf, c.p.int(31));
    const nn = n === "sp" ? (sf ? "sp" : "wsp") : n;
    emit(c, `${op} ${rn(sf, d)}, ${nn}, #${c.p.int(4096)}${c.p.chance(20) ? ", lsl #12" : ""}`);
  },
  logicalImm(c) {
    const sf = c.p.chance(60);
    let m: { wmask: bigint } | null = null;
    let n = 0;
    while (m === null) {
      n = sf ? c.p.int(2) : 0;
      m = decodeBitMasks(n, c.p.int(sf ? 64 : 32), c.p.int(sf ? 64 : 32), true, sf ? 64 : 32);
    }
    const op = c.p.pick(["and", "orr", "eor", "ands"]);
    emit(c, `${op} ${rn(sf, dst(c, op === "ands"))}, ${rn(sf, src(c))}, #${bigHex(m.wmask)}`);
  },
  moveWide(c) {
    const sf = c.p.chance(60);
    const hw = c.p.int(sf ? 4 : 2);
    const op = c.p.pick(["movz", "movn", "movk"]);
    emit(c, `${op} ${rn(sf, dst(c))}, #${c.p.int(65536)}${hw || c.p.chance(20) ? `, lsl #${16 * hw}` : ""}`);
  },
  bitfield(c) {
    const sf = c.p.chance(60);
    const width = sf ? 64 : 32;
    emit(c, `${c.p.pick(["sbfm", "bfm", "ubfm"])} ${rn(sf, dst(c))}, ${rn(sf, src(c))}, #${c.p.int(width)}, #${c.p.int(width)}`);
  },
  extract(c) {
    const sf = c.p.chance(60);
    emit(c, `extr ${rn(sf, dst(c))}, ${rn(sf, src(c))}, ${rn(sf, src(c))}, #${c.p.int(sf ? 64 : 32)}`);
  },
  pcRel(c) {
    emit(c, `${c.p.pick(["adr", "adrp"])} ${x(dst(c))}, ${forwardLabel(c)}`);
  },
};

const SHIFTS = ["lsl", "lsr", "asr", "ror"];
const EXTS = ["uxtb", "uxth", "uxtw", "uxtx", "sxtb", "sxth", "sxtw", "sxtx"];

const dataRegister: Record<string, Maker> = {
  logicalShifted(c) {
    const sf = c.p.chance(60);
    const op = c.p.pick(["and", "bic", "orr", "orn", "eor", "eon", "ands", "bics"]);
    const amount = c.p.chance(30) ? 0 : c.p.int(sf ? 64 : 32);
    emit(c, `${op} ${rn(sf, dst(c))}, ${rn(sf, src(c))}, ${rn(sf, src(c))}, ${c.p.pick(SHIFTS)} #${amount}`);
  },
  addSubShifted(c) {
    const sf = c.p.chance(60);
    const op = c.p.pick(["add", "adds", "sub", "subs"]);
    const amount = c.p.chance(30) ? 0 : c.p.int(sf ? 64 : 32);
    emit(c, `${op} ${rn(sf, dst(c))}, ${rn(sf, src(c))}, ${rn(sf, src(c))}, ${c.p.pick(SHIFTS.slice(0, 3))} #${amount}`);
  },
  addSubExtended(c) {
    const sf = c.p.chance(60);
    const op = c.p.pick(["add", "adds", "sub", "subs"]);
    const ext = c.p.pick(EXTS);
    const wide = sf && ext.endsWith("x");
    const n = c.p.chance(20) ? (sf ? "sp" : "wsp") : rn(sf, c.p.int(31));
    const amount = c.p.int(5);
    emit(c, `${op} ${rn(sf, dst(c, op.endsWith("s")))}, ${n}, ${wide ? x(src(c)) : w(src(c))}, ${ext} #${amount}`);
  },
  carry(c) {
    const sf = c.p.chance(60);
    emit(c, `${c.p.pick(["adc", "adcs", "sbc", "sbcs"])} ${rn(sf, dst(c))}, ${rn(sf, src(c))}, ${rn(sf, src(c))}`);
  },
  condCompare(c) {
    const sf = c.p.chance(60);
    const operand = c.p.chance(50) ? `#${c.p.int(32)}` : rn(sf, src(c));
    emit(c, `${c.p.pick(["ccmp", "ccmn"])} ${rn(sf, src(c))}, ${operand}, #${c.p.int(16)}, ${c.p.pick(CONDS)}`);
  },
  condSelect(c) {
    const sf = c.p.chance(60);
    const m = c.p.chance(25) ? null : src(c);
    const n = m !== null && c.p.chance(30) ? m : src(c);
    emit(c, `${c.p.pick(["csel", "csinc", "csinv", "csneg"])} ${rn(sf, dst(c))}, ${rn(sf, n)}, ${rn(sf, m ?? src(c))}, ${c.p.pick(CONDS)}`);
  },
  dataProc3(c) {
    const op = c.p.pick(["madd", "msub", "madd32", "msub32", "smaddl", "smsubl", "umaddl", "umsubl", "smulh", "umulh"]);
    if (op.endsWith("32")) {
      emit(c, `${op.slice(0, 4)} ${w(dst(c))}, ${w(src(c))}, ${w(src(c))}, ${w(src(c))}`);
    } else if (op.endsWith("mulh")) {
      emit(c, `${op} ${x(dst(c))}, ${x(src(c))}, ${x(src(c))}`);
    } else if (op.endsWith("l")) {
      emit(c, `${op} ${x(dst(c))}, ${w(src(c))}, ${w(src(c))}, ${x(src(c))}`);
    } else {
      emit(c, `${op} ${x(dst(c))}, ${x(src(c))}, ${x(src(c))}, ${x(src(c))}`);
    }
  },
  dataProc2(c) {
    const sf = c.p.chance(60);
    const op = c.p.pick(["udiv", "sdiv", "lslv", "lsrv", "asrv", "rorv", "crc"]);
    if (op === "crc") {
      const size = c.p.pick(["b", "h", "w", "x"]);
      emit(c, `crc32${c.p.chance(50) ? "c" : ""}${size} ${w(dst(c))}, ${w(src(c))}, ${size === "x" ? x(src(c)) : w(src(c))}`);
      return;
    }
    emit(c, `${op} ${rn(sf, dst(c))}, ${rn(sf, src(c))}, ${rn(sf, src(c))}`);
  },
  dataProc1(c) {
    const sf = c.p.chance(60);
    const op = c.p.pick(sf ? ["rbit", "rev16", "rev32", "rev", "clz", "cls"] : ["rbit", "rev16", "rev", "clz", "cls"]);
    emit(c, `${op} ${rn(sf, dst(c))}, ${rn(sf, src(c))}`);
  },
};

const branchSystem: Record<string, Maker> = {
  branchImm(c) {
    emit(c, `${c.p.pick(["b", "bl"])} ${forwardLabel(c)}`);
  },
  compareBranch(c) {
    const sf = c.p.chance(60);
    emit(c, `${c.p.pick(["cbz", "cbnz"])} ${rn(sf, src(c))}, ${forwardLabel(c)}`);
  },
  testBranch(c) {
    const bit = c.p.int(64);
    emit(c, `${c.p.pick(["tbz", "tbnz"])} ${bit < 32 && c.p.chance(50) ? w(src(c)) : x(src(c))}, #${bit}, ${forwardLabel(c)}`);
  },
  condBranch(c) {
    emit(c, `b.${c.p.pick(CONDS)} ${forwardLabel(c)}`);
  },
  branchReg(c) {
    const r = c.p.pick(WRITABLE);
    emit(c, `adr ${x(r)}, ${forwardLabel(c)}`);
    const op = c.p.pick(["br", "blr", "ret"]);
    emit(c, op === "ret" && r === 30 && c.p.chance(50) ? "ret" : `${op} ${x(r)}`);
  },
  hint(c) {
    emit(c, c.p.pick(["nop", "yield", "sev", "sevl", "hint #0x22", "hint #0x24", "hint #6", `hint #${c.p.range(40, 127)}`]));
  },
  barrier(c) {
    const opt = c.p.pick(["sy", "ish", "ishld", "ishst", "nsh", "osh", "ld", "st", "#12"]);
    emit(c, c.p.pick([`dmb ${opt}`, `dsb ${opt}`, "isb", "clrex"]));
  },
  sysreg(c) {
    const r = c.p.pick(["nzcv", "tpidr_el0", "tpidrro_el0", "ctr_el0", "dczid_el0"]);
    const writable = r === "nzcv" || r === "tpidr_el0";
    emit(c, writable && c.p.chance(50) ? `msr ${r}, ${x(src(c))}` : `mrs ${x(dst(c))}, ${r}`);
  },
  sys(c) {
    if (c.p.chance(40)) {
      const b = memBase(c, c.p.range(0, SCRATCH_BYTES / 64 - 1) * 64);
      emit(c, `dc zva, ${b === "sp" ? x(26) : b}`);
      return;
    }
    const b = memBase(c, c.p.int(SCRATCH_BYTES));
    emit(c, `${c.p.pick(["dc civac", "dc cvac", "dc cvau", "ic ivau"])}, ${b === "sp" ? x(26) : b}`);
  },
};

/** Loads and stores. Offsets keep every byte inside the buffer. */
const SIZES = [
  { name: "b", bytes: 1 },
  { name: "h", bytes: 2 },
  { name: "", bytes: 4 },
  { name: "", bytes: 8 },
];

function singleOp(c: Ctx, bytes: number, avoid: number): { text: string; rt: number } {
  const load = c.p.chance(55);
  const suffix = bytes === 1 ? "b" : bytes === 2 ? "h" : "";
  let rt: number;
  do rt = load ? dst(c) : src(c);
  while (rt === avoid);
  if (load && bytes < 8 && c.p.chance(40)) {
    const toX = bytes === 4 || c.p.chance(50);
    return { text: `ldrs${bytes === 4 ? "w" : suffix} ${toX ? x(rt) : w(rt)}`, rt };
  }
  return { text: `${load ? "ldr" : "str"}${suffix} ${bytes === 8 ? x(rt) : w(rt)}`, rt };
}

const loadsStores: Record<string, Maker> = {
  unsignedOffset(c) {
    const bytes = c.p.pick(SIZES).bytes;
    const imm = c.p.int(2048 / bytes) * bytes;
    const base = memBase(c, c.p.range(0, 4096 / 16 - 1) * 16);
    const { text } = singleOp(c, bytes, -1);
    emit(c, `${text}, [${base}, #${imm}]`);
  },
  immediateIndexed(c) {
    const bytes = c.p.pick(SIZES).bytes;
    const mode = c.p.pick(["unscaled", "pre", "post", "unpriv"]);
    const imm = c.p.range(-256, 255);
    const baseOff = c.p.range(512, 4096 - 512) & ~15;
    const writeback = mode === "pre" || mode === "post";
    // Writeback to SP must keep it 16-byte aligned.
    const spOk = !writeback || imm % 16 === 0;
    const base = spOk ? memBase(c, baseOff) : x(baseRegister(c, baseOff));
    const baseReg = base === "sp" ? 31 : Number(base.slice(1));
    const { text } = singleOp(c, bytes, writeback ? baseReg : -1);
    let t = text;
    if (mode === "unscaled") t = t.replace(/^(ld|st)r/, "$1ur");
    if (mode === "unpriv") t = t.replace(/^(ld|st)r/, "$1tr");
    if (mode === "pre") emit(c, `${t}, [${base}, #${imm}]!`);
    else if (mode === "post") emit(c, `${t}, [${base}], #${imm}`);
    else emit(c, `${t}, [${base}, #${imm}]`);
  },
  registerOffset(c) {
    const bytes = c.p.pick(SIZES).bytes;
    const base = memBase(c, 4096);
    const idx = c.p.pick(WRITABLE.filter((r) => `x${r}` !== base));
    const k = c.p.range(-64, 63);
    const ext = c.p.pick(["lsl", "uxtw", "sxtw", "sxtx", "none"]);
    const unsignedIdx = ext === "uxtw" || ext === "lsl" || ext === "none";
    const value = unsignedIdx ? Math.abs(k) : k;
    emit(c, value >= 0 ? `mov ${x(idx)}, #${value}` : `mov ${x(idx)}, #${value}`);
    const shift = c.p.chance(50) ? ` #${Math.log2(bytes)}` : bytes === 1 && c.p.chance(30) ? " #0" : "";
    const { text } = singleOp(c, bytes, -1);
    const index = ext === "uxtw" || ext === "sxtw" ? w(idx) : x(idx);
    const mod = ext === "none" ? "" : ext === "lsl" ? (shift ? `, lsl${shift}` : "") : `, ${ext}${shift}`;
    emit(c, `${text}, [${base}, ${index}${mod}]`);
  },
  loadLiteral(c) {
    const label = `.Llit${c.caseId}_${c.literals.length}`;
    c.literals.push(`${label}: .quad ${bigHex(c.p.u64())}`);
    emit(c, `${c.p.pick(["ldr x", "ldr w", "ldrsw x"])}${dst(c)}, ${label}`.replace(/(x|w)31,/, "$1zr,"));
  },
  prefetch(c) {
    const op = c.p.pick(["pldl1keep", "pldl2strm", "pstl1keep", "plil3keep", "#0x1f"]);
    const form = c.p.int(3);
    const base = memBase(c, 4096);
    if (form === 0) emit(c, `prfm ${op}, [${base}, #${c.p.int(256) * 8}]`);
    else if (form === 1) emit(c, `prfum ${op}, [${base}, #${c.p.range(-256, 255)}]`);
    else emit(c, `prfm ${op}, [${base}, x26]`);
  },
  pair(c) {
    const kind = c.p.pick(["ldp", "stp", "ldpsw", "ldnp", "stnp"]);
    const sf = kind === "ldpsw" ? true : c.p.chance(60);
    const bytes = kind === "ldpsw" || !sf ? 4 : 8;
    const mode = kind.includes("n") ? "offset" : c.p.pick(["offset", "pre", "post"]);
    const imm = c.p.range(-64, 63) * bytes;
    const writeback = mode !== "offset";
    const spOk = !writeback || imm % 16 === 0;
    const base = spOk ? memBase(c, 2048) : x(baseRegister(c, 2048));
    const baseReg = base === "sp" ? -1 : Number(base.slice(1));
    const load = kind.startsWith("ld");
    const pickReg = (avoid: number[]): number => {
      let r: number;
      do r = load ? dst(c) : src(c);
      while (avoid.includes(r));
      return r;
    };
    const t1 = pickReg(writeback ? [baseReg] : []);
    const t2 = pickReg(writeback ? [baseReg, ...(load ? [t1] : [])] : load ? [t1] : []);
    const regs = `${rn(sf, t1)}, ${rn(sf, t2)}`;
    if (mode === "pre") emit(c, `${kind} ${regs}, [${base}, #${imm}]!`);
    else if (mode === "post") emit(c, `${kind} ${regs}, [${base}], #${imm}`);
    else emit(c, `${kind} ${regs}, [${base}, #${imm}]`);
  },
  exclusive(c) {
    const pair = c.p.chance(30);
    const size = pair ? c.p.pick([4, 8]) : c.p.pick([1, 2, 4, 8]);
    const total = pair ? 2 * size : size;
    const base = baseRegister(c, c.p.range(0, 255) * 16 + (c.p.chance(50) ? 0 : total % 16 === 0 ? 0 : total));
    const sfx = size === 1 ? "b" : size === 2 ? "h" : "";
    const r = (v: number): string => (size === 8 ? x(v) : w(v));
    const acq = c.p.chance(50) ? "a" : "";
    const rel = c.p.chance(50) ? "l" : "";
    if (pair) {
      const t1 = c.p.pick(WRITABLE.filter((v) => v !== base));
      const t2 = c.p.pick(WRITABLE.filter((v) => v !== base && v !== t1));
      emit(c, `ld${acq}xp ${r(t1)}, ${r(t2)}, [${x(base)}]`);
      if (c.p.chance(30)) {
        const d = c.p.pick(WRITABLE.filter((v) => v !== base && v !== t1 && v !== t2));
        emit(c, `add ${x(d)}, ${x(t1)}, ${x(t2)}`);
      }
      const s = c.p.pick(WRITABLE.filter((v) => v !== base && v !== t1 && v !== t2));
      emit(c, `st${rel}xp ${w(s)}, ${r(t1)}, ${r(t2)}, [${x(base)}]`);
      return;
    }
    if (c.p.chance(25)) {
      // Ordered accesses without the monitor.
      const t = c.p.pick(WRITABLE.filter((v) => v !== base));
      emit(c, c.p.chance(50) ? `ldar${sfx} ${r(t)}, [${x(base)}]` : `stlr${sfx} ${r(src(c))}, [${x(base)}]`);
      return;
    }
    const t = c.p.pick(WRITABLE.filter((v) => v !== base));
    const paired = c.p.chance(85);
    if (paired) emit(c, `ld${acq}xr${sfx} ${r(t)}, [${x(base)}]`);
    const s = c.p.pick(WRITABLE.filter((v) => v !== base && v !== t));
    emit(c, `st${rel}xr${sfx} ${w(s)}, ${r(t)}, [${x(base)}]`);
  },
};

/** A general base register (not SP) set to buffer offset `off`. */
function baseRegister(c: Ctx, off: number): number {
  const b = c.p.pick(WRITABLE);
  setBase(c, b, off);
  return b;
}

export const MAKERS: Readonly<Record<string, Maker>> = { ...dataImmediate, ...dataRegister, ...branchSystem, ...loadsStores };
const MAKER_NAMES = Object.keys(MAKERS);

/** One test case: random initial registers and about `length` instructions, ending at `brk #0`. */
export function generateCase(p: Prng, caseId: number, length: number): { asm: string[]; literals: string[]; init: bigint[] } {
  const c: Ctx = { p, out: [], label: 0, pending: [], literals: [], caseId };
  let emitted = 0;
  while (emitted < length) {
    const before = c.out.length;
    MAKERS[p.pick(MAKER_NAMES)]!(c);
    emitted += c.out.length - before;
    placeLabels(c);
  }
  for (const [name] of c.pending) c.out.push(`${name}:`);
  const init = Array.from({ length: 31 }, () => p.u64());
  init.push(BigInt(p.int(16)) << 28n);
  return { asm: c.out, literals: c.literals, init };
}

/**
 * The whole program: `_start` installs a SIGTRAP handler on an alternate stack and enters case 0;
 * each case loads its registers and NZCV from a table, resets SP into the buffer, runs its body
 * and stops at `brk #0`; the handler writes x0..x30, SP, PC and PSTATE from the signal frame and
 * the whole buffer to stdout, then resumes at the next case, or exits after the last.
 * Layout of the signal frame (arm64 Linux struct ucontext): uc_mcontext at 176, regs[] at 184,
 * then sp, pc, pstate.
 */
export function generateProgram(seed: number, cases: number, length: number): { source: string; caseLabels: string[] } {
  const p = new Prng(seed);
  const adrl = (r: string, label: string): string[] => [`\tadrp ${r}, ${label}`, `\tadd ${r}, ${r}, :lo12:${label}`];
  const lines: string[] = [
    "\t.text",
    "\t.global _start",
    "_start:",
    ...adrl("x0", "stack_desc"),
    ...adrl("x2", "alt_stack"),
    "\tstr x2, [x0]",
    "\tmov x1, #0",
    "\tmov x8, #132", // sigaltstack
    "\tsvc #0",
    ...adrl("x1", "sig_action"),
    "\tadr x2, on_trap",
    "\tstr x2, [x1]",
    "\tmov x0, #5", // SIGTRAP
    "\tmov x2, #0",
    "\tmov x3, #8",
    "\tmov x8, #134", // rt_sigaction
    "\tsvc #0",
    "\tadr x0, case_table",
    "\tldr x0, [x0]",
    "\tbr x0",
    "on_trap:",
    "\tadd x19, x2, #184",
    "\tmov x0, #1",
    "\tmov x1, x19",
    "\tmov x2, #272",
    "\tmov x8, #64", // write
    "\tsvc #0",
    "\tmov x0, #1",
    ...adrl("x1", "scratch"),
    `\tmov x2, #${SCRATCH_BYTES}`,
    "\tmov x8, #64",
    "\tsvc #0",
    ...adrl("x3", "case_index"),
    "\tldr x4, [x3]",
    "\tadd x4, x4, #1",
    "\tstr x4, [x3]",
    "\tadr x5, case_table",
    "\tldr x6, [x5, x4, lsl #3]",
    "\tcbz x6, all_done",
    "\tstr x6, [x19, #256]",
    "\tret",
    "all_done:",
    "\tmov x0, #0",
    "\tmov x8, #94", // exit_group
    "\tsvc #0",
  ];
  const labels: string[] = [];
  for (let i = 0; i < cases; i++) {
    const k = generateCase(p, i, length);
    const label = `case_${i}`;
    labels.push(label);
    lines.push("\t.balign 4", `${label}:`, `\tadr x30, init_${i}`, "\tldr x0, [x30, #248]", "\tmsr nzcv, x0", ...adrl("x26", "scratch"), "\tadd sp, x26, #4080");
    for (let r = 0; r < 30; r += 2) lines.push(`\tldp ${x(r)}, ${x(r + 1)}, [x30, #${r * 8}]`);
    lines.push(...adrl("x26", "scratch"), "\tldr x30, [x30, #240]", "\tclrex", `${label}_body:`, ...k.asm, `${label}_end:`, "\tbrk #0");
    lines.push("\t.balign 8", `init_${i}:`, ...k.init.map((v) => `\t.quad ${bigHex(v)}`), ...k.literals.map((l) => `\t${l}`));
  }
  lines.push("\t.balign 8", "case_table:", ...labels.map((l) => `\t.quad ${l}`), "\t.quad 0");
  lines.push("\t.data", "\t.balign 8", "case_index: .quad 0");
  // struct sigaction (kernel): handler, flags SA_SIGINFO | SA_ONSTACK, restorer, mask; stack_t: sp, flags, size.
  lines.push("sig_action: .quad 0, 0x08000004, 0, 0", "stack_desc: .quad 0, 0, 65536");
  lines.push("\t.balign 4096", "\t.global scratch", "scratch:");
  for (let i = 0; i < SCRATCH_BYTES / 8; i++) lines.push(`\t.quad ${bigHex(p.u64())}`);
  lines.push("\t.bss", "\t.balign 16", "alt_stack:", "\t.skip 65536");
  return { source: lines.join("\n") + "\n", caseLabels: labels };
}
