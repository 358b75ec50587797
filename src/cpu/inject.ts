import type { CpuBus } from "./bus.ts";
import { Core, EC_DABORT_LOWER, EC_DABORT_SAME, EC_IABORT_LOWER, EC_IABORT_SAME } from "./core.ts";
import type { CpuState } from "./state.ts";

/** A bus with nothing on it: exception entry needs none, but the Core is built over one. */
const NO_BUS: CpuBus = {
  page: () => null,
  refused: () => "abort",
  trap: () => "architectural",
  readSysreg: () => undefined,
  writeSysreg: () => false,
  pendingPriority: () => -1,
  counter: () => 0n,
  quietFor: () => Infinity,
  exceptionTaken: () => false,
};

/**
 * A hypervisor injects a synchronous external abort into the guest (what Gunyah does for a stage-2
 * fault nothing claims; GH:hyp/vm/vcpu/aarch64/src/exception_inject.c): the data or instruction
 * abort is taken to the guest's EL1 with FAR = the faulting address and DFSC/IFSC 0x10, from the
 * instruction at the PC (not retired).
 */
export function injectAbort(s: CpuState, address: bigint, fetch: boolean, write: boolean): CpuState {
  const c = new Core(s, NO_BUS, false);
  const lower = c.el === 0;
  const ec = fetch ? (lower ? EC_IABORT_LOWER : EC_IABORT_SAME) : lower ? EC_DABORT_LOWER : EC_DABORT_SAME;
  c.exception(ec, 0x10 | (write && !fetch ? 1 << 6 : 0), c.pc, 0, address);
  return c.save();
}
