import type { Envelope } from "../../core/event.ts";

/**
 * The platform binds an SMMU stream ID to a VM's translation (the RM does this when it assigns a
 * device to a VM). A stream already bound is rebound. Outcome: `{ bound: sid, vm }`.
 */
export interface SmmuBindEvent extends Envelope {
  readonly kind: "smmu_bind";
  readonly stream: number;
  readonly vm: number;
}

/**
 * A device DMA: `sizeBytes` at `iova` through stream `stream`. Translated through the stream's
 * context and allowed, or it faults and touches nothing but the fault counters. An unbound
 * stream faults too (the SMMU bypass is off). Outcome: `{ result: "ok", pa }` or
 * `{ result: "fault", reason }`.
 */
export interface SmmuTxnEvent extends Envelope {
  readonly kind: "smmu_txn";
  readonly stream: number;
  readonly iova: number;
  readonly access: "read" | "write";
  readonly sizeBytes: number;
}
