/**
 * The architectural state of one AArch64 processing element running at EL1/EL0, as plain data:
 * what snapshots store, what the canonical hash covers, and the single copy of a vCPU's registers.
 *
 * The general-purpose registers, both stack pointers and the PC live in one byte array (34
 * little-endian 64-bit words), because the interpreter works on 32-bit halves and a byte array is
 * copied in and out with no conversion; `cpuView` renders it for people. The system registers are
 * bigints by their architectural names, lower case.
 */

/** Word index of each register in `CpuState.regs`. */
export const REG_SP_EL0 = 31;
export const REG_SP_EL1 = 32;
export const REG_PC = 33;
export const REG_WORDS = 34;

/** The system registers a bare-metal EL1 kernel touches, and that the CPU keeps (reset values below). */
export interface SysRegs {
  readonly sctlr_el1: bigint;
  readonly actlr_el1: bigint;
  readonly cpacr_el1: bigint;
  readonly vbar_el1: bigint;
  readonly elr_el1: bigint;
  readonly spsr_el1: bigint;
  readonly esr_el1: bigint;
  readonly far_el1: bigint;
  readonly par_el1: bigint;
  readonly afsr0_el1: bigint;
  readonly afsr1_el1: bigint;
  readonly mair_el1: bigint;
  readonly amair_el1: bigint;
  readonly tcr_el1: bigint;
  readonly ttbr0_el1: bigint;
  readonly ttbr1_el1: bigint;
  readonly contextidr_el1: bigint;
  readonly tpidr_el0: bigint;
  readonly tpidr_el1: bigint;
  readonly tpidrro_el0: bigint;
  readonly csselr_el1: bigint;
  readonly cntkctl_el1: bigint;
  readonly cntv_ctl_el0: bigint;
  readonly cntv_cval_el0: bigint;
  readonly mdscr_el1: bigint;
  readonly osdlr_el1: bigint;
  readonly oslsr_el1: bigint;
  readonly mpidr_el1: bigint;
  readonly icc_pmr_el1: bigint;
  readonly icc_bpr0_el1: bigint;
  readonly icc_bpr1_el1: bigint;
  readonly icc_ctlr_el1: bigint;
  readonly icc_sre_el1: bigint;
  readonly icc_igrpen0_el1: bigint;
  readonly icc_igrpen1_el1: bigint;
  readonly icc_ap0r0_el1: bigint;
  readonly icc_ap1r0_el1: bigint;
}

export type SysRegName = keyof SysRegs;

export interface CpuState {
  /** x0..x30, SP_EL0, SP_EL1, PC: 34 little-endian 64-bit words (see `REG_*`). */
  readonly regs: Uint8Array;
  /** PSTATE.NZCV as bits 3..0 (N is bit 3). */
  readonly nzcv: number;
  /** PSTATE.DAIF as bits 3..0 (D is bit 3, I is bit 1). */
  readonly daif: number;
  /** PSTATE.EL: 0 or 1. */
  readonly el: number;
  /** PSTATE.SP: 1 selects SP_ELx at EL1. */
  readonly spsel: number;
  /** PSTATE.IL: set by an illegal exception return; the next instruction takes an Illegal State exception. */
  readonly il: number;
  readonly sys: SysRegs;
  /** The local exclusive monitor: the address LDXR marked (-1 when open) and the access size in bytes. */
  readonly monitorAddr: number;
  readonly monitorSize: number;
  /** Instructions retired since reset: the CPU's icount, which virtual time is derived from. */
  readonly retired: number;
}

/**
 * SCTLR_EL1 at reset: the RES1 bits (11, 20, 22, 23, 28, 29), MMU, alignment checks and caches off,
 * the value Linux writes before it turns the MMU on (INIT_SCTLR_EL1_MMU_OFF).
 */
export const SCTLR_RESET = 0x30d00800n;
export const SCTLR_M = 1n << 0n;
export const SCTLR_A = 1n << 1n;
export const SCTLR_SA = 1n << 3n;
export const SCTLR_SA0 = 1n << 4n;
export const SCTLR_UMA = 1n << 9n;
export const SCTLR_DZE = 1n << 14n;
export const SCTLR_UCT = 1n << 15n;
export const SCTLR_UCI = 1n << 26n;

export function resetSysRegs(mpidr: bigint): SysRegs {
  return {
    sctlr_el1: SCTLR_RESET,
    actlr_el1: 0n,
    cpacr_el1: 0n,
    vbar_el1: 0n,
    elr_el1: 0n,
    spsr_el1: 0n,
    esr_el1: 0n,
    far_el1: 0n,
    par_el1: 0n,
    afsr0_el1: 0n,
    afsr1_el1: 0n,
    mair_el1: 0n,
    amair_el1: 0n,
    tcr_el1: 0n,
    ttbr0_el1: 0n,
    ttbr1_el1: 0n,
    contextidr_el1: 0n,
    tpidr_el0: 0n,
    tpidr_el1: 0n,
    tpidrro_el0: 0n,
    csselr_el1: 0n,
    cntkctl_el1: 0n,
    cntv_ctl_el0: 0n,
    cntv_cval_el0: 0n,
    mdscr_el1: 0n,
    osdlr_el1: 0n,
    // OSLSR_EL1.OSLM = 0b10 (the OS lock is implemented), OSLK = 1 (locked) out of reset.
    oslsr_el1: 0xan,
    mpidr_el1: mpidr,
    icc_pmr_el1: 0n,
    icc_bpr0_el1: 2n,
    icc_bpr1_el1: 3n,
    // ICC_CTLR_EL1: PRIbits = 4 (5 priority bits), IDbits = 0 (16-bit INTIDs), A3V = 1.
    icc_ctlr_el1: (4n << 8n) | (1n << 15n),
    // ICC_SRE_EL1: SRE, DFB, DIB read as one: the system register interface is the only one.
    icc_sre_el1: 0x7n,
    icc_igrpen0_el1: 0n,
    icc_igrpen1_el1: 0n,
    icc_ap0r0_el1: 0n,
    icc_ap1r0_el1: 0n,
  };
}

export interface ResetOptions {
  /** Where execution starts. */
  readonly pc: number;
  /** SP_EL1 at reset (SP_EL0 is 0). */
  readonly sp?: bigint;
  /** MPIDR_EL1 (bit 31 is RES1). Default 0x80000000: affinity 0.0.0.0. */
  readonly mpidr?: bigint;
  /** x0..x3 at entry, as a boot protocol passes them (Linux: x0 is the device tree address). */
  readonly x?: readonly bigint[];
}

/** The state out of reset: EL1h, every exception masked, registers zero but those given. */
export function resetCpu(o: ResetOptions): CpuState {
  const regs = new Uint8Array(REG_WORDS * 8);
  const v = new DataView(regs.buffer);
  (o.x ?? []).forEach((x, i) => v.setBigUint64(i * 8, BigInt.asUintN(64, x), true));
  v.setBigUint64(REG_SP_EL1 * 8, BigInt.asUintN(64, o.sp ?? 0n), true);
  v.setBigUint64(REG_PC * 8, BigInt(o.pc), true);
  return {
    regs,
    nzcv: 0,
    daif: 0xf,
    el: 1,
    spsel: 1,
    il: 0,
    sys: resetSysRegs(o.mpidr ?? 0x80000000n),
    monitorAddr: -1,
    monitorSize: 0,
    retired: 0,
  };
}

/**
 * Register arrays for the states the hypervisor makes from a stopped vCPU's (an emulated access
 * stepped past, a result written back), cut from a shared slab. A 272-byte typed array of its own
 * gets a backing store outside V8's heap, which costs more than a microsecond to allocate, once
 * per MMIO access of every scripted guest (tools/bench/record-profile.ts). A state's `regs` may
 * be a view at any offset (decoded snapshots are too): readers use its byteOffset.
 */
const REGS_BYTES = REG_WORDS * 8;
const REGS_SLAB_BYTES = 60 * REGS_BYTES;
let regsSlab = new ArrayBuffer(REGS_SLAB_BYTES);
let regsSlabUsed = 0;
/** A copy of a state's register array (a view into the current slab). */
export function copyRegs(from: Uint8Array): Uint8Array {
  if (regsSlabUsed + REGS_BYTES > REGS_SLAB_BYTES) {
    regsSlab = new ArrayBuffer(REGS_SLAB_BYTES);
    regsSlabUsed = 0;
  }
  const regs = new Uint8Array(regsSlab, regsSlabUsed, REGS_BYTES);
  regsSlabUsed += REGS_BYTES;
  regs.set(from);
  return regs;
}
/**
 * `s` with new registers and icount, built as a literal in CpuState's key order: a spread of
 * states of several shapes (decoded, copied, built by the core) takes V8's generic clone path,
 * which was a fifth of VCPU_RUN's cost in replay (every emulated access is stepped past).
 */
function withRegs(s: CpuState, regs: Uint8Array, retired: number): CpuState {
  return { regs, nzcv: s.nzcv, daif: s.daif, el: s.el, spsel: s.spsel, il: s.il, sys: s.sys, monitorAddr: s.monitorAddr, monitorSize: s.monitorSize, retired };
}
const viewOf = (regs: Uint8Array): DataView => new DataView(regs.buffer, regs.byteOffset, regs.byteLength);

/** Register `n` (0..30 for x0..x30, or a `REG_*` index) of a state, as an unsigned 64-bit value. */
export function readReg(s: CpuState, n: number): bigint {
  return new DataView(s.regs.buffer, s.regs.byteOffset, s.regs.byteLength).getBigUint64(n * 8, true);
}

/** A copy of `s` with register `n` set (for callers that complete an instruction, e.g. an emulated MMIO load). */
export function withReg(s: CpuState, n: number, value: bigint): CpuState {
  const regs = copyRegs(s.regs);
  viewOf(regs).setBigUint64(n * 8, BigInt.asUintN(64, value), true);
  return withRegs(s, regs, s.retired);
}

/** The stack pointer the current PSTATE selects. */
export function currentSp(s: CpuState): bigint {
  return readReg(s, s.el === 1 && s.spsel === 1 ? REG_SP_EL1 : REG_SP_EL0);
}

/** Whether a value is a CPU state (how tools find the registers inside a machine state). */
export function isCpuState(v: unknown): v is CpuState {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Partial<CpuState>;
  return o.regs instanceof Uint8Array && o.regs.length === REG_WORDS * 8 && typeof o.nzcv === "number" && typeof o.sys === "object";
}

const hex = (v: bigint): string => `0x${v.toString(16).padStart(16, "0")}`;

/** The registers as a person reads them: x0..x30, sp, pc as hex strings, PSTATE decoded. */
export function cpuView(s: CpuState): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (let i = 0; i < 31; i++) out[`x${i}`] = hex(readReg(s, i));
  out.sp = hex(currentSp(s));
  out.pc = hex(readReg(s, REG_PC));
  out.sp_el0 = hex(readReg(s, REG_SP_EL0));
  out.sp_el1 = hex(readReg(s, REG_SP_EL1));
  out.nzcv = s.nzcv;
  out.pstate = `EL${s.el}${s.el === 1 ? (s.spsel ? "h" : "t") : "t"} daif=${s.daif.toString(2).padStart(4, "0")}${s.il ? " IL" : ""}`;
  out.retired = s.retired;
  return out;
}

// ---- what a hypervisor does to a stopped vCPU -------------------------------------------------

/** x0..x30 of a state as bigints (unsigned), for callers reading arguments. */
export function readX(s: CpuState, first: number, count: number): bigint[] {
  return Array.from({ length: count }, (_, i) => readReg(s, first + i));
}

/** A copy of `s` with x[first..] set to `values` (results written back, e.g. by a hypercall). */
export function withX(s: CpuState, first: number, values: readonly bigint[]): CpuState {
  const regs = copyRegs(s.regs);
  const v = viewOf(regs);
  for (let i = 0; i < values.length && first + i < 31; i++) v.setBigUint64((first + i) * 8, BigInt.asUintN(64, values[i]!), true);
  return withRegs(s, regs, s.retired);
}

/** A copy of `s` with the PC moved past the current instruction (an access the hypervisor emulated). */
export function skipInstruction(s: CpuState): CpuState {
  const regs = copyRegs(s.regs);
  // PC + 4 modulo 2^64, byte by byte with the carry (no DataView, no bigint: once per emulated access).
  for (let i = REG_PC * 8, carry = 4; carry !== 0 && i < REG_PC * 8 + 8; i++) {
    const b = regs[i]! + carry;
    regs[i] = b & 0xff;
    carry = b >>> 8;
  }
  return withRegs(s, regs, s.retired + 1);
}

/**
 * Completes an emulated load from its data-abort syndrome (ESR ISS: SAS, SSE, SRT, SF): the value,
 * truncated to the access size and sign- or zero-extended to the register's width, goes to Xt,
 * and the PC moves on. Returns null when the syndrome does not describe one register (ISV = 0):
 * such an access cannot be emulated, as on hardware.
 */
export function completeLoad(s: CpuState, iss: number, value: bigint): CpuState | null {
  if ((iss & (1 << 24)) === 0) return null;
  const bits = 8 << ((iss >> 22) & 3);
  const srt = (iss >> 16) & 31;
  const width = (iss & (1 << 15)) !== 0 ? 64 : 32;
  const raw = BigInt.asUintN(bits, value);
  const extended = (iss & (1 << 21)) !== 0 ? BigInt.asUintN(width, BigInt.asIntN(bits, raw)) : raw;
  const next = skipInstruction(s);
  return srt === 31 ? next : withX(next, srt, [extended]);
}

/** The value a store described by `iss` was writing (Xt truncated to the access size). */
export function storeValue(s: CpuState, iss: number): bigint {
  const srt = (iss >> 16) & 31;
  const bits = 8 << ((iss >> 22) & 3);
  return srt === 31 ? 0n : BigInt.asUintN(bits, readReg(s, srt));
}
