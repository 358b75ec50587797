import { REG_PC, REG_SP_EL0, REG_SP_EL1, readReg, skipInstruction, withReg, withX, type CpuState } from "../../cpu/index.ts";
import type { ThreadObject } from "./state.ts";

/**
 * The vCPU's register context is the CPU's state (src/cpu): one copy of the truth, whether the vCPU
 * runs real code (`vcpu_exec`) or a scripted guest. These are the few things the hypervisor does to
 * it from outside: set the entry point, write a register for the RM, step past an emulated access.
 */

/** Power-on at `pc` with X0 = `x0` (vcpu_poweron, PSCI CPU_ON, the RM's VM_START). */
export function setEntry(t: ThreadObject, pc: bigint, x0: bigint | null): void {
  const at = withReg(t.cpu, REG_PC, pc);
  t.cpu = x0 === null ? at : withX(at, 0, [x0]);
}

/** pvmfw's jump to the payload: PC = entry, X0 = the DTB, X1..X29 cleared (the handover ABI). */
export function jumpTo(t: ThreadObject, pc: bigint, x0: bigint): void {
  t.cpu = withX(withReg(t.cpu, REG_PC, pc), 0, [x0, ...Array.from({ length: 29 }, () => 0n)]);
}

/** vcpu_register_write: X0-X30, the PC, or SP_EL0/SP_EL1. */
export function writeRegister(t: ThreadObject, set: "x" | "pc" | "sp", index: number, value: bigint): void {
  if (set === "x") t.cpu = withX(t.cpu, index, [value]);
  else if (set === "pc") t.cpu = withReg(t.cpu, REG_PC, value);
  else t.cpu = withReg(t.cpu, index === 0 ? REG_SP_EL0 : REG_SP_EL1, value);
}

/** The access the hypervisor emulated is done: the PC moves past it. */
export function advancePc(t: ThreadObject): void {
  t.cpu = skipInstruction(t.cpu);
}

export const pcOf = (t: ThreadObject): bigint => readReg(t.cpu, REG_PC);

/**
 * The data-abort syndrome (ESR ISS) of a single-register access of `sizeBytes` to or from Xreg:
 * what a scripted guest's stage2_fault stands for (64-bit register, no sign extension).
 */
export function syndromeFor(reg: number, sizeBytes: number, write: boolean): number {
  return (1 << 24) | (Math.log2(sizeBytes) << 22) | ((reg & 31) << 16) | (1 << 15) | (write ? 1 << 6 : 0);
}
