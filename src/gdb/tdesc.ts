import { REG_PC, REG_SP_EL0, REG_SP_EL1, currentSp, readReg, resetCpu, type CpuState, type SysRegName } from "../cpu/index.ts";

/**
 * The registers gdb sees and the target description (qXfer:features:read:target.xml) that names
 * them. The core feature is the one gdb's AArch64 support requires by name
 * (`org.gnu.gdb.aarch64.core`: x0..x30, sp, pc, cpsr); the second feature carries what else the CPU
 * keeps: both banked stack pointers and the EL1 system registers of `CpuState.sys`, in the
 * "system" register group (`info registers system`, `p $vbar_el1`).
 *
 * The register number of the protocol (`p`, expedited registers in stop replies) is the position
 * in `REGISTERS`, and `g` carries all of them in that order.
 */

export interface RegisterDef {
  readonly name: string;
  readonly bitsize: 32 | 64;
  readonly type: string;
  readonly group?: "system";
  readonly read: (s: CpuState) => bigint;
}

/** PSTATE as gdb's cpsr shows it: the SPSR_EL1 layout for AArch64 state (Arm ARM C5.2.18). */
export function cpsrOf(s: CpuState): bigint {
  const m = s.el === 1 ? 4 | s.spsel : 0;
  return BigInt((((s.nzcv & 0xf) << 28) >>> 0) + (s.il << 20) + ((s.daif & 0xf) << 6) + m);
}

/** The EL1 system registers the CPU keeps, in `CpuState.sys` order (one list: the state's own). */
const SYSTEM_REGISTERS = Object.keys(resetCpu({ pc: 0 }).sys) as SysRegName[];

/** Registers gdb can use as addresses: shown as code or data pointers. */
const POINTER_TYPE: Partial<Record<SysRegName, string>> = { vbar_el1: "code_ptr", elr_el1: "code_ptr", far_el1: "data_ptr" };

export const REGISTERS: readonly RegisterDef[] = [
  ...Array.from({ length: 31 }, (_, i): RegisterDef => ({ name: `x${i}`, bitsize: 64, type: "int", read: (s) => readReg(s, i) })),
  { name: "sp", bitsize: 64, type: "data_ptr", read: currentSp },
  { name: "pc", bitsize: 64, type: "code_ptr", read: (s) => readReg(s, REG_PC) },
  { name: "cpsr", bitsize: 32, type: "cpsr_flags", read: cpsrOf },
  { name: "sp_el0", bitsize: 64, type: "data_ptr", group: "system", read: (s) => readReg(s, REG_SP_EL0) },
  { name: "sp_el1", bitsize: 64, type: "data_ptr", group: "system", read: (s) => readReg(s, REG_SP_EL1) },
  ...SYSTEM_REGISTERS.map((name): RegisterDef => ({ name, bitsize: 64, type: POINTER_TYPE[name] ?? "uint64", group: "system", read: (s) => s.sys[name] })),
];

export const REGNUM_SP = 31;
export const REGNUM_PC = 32;
/** The registers of `org.gnu.gdb.aarch64.core`; the rest belong to hvsim's system feature. */
const CORE_COUNT = 34;

/** SPSR/PSTATE fields (Arm ARM C5.2.18): name, first bit, last bit. */
const CPSR_FIELDS: readonly (readonly [string, number, number])[] = [
  ["SP", 0, 0],
  ["EL", 2, 3],
  ["nRW", 4, 4],
  ["F", 6, 6],
  ["I", 7, 7],
  ["A", 8, 8],
  ["D", 9, 9],
  ["IL", 20, 20],
  ["SS", 21, 21],
  ["V", 28, 28],
  ["C", 29, 29],
  ["Z", 30, 30],
  ["N", 31, 31],
];

function regXml(r: RegisterDef, regnum: number): string {
  return `    <reg name="${r.name}" bitsize="${r.bitsize}" type="${r.type}" regnum="${regnum}"${r.group ? ` group="${r.group}"` : ""}/>`;
}

/** The feature name of hvsim's EL1 system registers. */
export const SYSTEM_FEATURE = "org.hvsim.aarch64.el1";

export const TARGET_XML: string = [
  `<?xml version="1.0"?>`,
  `<!DOCTYPE target SYSTEM "gdb-target.dtd">`,
  `<target version="1.0">`,
  `  <architecture>aarch64</architecture>`,
  `  <feature name="org.gnu.gdb.aarch64.core">`,
  `    <flags id="cpsr_flags" size="4">`,
  ...CPSR_FIELDS.map(([name, start, end]) => `      <field name="${name}" start="${start}" end="${end}"/>`),
  `    </flags>`,
  ...REGISTERS.slice(0, CORE_COUNT).map((r, i) => regXml(r, i)),
  `  </feature>`,
  `  <feature name="${SYSTEM_FEATURE}">`,
  ...REGISTERS.slice(CORE_COUNT).map((r, i) => regXml(r, CORE_COUNT + i)),
  `  </feature>`,
  `</target>`,
  ``,
].join("\n");
