/**
 * The protected-VM room's slice (reference avf-protected-vm.md §2, §5, §8): what the bootloader
 * left for pvmfw (its DICE handover, the trusted key, the sealed rollback store), the pvmfw image
 * the HLOS registered with the RM, and per protected VM its firmware region, its payload's facts,
 * where pvmfw's boot got to, the DICE handover it gave the payload, and its PV-time record.
 *
 * Small on purpose: payload bytes are never kept (only digests and the AVB verdict, see
 * src/model/pvmfw/boot.ts); a DICE handover is about 1 KB.
 */
import type { Handover, PayloadFacts, PvmfwGenesis } from "../pvmfw/boot.ts";
import type { IotlbEntry } from "./iotlb.ts";

/** pvmfw's progress for one boot of a protected VM. */
export type PvmStage =
  /** Known to the model (firmware region set or payload loaded), not started. */
  | "created"
  /** VM_START put the boot vCPU at pvmfw's entry. */
  | "firmware"
  /** pvmfw verified the payload and jumped to it. */
  | "payload"
  /** pvmfw refused the payload and reset the VM. */
  | "refused";

export interface PvmRefusal {
  /** pvmfw's RebootReason and the string it writes on UART 1. */
  reason: string;
  uart: string;
  /** libavb's slot result name (ERROR_ROLLBACK_INDEX for pvmfw's own rollback refusal). */
  avb: string;
  detail: string;
}

export interface PvmBoot {
  rollbackIndex: bigint;
  /** The rollback store's value for the image's location when pvmfw checked it. */
  storedAtBoot: bigint;
  /** The vm_entry certificate's code hash (hex). */
  codeHash: string;
}

export interface PvmVm {
  vmid: number;
  /** GH_VM_ANDROID_SET_FW_CONFIG: the firmware window the VMM named (guest physical), before START. */
  fwConfig: { gpa: number; size: number } | null;
  /** VM_SET_FIRMWARE_MEM: the VM's firmware region (a parcel of the VM) and its IPA once started. */
  fw: { handle: number; offset: number; size: number; ipa: number } | null;
  /** The payload the VMM loaded (facts only) and where. */
  payload: (PayloadFacts & { gpa: number; instanceId: string }) | null;
  stage: PvmStage;
  /** pvmfw runs (one per VM_START). */
  boots: number;
  refusal: PvmRefusal | null;
  boot: PvmBoot | null;
  /** The DICE handover pvmfw gave the payload (in reserved memory at handoverIpa). */
  handover: Handover | null;
  handoverIpa: number;
  /** Physical ranges ever lent or donated to this VM (its private memory): leak checks look here. */
  privatePa: { base: number; size: number }[];
  /** PV time (reference §8): the per-vCPU stolen-time record the hypervisor publishes, and its IPA. */
  pvtime: { ipa: number; stolenNs: number[] } | null;
}

export interface PvmState {
  /** From MachineConfig.protected; null when the platform has no protected-VM support. */
  platform: PvmfwGenesis | null;
  /** FW_SET_VM_FIRMWARE: the pvmfw image parcel donated to the RM; FW_MILESTONE closes registration. */
  firmware: { handle: number; size: number } | null;
  milestone: boolean;
  vms: { ids: number[]; byId: Record<number, PvmVm> };
  /** The host's last read of its own memory (host_read): what the leak check looks at. */
  hostRead: { pa: number; label: string | null } | null;
  /** The SMMU's translation cache (src/model/protected/iotlb.ts) and the last DMA's translation. */
  iotlb: IotlbEntry[];
  lastDma: { sid: number; vmid: number; iova: number; pa: number; s2pa: number | null; cached: boolean } | null;
  /** The last device interrupt the VMM raised through an irqfd: which device VM, which target VM. */
  lastIrqfd: { device: number; deviceVm: number; vm: number; spi: number } | null;
}

export function newPvm(vmid: number): PvmVm {
  return { vmid, fwConfig: null, fw: null, payload: null, stage: "created", boots: 0, refusal: null, boot: null, handover: null, handoverIpa: 0, privatePa: [], pvtime: null };
}

export function pvmOf(s: { pvm: PvmState }, vmid: number): PvmVm {
  const c = s.pvm.vms;
  let v = c.byId[vmid];
  if (v === undefined) {
    v = newPvm(vmid);
    c.ids.push(vmid);
    c.byId[vmid] = v;
  }
  return v;
}
