/**
 * The rooms of a VM's life around the hypervisor: the Resource Manager, the host VMM (with the Linux
 * driver), virtio-mmio devices and the SMMU. One entry point for machine.ts: their event kinds,
 * subscribers, invariants and genesis slices.
 */
import type { Room } from "../../core/reducer.ts";
import type { EventBase, Outcome } from "../../core/event.ts";
import type { Invariant } from "../../core/invariants.ts";
import { VMID } from "../abi/rm.ts";
import type { MachineConfig } from "../machine.ts";
import { rootVmConfig } from "../genesis.ts";
import type { VmRoomsState } from "./context.ts";
import { rmGenesis } from "./state.ts";
import { contentGenesis } from "./content.ts";
import { bootHlos, rmHvGenesis } from "./hv.ts";
import type { Machine } from "../machine.ts";
import { smmuGenesis } from "../smmu/state.ts";
import { vmmGenesis } from "../vmm/state.ts";
import { virtioGenesis } from "../virtio/state.ts";
import { onRmRequest, onRmVmHalt } from "./handlers.ts";
import { onRmService } from "./service.ts";
import { onSmmuBind, onSmmuTxn } from "../smmu/handlers.ts";
import { onVmmIoctl, onVmmLoadImage } from "../vmm/ioctl.ts";
import { onVmMemWrite, onVmmMmio, onVmmAddDevice } from "../vmm/run.ts";
import { rmInvariants } from "./invariants.ts";
import { smmuInvariants } from "../smmu/invariants.ts";
import type { RmRequestEvent, RmServiceEvent, RmVmHaltEvent } from "./events.ts";
import type { SmmuBindEvent, SmmuTxnEvent } from "../smmu/events.ts";
import type { VmmAddDeviceEvent, VmmLoadImageEvent, VmmIoctlEvent, VmMemWriteEvent, VmmMmioEvent } from "../vmm/events.ts";

export type { VmRoomsState } from "./context.ts";

export type VmRoomEvent = RmRequestEvent | RmServiceEvent | RmVmHaltEvent | SmmuBindEvent | SmmuTxnEvent | VmmIoctlEvent | VmmAddDeviceEvent | VmmLoadImageEvent | VmmMmioEvent | VmMemWriteEvent;

export const VM_ROOM_KINDS = ["rm_request", "rm_service", "rm_vm_halt", "smmu_bind", "smmu_txn", "vmm_ioctl", "vmm_add_device", "vmm_load_image", "vmm_mmio", "vm_mem_write"] as const;

/**
 * The HLOS gets the RAM the RM hands it at boot (hlos_vm_create): everything except the
 * hypervisor's reserved range and the RM's own image (GH genesis: src/model/genesis.ts).
 */
export function vmRoomsGenesis(config: MachineConfig): VmRoomsState {
  const ram = config.platform.ram[0];
  const hyp = config.platform.hypReserved ?? (ram === undefined ? undefined : { base: ram.base, size: 0x100_0000 });
  const rm = rootVmConfig(config);
  const hlosRam = config.platform.ram.flatMap((r) => cut(cut([r], hyp), rm));
  return { rm: rmGenesis(), content: contentGenesis(hlosRam, config.hlos === false ? null : `vm${VMID.HLOS}`), smmu: smmuGenesis(), vmm: vmmGenesis(), virtio: virtioGenesis() };
}

/** After the hypervisor's genesis (root VM): the RM finds its objects and, unless disabled, boots the HLOS. */
export function vmRoomsBoot(s: Machine, config: MachineConfig): void {
  if (config.hlos === false) return;
  s.rm.hv = rmHvGenesis(s);
  bootHlos(s);
}

/** Ranges minus one hole. */
function cut(list: readonly { base: number; size: number }[], hole: { base: number; size: number } | undefined): { base: number; size: number }[] {
  if (hole === undefined) return [...list];
  return list.flatMap((r) => {
    const out: { base: number; size: number }[] = [];
    if (hole.base > r.base) out.push({ base: r.base, size: Math.min(hole.base, r.base + r.size) - r.base });
    const holeEnd = hole.base + hole.size;
    if (holeEnd < r.base + r.size) out.push({ base: Math.max(holeEnd, r.base), size: r.base + r.size - Math.max(holeEnd, r.base) });
    return out.filter((x) => x.size > 0);
  });
}

/** The rooms, in handler order; generic over the machine type so machine.ts needs no casts. */
export function vmRooms<S extends VmRoomsState, E extends EventBase>(): Room<S, E>[] {
  const h = <T>(f: (s: Machine, ev: T) => unknown) => f as unknown as (s: S, ev: never) => Outcome;
  return [
    { name: "rm", subscribes: { rm_request: h(onRmRequest), rm_service: h(onRmService), rm_vm_halt: h(onRmVmHalt) } as unknown as Room<S, E>["subscribes"], invariants: rmInvariants as unknown as readonly Invariant<S>[] },
    { name: "vmm", subscribes: { vmm_ioctl: h(onVmmIoctl), vmm_add_device: h(onVmmAddDevice), vmm_load_image: h(onVmmLoadImage), vmm_mmio: h(onVmmMmio), vm_mem_write: h(onVmMemWrite) } as unknown as Room<S, E>["subscribes"] },
    { name: "smmu", subscribes: { smmu_bind: h(onSmmuBind), smmu_txn: h(onSmmuTxn) } as unknown as Room<S, E>["subscribes"], invariants: smmuInvariants as unknown as readonly Invariant<S>[] },
  ];
}
