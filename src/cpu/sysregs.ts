import type { SysRegName } from "./state.ts";

/**
 * The system registers MRS and MSR reach, by encoding (op0, op1, CRn, CRm, op2; Arm ARM D17 and the
 * "System register index by encoding" table). The CPU identifies itself as an ARMv8.0-A EL1 with no
 * floating point or Advanced SIMD, no EL3, a GICv3 system-register CPU interface and the generic
 * timer; the ID values below say exactly that, so software probing features sees the truth.
 * Anything not in this table is UNDEFINED, as on hardware without it.
 */

/** How a register is read or written. `state` registers live in `CpuState.sys` under the same name. */
export type SysAccess =
  | { readonly kind: "state"; readonly name: SysRegName }
  | { readonly kind: "const"; readonly value: bigint }
  | { readonly kind: "special" }
  | { readonly kind: "none" };

export interface SysRegDesc {
  /** The architectural name, as objdump prints it (lower case). */
  readonly name: string;
  readonly op0: number;
  readonly op1: number;
  readonly crn: number;
  readonly crm: number;
  readonly op2: number;
  readonly read: SysAccess;
  readonly write: SysAccess;
  /** Accessible at EL0 (subject to the SCTLR_EL1/CNTKCTL_EL1 enables the Core checks). */
  readonly el0: boolean;
  /** A write can change whether an interrupt is pending or masked, or the state blocks were built for. */
  readonly endsBlock?: boolean;
}

export const encodeSysreg = (op0: number, op1: number, crn: number, crm: number, op2: number): number =>
  (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;

const ST = (name: SysRegName): SysAccess => ({ kind: "state", name });
const K = (value: bigint): SysAccess => ({ kind: "const", value });
const SP: SysAccess = { kind: "special" };
const NO: SysAccess = { kind: "none" };

type Row = [name: string, enc: [number, number, number, number, number], read: SysAccess, write: SysAccess, el0?: boolean, endsBlock?: boolean];

/** MIDR_EL1: Arm Ltd, Cortex-A57 r1p3 (0x411FD073), the core QEMU's virt board models by default. */
export const MIDR = 0x411fd073n;
/** ID_AA64PFR0_EL1: EL0/EL1/EL2 AArch64 only, no EL3, FP and AdvSIMD not implemented (0xF), GICv3 sysregs. */
export const ID_AA64PFR0 = 0x01ff0111n;
/** ID_AA64ISAR0_EL1: CRC32 instructions implemented (bits 19:16 = 1); no atomics, no crypto. */
export const ID_AA64ISAR0 = 0x10000n;
/** ID_AA64MMFR0_EL1: 48-bit PA (PARange 0b0101), 16-bit ASIDs, 4 KiB granule only (TGran16/64 unsupported). */
export const ID_AA64MMFR0 = 0x00000000ff000025n;
/** ID_AA64DFR0_EL1: ARMv8 debug (DebugVer 6), the minimum 2 breakpoints and 2 watchpoints, no PMU. */
export const ID_AA64DFR0 = 0x00101006n;
/** CTR_EL0: 64-byte I and D cache lines (IminLine = DminLine = 4), PIPT I-cache. */
export const CTR = 0x8444c004n;
/** DCZID_EL0: DC ZVA permitted, 64-byte blocks (BS = 4). */
export const DCZID = 0x4n;
/** CNTFRQ_EL0: the counter runs at 62.5 MHz (the frequency QEMU's virt board and many SoCs use). */
export const CNTFRQ = 62_500_000n;

const ROWS: readonly Row[] = [
  ["midr_el1", [3, 0, 0, 0, 0], K(MIDR), NO],
  ["mpidr_el1", [3, 0, 0, 0, 5], ST("mpidr_el1"), NO],
  ["revidr_el1", [3, 0, 0, 0, 6], K(0n), NO],
  ["id_aa64pfr0_el1", [3, 0, 0, 4, 0], K(ID_AA64PFR0), NO],
  ["id_aa64pfr1_el1", [3, 0, 0, 4, 1], K(0n), NO],
  ["id_aa64dfr0_el1", [3, 0, 0, 5, 0], K(ID_AA64DFR0), NO],
  ["id_aa64dfr1_el1", [3, 0, 0, 5, 1], K(0n), NO],
  ["id_aa64afr0_el1", [3, 0, 0, 5, 4], K(0n), NO],
  ["id_aa64afr1_el1", [3, 0, 0, 5, 5], K(0n), NO],
  ["id_aa64isar0_el1", [3, 0, 0, 6, 0], K(ID_AA64ISAR0), NO],
  ["id_aa64isar1_el1", [3, 0, 0, 6, 1], K(0n), NO],
  ["id_aa64mmfr0_el1", [3, 0, 0, 7, 0], K(ID_AA64MMFR0), NO],
  ["id_aa64mmfr1_el1", [3, 0, 0, 7, 1], K(0n), NO],
  ["id_aa64mmfr2_el1", [3, 0, 0, 7, 2], K(0n), NO],
  ["sctlr_el1", [3, 0, 1, 0, 0], ST("sctlr_el1"), SP, false, true],
  ["actlr_el1", [3, 0, 1, 0, 1], ST("actlr_el1"), ST("actlr_el1")],
  ["cpacr_el1", [3, 0, 1, 0, 2], ST("cpacr_el1"), ST("cpacr_el1")],
  ["ttbr0_el1", [3, 0, 2, 0, 0], ST("ttbr0_el1"), ST("ttbr0_el1")],
  ["ttbr1_el1", [3, 0, 2, 0, 1], ST("ttbr1_el1"), ST("ttbr1_el1")],
  ["tcr_el1", [3, 0, 2, 0, 2], ST("tcr_el1"), ST("tcr_el1")],
  ["spsr_el1", [3, 0, 4, 0, 0], ST("spsr_el1"), ST("spsr_el1")],
  ["elr_el1", [3, 0, 4, 0, 1], ST("elr_el1"), ST("elr_el1")],
  ["sp_el0", [3, 0, 4, 1, 0], SP, SP],
  ["spsel", [3, 0, 4, 2, 0], SP, SP, false, true],
  ["currentel", [3, 0, 4, 2, 2], SP, NO],
  ["icc_pmr_el1", [3, 0, 4, 6, 0], ST("icc_pmr_el1"), ST("icc_pmr_el1"), false, true],
  ["afsr0_el1", [3, 0, 5, 1, 0], ST("afsr0_el1"), ST("afsr0_el1")],
  ["afsr1_el1", [3, 0, 5, 1, 1], ST("afsr1_el1"), ST("afsr1_el1")],
  ["esr_el1", [3, 0, 5, 2, 0], ST("esr_el1"), ST("esr_el1")],
  ["far_el1", [3, 0, 6, 0, 0], ST("far_el1"), ST("far_el1")],
  ["par_el1", [3, 0, 7, 4, 0], ST("par_el1"), ST("par_el1")],
  ["mair_el1", [3, 0, 10, 2, 0], ST("mair_el1"), ST("mair_el1")],
  ["amair_el1", [3, 0, 10, 3, 0], ST("amair_el1"), ST("amair_el1")],
  ["vbar_el1", [3, 0, 12, 0, 0], ST("vbar_el1"), SP],
  ["isr_el1", [3, 0, 12, 1, 0], SP, NO],
  ["icc_iar0_el1", [3, 0, 12, 8, 0], SP, NO, false, true],
  ["icc_eoir0_el1", [3, 0, 12, 8, 1], NO, SP, false, true],
  ["icc_hppir0_el1", [3, 0, 12, 8, 2], SP, NO],
  ["icc_bpr0_el1", [3, 0, 12, 8, 3], ST("icc_bpr0_el1"), ST("icc_bpr0_el1")],
  ["icc_ap0r0_el1", [3, 0, 12, 8, 4], ST("icc_ap0r0_el1"), ST("icc_ap0r0_el1"), false, true],
  ["icc_ap1r0_el1", [3, 0, 12, 9, 0], ST("icc_ap1r0_el1"), ST("icc_ap1r0_el1"), false, true],
  ["icc_dir_el1", [3, 0, 12, 11, 1], NO, SP, false, true],
  ["icc_rpr_el1", [3, 0, 12, 11, 3], SP, NO],
  ["icc_sgi1r_el1", [3, 0, 12, 11, 5], NO, SP, false, true],
  ["icc_asgi1r_el1", [3, 0, 12, 11, 6], NO, SP, false, true],
  ["icc_sgi0r_el1", [3, 0, 12, 11, 7], NO, SP, false, true],
  ["icc_iar1_el1", [3, 0, 12, 12, 0], SP, NO, false, true],
  ["icc_eoir1_el1", [3, 0, 12, 12, 1], NO, SP, false, true],
  ["icc_hppir1_el1", [3, 0, 12, 12, 2], SP, NO],
  ["icc_bpr1_el1", [3, 0, 12, 12, 3], ST("icc_bpr1_el1"), ST("icc_bpr1_el1")],
  ["icc_ctlr_el1", [3, 0, 12, 12, 4], ST("icc_ctlr_el1"), SP],
  ["icc_sre_el1", [3, 0, 12, 12, 5], ST("icc_sre_el1"), SP],
  ["icc_igrpen0_el1", [3, 0, 12, 12, 6], ST("icc_igrpen0_el1"), ST("icc_igrpen0_el1"), false, true],
  ["icc_igrpen1_el1", [3, 0, 12, 12, 7], ST("icc_igrpen1_el1"), ST("icc_igrpen1_el1"), false, true],
  ["contextidr_el1", [3, 0, 13, 0, 1], ST("contextidr_el1"), ST("contextidr_el1")],
  ["tpidr_el1", [3, 0, 13, 0, 4], ST("tpidr_el1"), ST("tpidr_el1")],
  ["cntkctl_el1", [3, 0, 14, 1, 0], ST("cntkctl_el1"), ST("cntkctl_el1")],
  ["ccsidr_el1", [3, 1, 0, 0, 0], K(0n), NO],
  ["clidr_el1", [3, 1, 0, 0, 1], K(0n), NO],
  ["aidr_el1", [3, 1, 0, 0, 7], K(0n), NO],
  ["csselr_el1", [3, 2, 0, 0, 0], ST("csselr_el1"), ST("csselr_el1")],
  ["ctr_el0", [3, 3, 0, 0, 1], K(CTR), NO, true],
  ["dczid_el0", [3, 3, 0, 0, 7], K(DCZID), NO, true],
  ["nzcv", [3, 3, 4, 2, 0], SP, SP, true],
  ["daif", [3, 3, 4, 2, 1], SP, SP, true, true],
  ["tpidr_el0", [3, 3, 13, 0, 2], ST("tpidr_el0"), ST("tpidr_el0"), true],
  ["tpidrro_el0", [3, 3, 13, 0, 3], ST("tpidrro_el0"), ST("tpidrro_el0"), true],
  ["cntfrq_el0", [3, 3, 14, 0, 0], K(CNTFRQ), NO, true],
  ["cntvct_el0", [3, 3, 14, 0, 2], SP, NO, true],
  ["cntv_tval_el0", [3, 3, 14, 3, 0], SP, SP, true, true],
  ["cntv_ctl_el0", [3, 3, 14, 3, 1], SP, SP, true, true],
  ["cntv_cval_el0", [3, 3, 14, 3, 2], ST("cntv_cval_el0"), SP, true, true],
  ["mdscr_el1", [2, 0, 0, 2, 2], ST("mdscr_el1"), ST("mdscr_el1")],
  ["oslar_el1", [2, 0, 1, 0, 4], NO, SP],
  ["oslsr_el1", [2, 0, 1, 1, 4], ST("oslsr_el1"), NO],
  ["osdlr_el1", [2, 0, 1, 3, 4], ST("osdlr_el1"), ST("osdlr_el1")],
];

const byEncoding = new Map<number, SysRegDesc>();
for (const [name, [op0, op1, crn, crm, op2], read, write, el0, endsBlock] of ROWS) {
  const enc = encodeSysreg(op0, op1, crn, crm, op2);
  if (byEncoding.has(enc)) throw new Error(`sysreg table: ${name} duplicates an encoding`);
  byEncoding.set(enc, { name, op0, op1, crn, crm, op2, read, write, el0: el0 ?? false, endsBlock });
}

/** The register at an encoding, or undefined: MRS/MSR of it is UNDEFINED. */
export function sysregAt(enc: number): SysRegDesc | undefined {
  return byEncoding.get(enc);
}

/**
 * The name objdump uses for an encoding: the register's own name where objdump knows it, otherwise
 * the generic `s<op0>_<op1>_c<CRn>_c<CRm>_<op2>` form.
 */
export function sysregText(op0: number, op1: number, crn: number, crm: number, op2: number): string {
  return byEncoding.get(encodeSysreg(op0, op1, crn, crm, op2))?.name ?? `s${op0}_${op1}_c${crn}_c${crm}_${op2}`;
}

export const SYSREGS: readonly SysRegDesc[] = [...byEncoding.values()];
