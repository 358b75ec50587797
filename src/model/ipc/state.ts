import type { ObjectHeader } from "../object/state.ts";
import type { VirqBinding } from "../vgic/state.ts";

/** Doorbells and message queues (reference §2.8, §2.9; GH:hyp/ipc). */
export interface DoorbellObject extends ObjectHeader {
  readonly type: "doorbell";
  flags: bigint;
  enableMask: bigint;
  ackMask: bigint;
  virq: VirqBinding | null;
}

export interface MsgqueueObject extends ObjectHeader {
  readonly type: "msgqueue";
  /** 0 until msgqueue_configure. */
  depth: number;
  maxSize: number;
  notFullThreshold: number;
  notEmptyThreshold: number;
  /** Queued messages, oldest first; payload bytes as the sender gave them. */
  queue: Uint8Array[];
  sendVirq: VirqBinding | null;
  receiveVirq: VirqBinding | null;
}
