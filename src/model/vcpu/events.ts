import type { Envelope } from "../../core/event.ts";

/**
 * The guest executed WFI (trapped: HCR_EL2.TWI). It blocks unless a VIRQ is already deliverable;
 * a later deliverable VIRQ wakes it. Outcome: `{ blocked }`.
 */
export interface VcpuWfiEvent extends Envelope {
  readonly kind: "vcpu_wfi";
  readonly vm: number;
  readonly vcpu: number;
}

/**
 * The guest wrote a virtual-timer system register. Not trapped on hardware, but the model needs the
 * compare value to know when PPI 27 fires. Outcome: `{ dueNs, fired }`.
 */
export interface SysregWriteEvent extends Envelope {
  readonly kind: "sysreg_write";
  readonly vm: number;
  readonly vcpu: number;
  readonly reg: "CNTV_CTL_EL0" | "CNTV_CVAL_EL0";
  readonly value: bigint;
}

/**
 * An SMCCC call (HVC #0 or SMC #0, function ID in W0; reference §1.2): PSCI, SMCCC version,
 * vendor-hyp UID, or a Gunyah hypercall through ID 0xC6008000 + N with its inputs in X1..X7.
 * Outcome: `{ x: [X0, ...] }`.
 */
export interface SmcccCallEvent extends Envelope {
  readonly kind: "smccc_call";
  readonly vm: number;
  readonly vcpu: number;
  readonly conduit: "hvc" | "smc";
  /** X0 (function ID) .. X7. */
  readonly args: readonly bigint[];
  readonly data?: Uint8Array;
}
