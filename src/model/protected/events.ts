import type { Envelope } from "../../core/event.ts";

/**
 * The VMM copies a protected VM's payload (an AVB-signed kernel) into the memory it is about to
 * lend the VM, as crosvm copies the kernel (reference §2.3). The bytes enter the trace here, once;
 * the model verifies them as pvmfw will (against the key built into pvmfw) and keeps only the
 * facts. `instanceId` names the VM instance (pvmfw's salt source, §2.9). Before START only.
 * Outcome: `{ avb, rollbackIndex, sha256, size, pa }`.
 */
export interface PvmLoadImageEvent extends Envelope {
  readonly kind: "pvm_load_image";
  readonly vm: number;
  readonly gpa: number;
  readonly image: Uint8Array;
  readonly instanceId: string;
}

/**
 * The protected VM's boot vCPU runs pvmfw from its forced entry point (PC = firmware IPA) to its
 * end (reference §2.5): VERIFY, ROLLBACK, DICE, then the jump to the payload, or the reboot reason
 * on UART 1 and PSCI SYSTEM_RESET (the RM then notifies the host, see docs/protected-vms.md).
 * pvmfw's own steps are guest computation on inputs already in the state, so one event stands
 * for them. Outcome: `{ result: "payload" | "refused", ... }`.
 */
export interface PvmfwBootEvent extends Envelope {
  readonly kind: "pvmfw_boot";
  readonly vm: number;
  readonly vcpu: number;
}

/**
 * The host (HLOS, a process or the kernel) reads its own IPA. Satisfied when its stage-2 maps it
 * (the outcome names the physical page and whose data it holds); otherwise Gunyah injects an
 * abort into the host (reference §5.3: host access to a page it does not own). Outcome:
 * `{ result: "ok", pa, label }` or `{ result: "abort", fault: "translation" }`.
 */
export interface HostReadEvent extends Envelope {
  readonly kind: "host_read";
  readonly ipa: number;
  readonly sizeBytes: number;
}

/**
 * The hypervisor switches a protected vCPU in and publishes its stolen time into the VM's PV-time
 * record (reference §8: updated at context switch). The value is the HYP's own per-vCPU count of
 * involuntary not-running time (the vCPU thread's accounting), not an event field.
 * Outcome: `{ ipa, stolenNs }`.
 */
export interface PvTimeEvent extends Envelope {
  readonly kind: "pv_time";
  readonly vm: number;
  readonly vcpu: number;
}

export type ProtectedEvent = PvmLoadImageEvent | PvmfwBootEvent | HostReadEvent | PvTimeEvent;
export const PROTECTED_KINDS = ["pvm_load_image", "pvmfw_boot", "host_read", "pv_time"] as const;
