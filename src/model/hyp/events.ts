import type { Envelope } from "../../core/event.ts";

/**
 * A vCPU executed `HVC #(0x6000 + call)`: the call number and X0..X7 as the guest left them.
 * Raw on purpose: an unknown number is representable (answered ERROR_UNIMPLEMENTED), and a trace
 * observed elsewhere replays as is. Decoded inside the reducer through the ABI table.
 * Outcome: `{ x: [X0, X1, ...] }`, the return registers (X0 = error code), unused ones omitted;
 * msgqueue_receive adds `data`, the bytes copied to the guest's buffer.
 */
export interface HypercallEvent extends Envelope {
  readonly kind: "hypercall";
  /** VMID of the calling VM (its addrspace's VMID; 255 is the RM, the root VM). */
  readonly vm: number;
  /** Index of the calling vCPU within its VM. */
  readonly vcpu: number;
  readonly call: number;
  /** X0..X7, 64-bit. Missing trailing registers read as 0. */
  readonly args: readonly bigint[];
  /**
   * Guest-buffer bytes the call reads (msgqueue_send's payload) or hardware entropy
   * (prng_get_entropy). Guest memory contents are not modelled, so the event carries them.
   */
  readonly data?: Uint8Array;
}

export type HypOutcome = { readonly x: readonly bigint[]; readonly [extra: string]: unknown };
