/**
 * The vCPU panel's extension point: registers and the disassembly at the PC of one vCPU at one
 * event, for traces whose state holds an emulated CPU's registers. The viewer holds no CPU
 * knowledge: a provider (written beside the CPU room's code, registered in `CPU_VIEWS`) reads
 * the state and disassembles with the CPU's own decode table. When no provider recognises the
 * state, the API answers `{ available: false }` and the page draws no panel.
 */
import { guestCpuView } from "./guest-cpu.ts";

export interface CpuRegister {
  readonly name: string;
  /** As a person reads it: "0x0000000080000000". */
  readonly value: string;
}

export interface CpuInstruction {
  /** "0x..." guest address (the IPA with the MMU off). */
  readonly address: string;
  /** The encoding as hex ("d503201f"). */
  readonly word: string;
  /** The disassembly ("nop", "ldr x0, [x1, #8]"). */
  readonly text: string;
  readonly atPc: boolean;
}

export interface CpuSnapshot {
  readonly pc: string;
  /** Exception level and other one-line status ("EL1h, NZCV=0110, DAIF=..."). */
  readonly status: string;
  readonly registers: readonly CpuRegister[];
  /** Instructions around the PC, in address order. */
  readonly instructions: readonly CpuInstruction[];
}

/** Reads one vCPU of a state; null when this state has no CPU registers for it. */
export type CpuView = (state: unknown, vm: number, vcpu: number) => CpuSnapshot | null;

/** The providers this build has, tried in order: hvsim's emulated CPU (guest-cpu.ts). */
export const CPU_VIEWS: readonly CpuView[] = [guestCpuView];
