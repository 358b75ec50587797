import type { Envelope } from "../../core/event.ts";

/**
 * A vCPU runs real guest code (src/cpu) for at most `budget` instructions, or until it leaves the
 * guest: a hypercall or SMCCC call (HVC/SMC), WFI, a stage-2 fault (emulated at EL2, forwarded to
 * the VMM as a VMMIO exit, or injected as an abort), or the end of its budget. The trap is handled
 * inside the same event, as Gunyah handles it before returning to the guest or blocking the vCPU;
 * the outcome records the instructions retired, where the guest stopped and how the exit was
 * handled, so replay re-executes and verifies every instruction.
 *
 * Virtual time: the vCPU runs one instruction per nanosecond (`GUEST_INSNS_PER_NS`), so the event
 * spans [t, t + retired) and the machine's clock stands at t + retired after it; CNTVCT reads inside
 * it are CNTVCT of that instant. Interrupts are taken at the event's first instruction and where
 * the guest's own instructions unmask or raise them, so the same trace always executes the same
 * instructions (QEMU's icount record/replay, in spirit).
 *
 * Outcome: `{ retired, pc, insn, exit }` (see `ExecExit`).
 */
export interface VcpuExecEvent extends Envelope {
  readonly kind: "vcpu_exec";
  readonly vm: number;
  readonly vcpu: number;
  readonly budget: number;
}

/** Guest instructions retired per nanosecond of virtual time (1 GHz, one instruction a cycle). */
export const GUEST_INSNS_PER_NS = 1;

/** The most instructions one event may run: bounds the work of any one event a trace can ask for. */
export const EXEC_BUDGET_MAX = 10_000_000;
