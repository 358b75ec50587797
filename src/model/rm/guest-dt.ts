/**
 * The device tree the RM writes into a VM at VM_START (reference gunyah-rm-and-host.md §6.4;
 * RM:src/vm_creation/vm_creation.c, src/vm_creation/dto_construct.c): the RM builds an overlay,
 * applies it to the VM's DTB in guest memory and writes the packed result back in place. That is
 * how a guest kernel finds its RM channel (Linux drivers/virt/gunyah/rsc_mgr.c probes the node
 * whose compatible is "gunyah-resource-manager": `reg` = [tx capid, rx capid], `interrupts` the
 * matching VIRQs).
 *
 * The model's base DTB is the compact config stand-in of vmconfig.ts, which the RM has already
 * parsed at VM_INIT; the packed result written here is a real FDT holding what the RM generates:
 *   /hypervisor (RM:src/vm_creation/vm_creation.c, compatible list and cells)
 *     qcom,gunyah-vm (qcom,vmid, qcom,owner-vmid, qcom,vendor)
 *     gunyah-resource-mgr@<rx capid> (RM:src/vm_config/vm_config.c `.generate`,
 *       RM:src/vm_config/vm_config_parser.c push-compatibles, RM:src/vm_creation/dto_construct.c
 *       dto_create_msg_queue_pair and dto_add_msg_queue_properties)
 * ⚠ `interrupts` lists only the receive VIRQ: the model binds no not-full VIRQ to a client's send
 * queue (RM_VIRQ has none), and the RM's entry for it would name an interrupt that never fires.
 * Everything else a guest knows about its platform (GIC, timer, virtio-mmio devices) is crosvm's
 * fixed layout, not in this tree (docs/guests.md).
 */
import { GIC } from "../abi/constants.ts";
import { RM_RPC } from "../abi/rm.ts";
import type { Machine } from "../machine.ts";
import { writePhys } from "./content.ts";
import { encodeFdt, type FdtNode } from "./fdt.ts";
import type { RmVm } from "./state.ts";

/** GIC interrupt specifier (3 cells): SPI type 0, number - 32, level-high 4 (dt-bindings/interrupt-controller/arm-gic.h). */
const spiCells = (intid: number): number[] => [0, intid - GIC.SPI_FIRST, 4];

/** The RM's generated tree for one VM (see the module comment). */
export function guestDtTree(vm: { vmid: number; owner: number }, ch: { clientTx: number; clientRx: number; clientVirq: number } | null): FdtNode {
  const rmNode: FdtNode | null = ch === null ? null : {
    name: `gunyah-resource-mgr@${ch.clientRx.toString(16)}`,
    props: [
      ["compatible", ["gunyah-resource-manager", "qcom,resource-manager", "qcom,resource-manager-1-0", "qcom,gunyah-message-queue", "qcom,gunyah-capability"]],
      ["reg", { u64: [ch.clientTx, ch.clientRx] }],
      ["interrupts", { u32: spiCells(ch.clientVirq) }],
      ["qcom,free-irq-start", { u32: [0] }],
      ["qcom,is-full-duplex", new Uint8Array(0)],
      ["qcom,tx-message-size", { u32: [RM_RPC.MESSAGE_SIZE_BYTES] }],
      ["qcom,rx-message-size", { u32: [RM_RPC.MESSAGE_SIZE_BYTES] }],
      ["qcom,tx-queue-depth", { u32: [RM_RPC.QUEUE_DEPTH] }],
      ["qcom,rx-queue-depth", { u32: [RM_RPC.QUEUE_DEPTH] }],
    ],
    children: [],
  };
  const vmNode: FdtNode = {
    name: "qcom,gunyah-vm",
    props: [
      ["compatible", ["qcom,gunyah-vm-id-1.0", "qcom,gunyah-vm-id"]],
      ["qcom,vmid", { u32: [vm.vmid] }],
      ["qcom,owner-vmid", { u32: [vm.owner] }],
      ["qcom,vendor", "Qualcomm"],
    ],
    children: [],
  };
  const hypervisor: FdtNode = {
    name: "hypervisor",
    props: [
      ["#address-cells", { u32: [2] }],
      ["#size-cells", { u32: [0] }],
      ["compatible", ["gunyah-hypervisor", "qcom,gunyah-hypervisor-1.0", "qcom,gunyah-hypervisor", "simple-bus"]],
    ],
    children: rmNode === null ? [vmNode] : [vmNode, rmNode],
  };
  return { name: "", props: [["#address-cells", { u32: [2] }], ["#size-cells", { u32: [2] }]], children: [hypervisor] };
}

/**
 * VM_START: the RM's DT, written back over the VM's DT window in its image parcel (the FDT, then
 * zeroes), as the RM writes the packed result in place: the tree above, plus the model's stand-in of
 * the whole overlaid DT (rm/overlay.ts) as the root property `hvsim,dt` for the model's own readers
 * (pvmfw's checks, tools). False when the window is too small (VM_START then fails NORESOURCE).
 */
export function writeRmDt(s: Machine, vm: RmVm, standIn: string): boolean {
  const hv = s.rm.hv?.vms[vm.vmid];
  const parcel = s.rm.parcels.byId[vm.imageHandle];
  if (hv === undefined || parcel === undefined || vm.dtSize === 0) return false;
  const tree = guestDtTree(vm, hv.channel);
  const fdt = encodeFdt({ ...tree, props: [...tree.props, ["hvsim,dt", standIn]] });
  if (fdt.length > vm.dtSize) return false;
  const window = new Uint8Array(vm.dtSize);
  window.set(fdt);
  let off = 0;
  for (const r of parcel.regions) {
    const lo = Math.max(vm.dtOffset, off);
    const hi = Math.min(vm.dtOffset + vm.dtSize, off + r.size);
    if (lo < hi) writePhys(s, r.pa + (lo - off), window.subarray(lo - vm.dtOffset, hi - vm.dtOffset), `vm${vm.vmid}`);
    off += r.size;
  }
  return true;
}
