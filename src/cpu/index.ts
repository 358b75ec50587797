/**
 * The emulated CPU: an ARMv8.0-A (A64, integer) interpreter for EL1/EL0 code over plain-data state.
 * It imports nothing from the hypervisor model; the machine reaches it through `CpuBus`.
 */
export type { AccessKind, CpuBus, RefusedAccess, RefusedAction, TrapKind } from "./bus.ts";
export { ACCESS_FETCH, ACCESS_READ, ACCESS_WRITE } from "./bus.ts";
export type { CpuState, ResetOptions, SysRegName, SysRegs } from "./state.ts";
export { REG_PC, REG_SP_EL0, REG_SP_EL1, cpuView, currentSp, isCpuState, readReg, resetCpu, withReg } from "./state.ts";
export type { RunOptions, RunResult, StopReason } from "./run.ts";
export { run } from "./run.ts";
export { classOf, disassemble, exceptionName, isImplemented } from "./disas.ts";
export { FlatRam, INSNS_PER_TICK } from "./flat.ts";
export type { ProgramImage, Segment } from "./image.ts";
export { RAW_LOAD_ADDRESS, parseImage } from "./image.ts";
export { A64 } from "./isa/index.ts";
export { completeLoad, readX, skipInstruction, storeValue, withX } from "./state.ts";
export { injectAbort } from "./inject.ts";
