import { ACCESS_FETCH, ACCESS_READ, ACCESS_WRITE, type AccessKind, type CpuBus, type RefusedAccess } from "./bus.ts";
import type { Flags } from "./alu.ts";
import {
  REG_PC,
  REG_SP_EL0,
  REG_SP_EL1,
  REG_WORDS,
  SCTLR_A,
  SCTLR_DZE,
  SCTLR_M,
  SCTLR_SA,
  SCTLR_SA0,
  SCTLR_UMA,
  SCTLR_UCI,
  SCTLR_UCT,
  type CpuState,
  type SysRegName,
  type SysRegs,
} from "./state.ts";
import type { SysRegDesc } from "./sysregs.ts";
import { invalidateCode, hasCode } from "./codecache.ts";

/**
 * Register file slots (pairs of int32: low half, high half). Reads of register 31 in a "zero"
 * context use ZR, writes to it go to DISCARD, and the SP of the current PSTATE sits at SP so
 * generated code never tests for register 31 at run time.
 */
export const SLOT_SP = 62;
export const SLOT_ZR = 64;
export const SLOT_DISCARD = 66;
const SLOT_SP_EL0 = 68;
const SLOT_SP_EL1 = 70;
/** Scratch pairs for computed addresses (the second element of a pair access uses TMP2). */
export const SLOT_TMP = 72;
export const SLOT_TMP2 = 74;
const SLOTS = 76;

/** Why a run stopped (besides using up its budget). */
export const EXIT_NONE = 0;
export const EXIT_HVC = 1;
export const EXIT_SMC = 2;
export const EXIT_BRK = 3;
export const EXIT_WFI = 4;
export const EXIT_WFE = 5;
export const EXIT_ACCESS = 6;
export const EXIT_EXCEPTION = 7;

/** Exception classes (ESR_ELx.EC, Arm ARM D17.2.40). */
export const EC_UNKNOWN = 0x00;
export const EC_WFX = 0x01;
export const EC_ILLEGAL_STATE = 0x0e;
export const EC_SVC = 0x15;
export const EC_HVC = 0x16;
export const EC_SMC = 0x17;
export const EC_SYSREG = 0x18;
export const EC_IABORT_LOWER = 0x20;
export const EC_IABORT_SAME = 0x21;
export const EC_PC_ALIGN = 0x22;
export const EC_DABORT_LOWER = 0x24;
export const EC_DABORT_SAME = 0x25;
export const EC_SP_ALIGN = 0x26;
export const EC_BRK = 0x3c;

/** Fault status codes (ESR ISS.DFSC/IFSC). */
const FSC_ADDRESS_SIZE_L0 = 0x00;
const FSC_EXTERNAL = 0x10;
const FSC_ALIGNMENT = 0x21;

/** Bits of an access's flag word beyond the 25-bit ISS it carries. */
export const ACC_ALIGN = 1 << 25;
const ISS_MASK = (1 << 25) - 1;
const ISS_WNR = 1 << 6;

const TLB_SIZE = 256;
const TLB_MASK = TLB_SIZE - 1;
const TWO32 = 4294967296;
const PA_LIMIT = 2 ** 48;

/**
 * The working form of a CPU during one run: the register file as int32 halves, PSTATE as numbers, a
 * small TLB over the bus's pages. Built from a `CpuState` at the start of a run and saved back at the
 * end (`save`), so the plain state stays the one copy of the truth between runs.
 */
export class Core implements Flags {
  readonly R = new Int32Array(SLOTS);
  N = 0;
  Z = 0;
  C = 0;
  V = 0;
  pc = 0;
  el = 1;
  spsel = 1;
  daif = 0xf;
  il = 0;
  monitorAddr = -1;
  monitorSize = 0;
  /** Instructions retired before the current block (a block adds its own when it returns). */
  retired = 0;
  /** Set by an instruction that may have unmasked an interrupt or raised the IRQ line. */
  check = 1;
  exit = EXIT_NONE;
  exitImm = 0;
  exitAccess: RefusedAccess | null = null;
  exitEc = 0;
  /** Loaded value of the last `ld` (int32 halves). */
  lo = 0;
  hi = 0;
  /** Data accesses must be aligned (SCTLR_EL1.A, or the MMU is off so memory is Device-nGnRnE). */
  alignAll = true;
  private sys: SysRegs;
  private sysOwned = false;
  readonly bus: CpuBus;

  private readonly rTag = new Float64Array(TLB_SIZE).fill(-1);
  private readonly rView: (DataView | null)[] = new Array(TLB_SIZE).fill(null);
  private readonly wTag = new Float64Array(TLB_SIZE).fill(-1);
  private readonly wView: (DataView | null)[] = new Array(TLB_SIZE).fill(null);
  private readonly wPage: (Uint8Array | null)[] = new Array(TLB_SIZE).fill(null);
  private readonly fTag = new Float64Array(TLB_SIZE).fill(-1);
  private readonly fPage: (Uint8Array | null)[] = new Array(TLB_SIZE).fill(null);
  private readonly useTlb: boolean;

  constructor(s: CpuState, bus: CpuBus, useTlb = true) {
    this.bus = bus;
    this.useTlb = useTlb;
    const v = new DataView(s.regs.buffer, s.regs.byteOffset, s.regs.byteLength);
    const R = this.R;
    for (let i = 0; i < 31; i++) {
      R[2 * i] = v.getInt32(i * 8, true);
      R[2 * i + 1] = v.getInt32(i * 8 + 4, true);
    }
    R[SLOT_SP_EL0] = v.getInt32(REG_SP_EL0 * 8, true);
    R[SLOT_SP_EL0 + 1] = v.getInt32(REG_SP_EL0 * 8 + 4, true);
    R[SLOT_SP_EL1] = v.getInt32(REG_SP_EL1 * 8, true);
    R[SLOT_SP_EL1 + 1] = v.getInt32(REG_SP_EL1 * 8 + 4, true);
    this.pc = v.getUint32(REG_PC * 8 + 4, true) * TWO32 + v.getUint32(REG_PC * 8, true);
    this.N = (s.nzcv >> 3) & 1;
    this.Z = (s.nzcv >> 2) & 1;
    this.C = (s.nzcv >> 1) & 1;
    this.V = s.nzcv & 1;
    this.daif = s.daif;
    this.el = s.el;
    this.spsel = s.spsel;
    this.il = s.il;
    this.monitorAddr = s.monitorAddr;
    this.monitorSize = s.monitorSize;
    this.retired = s.retired;
    this.sys = s.sys;
    this.loadSp();
    this.sctlrChanged();
  }

  /** The state after the run: fresh objects throughout, so it is safe on either replay path. */
  save(): CpuState {
    this.storeSp();
    const regs = new Uint8Array(REG_WORDS * 8);
    const v = new DataView(regs.buffer);
    const R = this.R;
    for (let i = 0; i < 31; i++) {
      v.setInt32(i * 8, R[2 * i]!, true);
      v.setInt32(i * 8 + 4, R[2 * i + 1]!, true);
    }
    v.setInt32(REG_SP_EL0 * 8, R[SLOT_SP_EL0]!, true);
    v.setInt32(REG_SP_EL0 * 8 + 4, R[SLOT_SP_EL0 + 1]!, true);
    v.setInt32(REG_SP_EL1 * 8, R[SLOT_SP_EL1]!, true);
    v.setInt32(REG_SP_EL1 * 8 + 4, R[SLOT_SP_EL1 + 1]!, true);
    v.setUint32(REG_PC * 8, this.pc % TWO32, true);
    v.setUint32(REG_PC * 8 + 4, Math.floor(this.pc / TWO32), true);
    return {
      regs,
      nzcv: this.nzcvBits(),
      daif: this.daif,
      el: this.el,
      spsel: this.spsel,
      il: this.il,
      sys: this.sys,
      monitorAddr: this.monitorAddr,
      monitorSize: this.monitorSize,
      retired: this.retired,
    };
  }

  nzcvBits(): number {
    return (this.N << 3) | (this.Z << 2) | (this.C << 1) | this.V;
  }

  // ---- stack pointer banking -------------------------------------------------------------------

  private spBank(): number {
    return this.el === 1 && this.spsel === 1 ? SLOT_SP_EL1 : SLOT_SP_EL0;
  }

  private loadSp(): void {
    const b = this.spBank();
    this.R[SLOT_SP] = this.R[b]!;
    this.R[SLOT_SP + 1] = this.R[b + 1]!;
  }

  private storeSp(): void {
    const b = this.spBank();
    this.R[b] = this.R[SLOT_SP]!;
    this.R[b + 1] = this.R[SLOT_SP + 1]!;
  }

  /** Changes EL and SPSel, moving the active SP between its banks. */
  private setMode(el: number, spsel: number): void {
    this.storeSp();
    this.el = el;
    this.spsel = spsel;
    this.loadSp();
  }

  // ---- system registers ------------------------------------------------------------------------

  sysGet(name: SysRegName): bigint {
    return this.sys[name];
  }

  sysSet(name: SysRegName, value: bigint): void {
    if (!this.sysOwned) {
      // Copy on the first write of a run: the state we were built from may be shared (immutable).
      this.sys = { ...this.sys };
      this.sysOwned = true;
    }
    (this.sys as Record<SysRegName, bigint>)[name] = value;
  }

  private sctlrChanged(): void {
    const sctlr = this.sys.sctlr_el1;
    // With the MMU off, data accesses are Device-nGnRnE, and unaligned accesses to Device memory fault.
    this.alignAll = (sctlr & SCTLR_M) === 0n || (sctlr & SCTLR_A) !== 0n;
  }

  /** Whether SP-relative accesses must find SP 16-byte aligned (SCTLR_EL1.SA / SA0). */
  spAlignCheck(): boolean {
    return (this.sys.sctlr_el1 & (this.el === 1 ? SCTLR_SA : SCTLR_SA0)) !== 0n;
  }

  /** Takes an SP alignment fault if SP is misaligned and checking is on; true when it did. */
  spMisaligned(pc: number): boolean {
    if ((this.R[SLOT_SP]! & 15) === 0 || !this.spAlignCheck()) return false;
    this.exception(EC_SP_ALIGN, 0, pc, 0, null);
    return true;
  }

  // ---- exceptions ------------------------------------------------------------------------------

  /** SPSR value for the current PSTATE (Arm ARM C5.2.18 SPSR_EL1, AArch64 state). */
  spsr(): bigint {
    const m = this.el === 1 ? 4 | this.spsel : 0;
    return BigInt(((this.nzcvBits() << 28) >>> 0) + (this.il << 20) + (this.daif << 6) + m);
  }

  /**
   * Takes a synchronous exception to EL1 (Arm ARM D1.10): SPSR/ELR/ESR (and FAR for aborts) are
   * written, PSTATE becomes EL1h with every exception masked, the local monitor is cleared, and the
   * PC goes to the vector for the EL and SP the exception came from.
   */
  exception(ec: number, iss: number, preferredReturn: number | bigint, vectorType: number, far: bigint | null): void {
    const offset = this.el === 0 ? 0x400 : this.spsel === 1 ? 0x200 : 0;
    this.sysSet("spsr_el1", this.spsr());
    this.sysSet("elr_el1", typeof preferredReturn === "bigint" ? preferredReturn : BigInt(preferredReturn));
    if (vectorType === 0) this.sysSet("esr_el1", BigInt(((ec << 26) | (1 << 25) | (iss & 0x1ffffff)) >>> 0));
    if (far !== null) this.sysSet("far_el1", far);
    this.daif = 0xf;
    this.il = 0;
    this.setMode(1, 1);
    this.monitorAddr = -1;
    const vbar = this.sys.vbar_el1 & ~0x7ffn;
    this.pc = Number(vbar) + offset + vectorType;
    this.check = 1;
    if (this.bus.exceptionTaken(vectorType === 0 ? ec : -1, vbar)) {
      this.exit = EXIT_EXCEPTION;
      this.exitEc = ec;
    }
  }

  /** UNDEFINED: the Unknown-reason exception (EC 0x00). */
  undefinedInsn(pc: number): void {
    this.exception(EC_UNKNOWN, 0, pc, 0, null);
  }

  /**
   * Whether the GIC CPU interface signals an IRQ to the PE: a pending interrupt whose priority is
   * above the priority mask, with group 1 enabled (GICv3 §4.8: ICC_PMR_EL1, ICC_IGRPEN1_EL1).
   */
  irqSignalled(retired: number): boolean {
    const prio = this.bus.pendingPriority(retired);
    return prio >= 0 && (this.sys.icc_igrpen1_el1 & 1n) !== 0n && BigInt(prio) < (this.sys.icc_pmr_el1 & 0xffn);
  }

  /** An IRQ, if one is signalled and PSTATE.I allows it; true when one was taken. */
  takeInterrupt(): boolean {
    this.check = 0;
    if ((this.daif & 2) !== 0 || !this.irqSignalled(this.retired)) return false;
    this.exception(0, 0, this.pc, 0x80, null);
    return true;
  }

  /** ERET (Arm ARM D1.11): PSTATE from SPSR_EL1, PC from ELR_EL1; an illegal return sets PSTATE.IL. */
  eret(): void {
    const spsr = Number(this.sys.spsr_el1 & 0xffffffffn);
    const elr = this.sys.elr_el1;
    const m = spsr & 0x1f;
    const nzcv = spsr >>> 28;
    this.N = (nzcv >> 3) & 1;
    this.Z = (nzcv >> 2) & 1;
    this.C = (nzcv >> 1) & 1;
    this.V = nzcv & 1;
    this.daif = (spsr >> 6) & 0xf;
    this.monitorAddr = -1;
    if (m === 0 || m === 4 || m === 5) {
      this.il = (spsr >> 20) & 1;
      this.setMode(m >> 2, m & 1);
    } else {
      // A return to EL2/EL3 or to AArch32 is illegal: the EL and SP stay, IL is set.
      this.il = 1;
    }
    this.setPc64(Number(elr & 0xffffffffn) | 0, Number(elr >> 32n) | 0);
    this.check = 1;
  }

  // ---- control flow ----------------------------------------------------------------------------

  /**
   * Branch to the 64-bit address (lo, hi). Addresses at or above 2^48 cannot be fetched: the fetch
   * would take an Instruction Abort with that address, and we take it here so the exact 64-bit value
   * reaches ELR/FAR (the PC is kept as a double, exact only below 2^53).
   */
  setPc64(lo: number, hi: number): void {
    if ((hi >>> 16) === 0) {
      this.pc = (hi >>> 0) * TWO32 + (lo >>> 0);
      return;
    }
    const target = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
    this.fetchAbort(target, FSC_ADDRESS_SIZE_L0);
  }

  /** Branch to a constant target computed at decode time (may be out of range). */
  branchTo(target: number): void {
    if (target >= 0 && target < PA_LIMIT) {
      this.pc = target;
      return;
    }
    this.fetchAbort(BigInt.asUintN(64, BigInt(target)), FSC_ADDRESS_SIZE_L0);
  }

  private fetchAbort(address: bigint, fsc: number): void {
    const ec = this.el === 0 ? EC_IABORT_LOWER : EC_IABORT_SAME;
    this.exception(ec, fsc, address, 0, address);
  }

  /**
   * The page holding the instruction at `pc`, or null after taking the fault that fetching it
   * raises (PC alignment, instruction abort) or setting an exit (the bus refused the fetch).
   */
  fetchPage(pc: number): Uint8Array | null {
    if (pc % 4 !== 0) {
      this.exception(EC_PC_ALIGN, 0, pc, 0, BigInt(pc));
      return null;
    }
    const vpn = Math.floor(pc / 4096);
    const i = vpn & TLB_MASK;
    if (this.useTlb && this.fTag[i] === vpn) return this.fPage[i]!;
    const page = this.bus.page(vpn * 4096, ACCESS_FETCH);
    if (page === null) {
      this.refusedAccess(BigInt(pc), 4, ACCESS_FETCH, 0, 0, 0, pc);
      return null;
    }
    this.fTag[i] = vpn;
    this.fPage[i] = page;
    return page;
  }

  /** A block was compiled from `page`: stores to it must go through the slow path (self-modifying code). */
  codeAdded(page: Uint8Array): void {
    for (let i = 0; i < TLB_SIZE; i++) {
      if (this.wPage[i] === page) {
        this.wTag[i] = -1;
        this.wPage[i] = null;
        this.wView[i] = null;
      }
    }
  }

  // ---- loads and stores ------------------------------------------------------------------------

  /**
   * Loads `size` bytes from the address in slot pair `a` into `lo`/`hi` (zero-extended). False
   * when the access faulted (the exception was taken) or stopped the run (an exit was set).
   */
  ld(size: number, a: number, pc: number, flags: number): boolean {
    const R = this.R;
    const lo = R[a]!;
    const hi = R[a + 1]!;
    if ((hi >>> 16) === 0 && (lo & (size - 1)) === 0) {
      const off = lo & 4095;
      const vpn = hi * 1048576 + (lo >>> 12);
      const i = (lo >>> 12) & TLB_MASK;
      const view = this.rTag[i] === vpn ? this.rView[i]! : this.fillRead(vpn, i);
      if (view !== null) {
        if (size === 8) {
          this.lo = view.getInt32(off, true);
          this.hi = view.getInt32(off + 4, true);
        } else if (size === 4) {
          this.lo = view.getInt32(off, true);
        } else if (size === 2) {
          this.lo = view.getUint16(off, true);
        } else {
          this.lo = view.getUint8(off);
        }
        return true;
      }
    }
    return this.ldSlow(size, lo, hi, pc, flags);
  }

  /** Stores the low `size` bytes of (vlo, vhi) at the address in slot pair `a`; false as for `ld`. */
  st(size: number, a: number, vlo: number, vhi: number, pc: number, flags: number): boolean {
    const R = this.R;
    const lo = R[a]!;
    const hi = R[a + 1]!;
    if ((hi >>> 16) === 0 && (lo & (size - 1)) === 0) {
      const off = lo & 4095;
      const vpn = hi * 1048576 + (lo >>> 12);
      const i = (lo >>> 12) & TLB_MASK;
      const view = this.wTag[i] === vpn ? this.wView[i]! : this.fillWrite(vpn, i);
      if (view !== null) {
        if (size === 8) {
          view.setInt32(off, vlo, true);
          view.setInt32(off + 4, vhi, true);
        } else if (size === 4) {
          view.setInt32(off, vlo, true);
        } else if (size === 2) {
          view.setUint16(off, vlo, true);
        } else {
          view.setUint8(off, vlo);
        }
        return true;
      }
    }
    return this.stSlow(size, lo, hi, vlo, vhi, pc, flags);
  }

  private fillRead(vpn: number, i: number): DataView | null {
    if (!this.useTlb) return null;
    const page = this.bus.page(vpn * 4096, ACCESS_READ);
    if (page === null) return null;
    const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
    this.rTag[i] = vpn;
    this.rView[i] = view;
    return view;
  }

  private fillWrite(vpn: number, i: number): DataView | null {
    if (!this.useTlb) return null;
    const page = this.bus.page(vpn * 4096, ACCESS_WRITE);
    if (page === null) return null;
    // A write may be handed a fresh copy of the page (copy-on-write): reads and fetches must see it too.
    const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
    this.rTag[i] = vpn;
    this.rView[i] = view;
    if (this.fTag[i] === vpn && this.fPage[i] !== page) this.fTag[i] = -1;
    // Compiled code from this page is stale once it is written; `codeAdded` evicts the page again
    // when code is next compiled from it, so later stores come back here.
    if (hasCode(page)) invalidateCode(page);
    this.wTag[i] = vpn;
    this.wView[i] = view;
    this.wPage[i] = page;
    return view;
  }

  /** The exact 64-bit address of a slot pair, as a bigint (for syndromes and faults). */
  private static address(lo: number, hi: number): bigint {
    return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  }

  private checkAccess(size: number, lo: number, hi: number, pc: number, flags: number, write: boolean): boolean {
    if ((hi >>> 16) !== 0) {
      const address = Core.address(lo, hi);
      this.dataAbort(address, FSC_ADDRESS_SIZE_L0, flags, write, pc);
      return false;
    }
    if ((lo & (size - 1)) !== 0 && (this.alignAll || (flags & ACC_ALIGN) !== 0)) {
      this.dataAbort(Core.address(lo, hi), FSC_ALIGNMENT, flags, write, pc);
      return false;
    }
    return true;
  }

  private ldSlow(size: number, lo: number, hi: number, pc: number, flags: number): boolean {
    if (!this.checkAccess(size, lo, hi, pc, flags, false)) return false;
    const base = (hi >>> 0) * TWO32 + (lo >>> 0);
    let rl = 0;
    let rh = 0;
    for (let k = 0; k < size; k++) {
      const addr = base + k;
      if (addr >= PA_LIMIT) {
        this.dataAbort(BigInt(addr), FSC_ADDRESS_SIZE_L0, flags, false, pc);
        return false;
      }
      const page = this.bus.page(Math.floor(addr / 4096) * 4096, ACCESS_READ);
      if (page === null) {
        this.refusedAccess(BigInt(addr), size, ACCESS_READ, 0, 0, flags, pc);
        return false;
      }
      const byte = page[addr % 4096]!;
      if (k < 4) rl |= byte << (8 * k);
      else rh |= byte << (8 * (k - 4));
    }
    this.lo = rl | 0;
    this.hi = rh | 0;
    return true;
  }

  private stSlow(size: number, lo: number, hi: number, vlo: number, vhi: number, pc: number, flags: number): boolean {
    if (!this.checkAccess(size, lo, hi, pc, flags | ISS_WNR, true)) return false;
    const base = (hi >>> 0) * TWO32 + (lo >>> 0);
    // Every page is checked before any byte is written: a store that faults writes nothing.
    const pages: Uint8Array[] = [];
    for (let k = 0; k < size; k++) {
      const addr = base + k;
      if (addr >= PA_LIMIT) {
        this.dataAbort(BigInt(addr), FSC_ADDRESS_SIZE_L0, flags | ISS_WNR, true, pc);
        return false;
      }
      if (k > 0 && addr % 4096 !== 0) continue;
      const page = this.bus.page(Math.floor(addr / 4096) * 4096, ACCESS_WRITE);
      if (page === null) {
        this.refusedAccess(BigInt(addr), size, ACCESS_WRITE, vlo, vhi, flags, pc);
        return false;
      }
      pages.push(page);
    }
    for (let k = 0, p = -1; k < size; k++) {
      const addr = base + k;
      if (k === 0 || addr % 4096 === 0) {
        p += 1;
        const page = pages[p]!;
        if (hasCode(page)) invalidateCode(page);
        this.forgetPage(Math.floor(addr / 4096), page);
      }
      const byte = k < 4 ? (vlo >>> (8 * k)) & 0xff : (vhi >>> (8 * (k - 4))) & 0xff;
      pages[p]![addr % 4096] = byte;
    }
    return true;
  }

  /** After a slow-path write to `page`: cached read and fetch views of that page number now mean it. */
  private forgetPage(vpn: number, page: Uint8Array): void {
    const i = vpn & TLB_MASK;
    if (this.rTag[i] === vpn) this.rTag[i] = -1;
    if (this.fTag[i] === vpn && this.fPage[i] !== page) this.fTag[i] = -1;
  }

  private refusedAccess(address: bigint, size: number, access: AccessKind, vlo: number, vhi: number, flags: number, pc: number): void {
    const write = access === ACCESS_WRITE;
    const iss = (flags & ISS_MASK) | (write ? ISS_WNR : 0);
    const value = write ? BigInt.asUintN(size * 8, (BigInt(vhi >>> 0) << 32n) | BigInt(vlo >>> 0)) : 0n;
    const a = { address, sizeBytes: size, access, value, iss, pc };
    if (this.bus.refused(a) === "exit") {
      // The instruction has not executed: the caller emulates or reflects it, then resumes here.
      this.pc = pc;
      this.exit = EXIT_ACCESS;
      this.exitAccess = a;
      return;
    }
    if (access === ACCESS_FETCH) this.fetchAbort(address, FSC_EXTERNAL);
    else this.dataAbort(address, FSC_EXTERNAL, flags, write, pc);
  }

  private dataAbort(address: bigint, fsc: number, flags: number, write: boolean, pc: number): void {
    // ISV-described syndromes are reported only for faults a hypervisor could emulate (stage 2);
    // aborts taken to EL1 here report ISV = 0, as a stage-1 or external abort does.
    const iss = (write ? ISS_WNR : 0) | fsc;
    void flags;
    this.exception(this.el === 0 ? EC_DABORT_LOWER : EC_DABORT_SAME, iss, pc, 0, address);
  }

  /** DC ZVA: zeroes the 64-byte block holding the address in slot pair `a` (DCZID_EL0.BS = 4). */
  dcZva(a: number, pc: number): boolean {
    if (this.el === 0 && (this.sys.sctlr_el1 & SCTLR_DZE) === 0n) {
      this.exception(EC_SYSREG, 0, pc, 0, null);
      return false;
    }
    const R = this.R;
    const base = R[a]! & ~63;
    R[SLOT_TMP2] = base;
    R[SLOT_TMP2 + 1] = R[a + 1]!;
    for (let k = 0; k < 64; k += 8) {
      const lo = (base + k) | 0;
      R[SLOT_TMP2] = lo;
      // The block is 64-byte aligned, so 8-byte stores inside it are aligned even for Device memory.
      if (!this.st(8, SLOT_TMP2, 0, 0, pc, ISS_WNR)) return false;
    }
    return true;
  }

  /** Alignment to `bytes` required whatever the memory type (exclusives, acquire/release); false after the fault. */
  aligned(a: number, bytes: number, pc: number, write: number): boolean {
    if ((this.R[a]! & (bytes - 1)) === 0) return true;
    this.dataAbort(Core.address(this.R[a]!, this.R[a + 1]!), FSC_ALIGNMENT, 0, write !== 0, pc);
    return false;
  }

  /**
   * AT S1E*: with stage 1 off, the output address is the input address. PAR_EL1 reports success
   * (F = 0), the PA, and Device-nGnRnE attributes (0x00), as for any access with the MMU off.
   */
  translate(a: number): void {
    const va = Core.address(this.R[a]!, this.R[a + 1]!);
    this.sysSet("par_el1", va & 0xfffffffff000n);
  }

  // ---- exclusives ------------------------------------------------------------------------------

  /** LDXR marks the address; a later STXR of the same address and size succeeds once. */
  markExclusive(a: number, size: number): void {
    const R = this.R;
    this.monitorAddr = (R[a + 1]! >>> 0) * TWO32 + (R[a]! >>> 0);
    this.monitorSize = size;
  }

  /** Whether a store-exclusive to the address in slot pair `a` may proceed; the monitor opens either way. */
  checkExclusive(a: number, size: number): boolean {
    const R = this.R;
    const addr = (R[a + 1]! >>> 0) * TWO32 + (R[a]! >>> 0);
    const ok = this.monitorAddr === addr && this.monitorSize === size;
    this.monitorAddr = -1;
    return ok;
  }

  // ---- system register access ------------------------------------------------------------------

  private el0Allowed(d: SysRegDesc): boolean {
    if (this.el !== 0) return true;
    if (!d.el0) return false;
    const sctlr = this.sys.sctlr_el1;
    switch (d.name) {
      case "daif":
        return (sctlr & SCTLR_UMA) !== 0n;
      case "ctr_el0":
        return (sctlr & SCTLR_UCT) !== 0n;
      case "cntvct_el0":
      case "cntfrq_el0":
        return (this.sys.cntkctl_el1 & 0x2n) !== 0n || (this.sys.cntkctl_el1 & 0x1n) !== 0n;
      case "cntv_ctl_el0":
      case "cntv_cval_el0":
      case "cntv_tval_el0":
        return (this.sys.cntkctl_el1 & 0x100n) !== 0n;
      default:
        return true;
    }
  }

  /** MRS: the register's value into slot pair `d`; false after taking UNDEFINED. */
  mrs(desc: SysRegDesc, d: number, pc: number, index: number): boolean {
    if (!this.el0Allowed(desc)) {
      this.undefinedInsn(pc);
      return false;
    }
    const v = this.readSys(desc, this.retired + index);
    if (v === undefined) {
      this.undefinedInsn(pc);
      return false;
    }
    this.R[d] = Number(v & 0xffffffffn) | 0;
    this.R[d + 1] = Number((v >> 32n) & 0xffffffffn) | 0;
    return true;
  }

  private readSys(desc: SysRegDesc, retired: number): bigint | undefined {
    const claimed = this.bus.readSysreg(desc.name, retired);
    if (claimed !== undefined) return claimed;
    const r = desc.read;
    if (r.kind === "state") return this.sys[r.name];
    if (r.kind === "const") return r.value;
    if (r.kind === "none") return undefined;
    switch (desc.name) {
      case "nzcv":
        return BigInt((this.nzcvBits() << 28) >>> 0);
      case "daif":
        return BigInt(this.daif << 6);
      case "currentel":
        return BigInt(this.el << 2);
      case "spsel":
        return BigInt(this.spsel);
      case "sp_el0":
        if (this.spsel === 0) return undefined;
        return (BigInt(this.R[SLOT_SP_EL0 + 1]! >>> 0) << 32n) | BigInt(this.R[SLOT_SP_EL0]! >>> 0);
      case "isr_el1":
        return this.irqSignalled(retired) ? 0x80n : 0n;
      case "cntvct_el0":
        return this.bus.counter(retired);
      case "cntv_ctl_el0": {
        const ctl = this.sys.cntv_ctl_el0 & 3n;
        const fired = this.bus.counter(retired) >= this.sys.cntv_cval_el0 ? 4n : 0n;
        return (ctl & 1n) !== 0n ? ctl | fired : ctl;
      }
      case "cntv_tval_el0":
        return BigInt.asUintN(64, BigInt.asIntN(32, this.sys.cntv_cval_el0 - this.bus.counter(retired)));
      // A GIC CPU interface with nothing behind it: no interrupt is ever pending.
      case "icc_iar0_el1":
      case "icc_iar1_el1":
      case "icc_hppir0_el1":
      case "icc_hppir1_el1":
        return 1023n;
      case "icc_rpr_el1":
        return 0xffn;
      default:
        return undefined;
    }
  }

  /** MSR: writes (lo, hi) to the register; false after taking UNDEFINED. */
  msr(desc: SysRegDesc, lo: number, hi: number, pc: number, index: number): boolean {
    if (!this.el0Allowed(desc)) {
      this.undefinedInsn(pc);
      return false;
    }
    const v = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
    const retired = this.retired + index;
    if (this.bus.writeSysreg(desc.name, v, retired)) {
      this.check = 1;
      return true;
    }
    const w = desc.write;
    if (w.kind === "state") {
      this.sysSet(w.name, v);
      return true;
    }
    if (w.kind === "none" || w.kind === "const") {
      this.undefinedInsn(pc);
      return false;
    }
    return this.writeSpecial(desc.name, lo, hi, v, retired, pc);
  }

  /** An MSR to a register whose write does more than store the value (PSTATE views, masks, timers, the GIC interface). */
  private writeSpecial(name: string, lo: number, hi: number, v: bigint, retired: number, pc: number): boolean {
    switch (name) {
      case "nzcv":
        this.N = (lo >>> 31) & 1;
        this.Z = (lo >>> 30) & 1;
        this.C = (lo >>> 29) & 1;
        this.V = (lo >>> 28) & 1;
        return true;
      case "daif":
        this.daif = (lo >>> 6) & 0xf;
        this.check = 1;
        return true;
      case "spsel":
        this.setMode(this.el, lo & 1);
        return true;
      case "sp_el0":
        if (this.spsel === 0) {
          this.undefinedInsn(pc);
          return false;
        }
        this.R[SLOT_SP_EL0] = lo;
        this.R[SLOT_SP_EL0 + 1] = hi;
        return true;
      case "sctlr_el1":
        this.sysSet("sctlr_el1", v);
        this.sctlrChanged();
        return true;
      case "vbar_el1":
        this.sysSet("vbar_el1", v & ~0x7ffn);
        return true;
      case "cntv_ctl_el0":
        this.sysSet("cntv_ctl_el0", v & 3n);
        this.check = 1;
        return true;
      case "cntv_cval_el0":
        this.sysSet("cntv_cval_el0", v);
        this.check = 1;
        return true;
      case "cntv_tval_el0":
        this.sysSet("cntv_cval_el0", BigInt.asUintN(64, this.bus.counter(retired) + BigInt.asIntN(32, v)));
        this.check = 1;
        return true;
      case "oslar_el1":
        this.sysSet("oslsr_el1", (this.sys.oslsr_el1 & ~2n) | ((v & 1n) << 1n));
        return true;
      case "icc_ctlr_el1":
        // Only EOImode (bit 1) and CBPR (bit 0) are writable; the rest describes the interface.
        this.sysSet("icc_ctlr_el1", (this.sys.icc_ctlr_el1 & ~3n) | (v & 3n));
        return true;
      case "icc_sre_el1":
        return true;
      // With nothing behind the interface, EOIs, deactivations and SGIs go nowhere.
      case "icc_eoir0_el1":
      case "icc_eoir1_el1":
      case "icc_dir_el1":
      case "icc_sgi0r_el1":
      case "icc_sgi1r_el1":
      case "icc_asgi1r_el1":
        this.check = 1;
        return true;
      default:
        this.undefinedInsn(pc);
        return false;
    }
  }

  /** MSR (immediate) to PSTATE fields: SPSel, DAIFSet, DAIFClr (ARMv8.0 has no others). */
  msrImm(field: "spsel" | "daifset" | "daifclr", imm: number, pc: number): boolean {
    if (this.el === 0 && (field === "spsel" || (this.sys.sctlr_el1 & SCTLR_UMA) === 0n)) {
      if (field === "spsel") this.undefinedInsn(pc);
      else this.exception(EC_SYSREG, 0, pc, 0, null);
      return false;
    }
    if (field === "spsel") this.setMode(this.el, imm & 1);
    else if (field === "daifset") this.daif |= imm & 0xf;
    else this.daif &= ~imm & 0xf;
    this.check = 1;
    return true;
  }

  /** Cache maintenance by address at EL0 needs SCTLR_EL1.UCI; returns false after trapping. */
  cacheOpAllowed(pc: number): boolean {
    if (this.el !== 0 || (this.sys.sctlr_el1 & SCTLR_UCI) !== 0n) return true;
    this.exception(EC_SYSREG, 0, pc, 0, null);
    return false;
  }

  // ---- traps -----------------------------------------------------------------------------------

  /** HVC, SMC: exit to the caller, or UNDEFINED where no higher EL takes them. PC is after the instruction on exit. */
  hvcSmc(kind: "hvc" | "smc", imm: number, pc: number): boolean {
    if (this.el === 0 || this.bus.trap(kind, imm) !== "exit") {
      this.undefinedInsn(pc);
      return false;
    }
    this.pc = pc + 4;
    this.exit = kind === "hvc" ? EXIT_HVC : EXIT_SMC;
    this.exitImm = imm;
    return true;
  }

  /** BRK: exit (PC stays at the BRK, not retired) or the Breakpoint exception (EC 0x3C). */
  brk(imm: number, pc: number): void {
    if (this.bus.trap("brk", imm) === "exit") {
      this.pc = pc;
      this.exit = EXIT_BRK;
      this.exitImm = imm;
      return;
    }
    this.exception(EC_BRK, imm, pc, 0, null);
  }

  /** WFI/WFE: exit to the caller (which blocks the vCPU) unless an interrupt is already pending. */
  wait(kind: "wfi" | "wfe", pc: number): void {
    this.pc = pc + 4;
    // WFI completes at once when an interrupt is signalled, whatever PSTATE.I says.
    if (kind === "wfi" && this.irqSignalled(this.retired)) return;
    if (this.bus.trap(kind, 0) === "exit") this.exit = kind === "wfi" ? EXIT_WFI : EXIT_WFE;
  }

  /** SVC: the Supervisor Call exception to EL1 (EC 0x15), preferred return after the SVC. */
  svc(imm: number, pc: number): void {
    this.exception(EC_SVC, imm, pc + 4, 0, null);
  }

  /** The Illegal Execution State exception, taken by the first instruction after an illegal ERET. */
  illegalState(pc: number): void {
    this.exception(EC_ILLEGAL_STATE, 0, pc, 0, null);
  }
}

export { ACCESS_READ, ACCESS_WRITE, ACCESS_FETCH };
