/**
 * The RM's device-tree overlay at VM_START (process_dtb and create_dtbo,
 * RM:src/vm_creation/vm_creation.c:478-586, 1483-1640, 1719-1823): the DT the VMM put in the image
 * parcel is extended with what only the RM knows, and written back in place, so the DT pvmfw and
 * the guest kernel receive is the RM's:
 *  - `/memory`: device_type "memory", `reg` = every parcel the VM has accepted (its IPA ranges),
 *    the firmware region excepted (vm_creation.c:1640-1717);
 *  - `/reserved-memory`: a node per accepted parcel the VM shares with another VM (reg,
 *    qcom,shared-memory, no-map, peers, qcom,rm-mem-handle, qcom,label) and the firmware region
 *    (compatible qcom,vm-firmware, no-map);
 *  - `/hypervisor`: #address-cells 2, #size-cells 0, the four compatibles, the `qcom,gunyah-vm`
 *    node (vmid, owner, vendor, image-name, vm-uri) and a node per vdevice: the rm-rpc message
 *    queue pair and each doorbell, at `<name>@<capid>` with `reg` = its cap IDs;
 *  - `/vsoc` (simple-bus) when absent.
 * A base DT that already has `/hypervisor` is refused (vm_creation.c:1508-1512), as is a result that
 * does not fit the DT region (:533-539); VM_START then fails with NORESOURCE.
 *
 * The model's DT is its JSON stand-in (rm/vmconfig.ts): the overlay adds these nodes as keys named by
 * path. Left out: `/chosen` (kaslr-seed is the RM's randomness, the ramfs and cmdline come from a
 * config cpio the model does not have) and the `/cpus` patch.
 */
import { MEM_RIGHTS } from "../abi/rm.ts";
import type { RmCtx } from "./context.ts";
import type { RmVm } from "./state.ts";
import { readDtBytes, VM_CONFIG_MAGIC } from "./vmconfig.ts";
import { parcelSize } from "./memparcel.ts";
import { peersOf } from "./peers.ts";
import { fdtRootString } from "./fdt.ts";
import { writeRmDt } from "./guest-dt.ts";

const hex = (n: number): string => n.toString(16);

/** The RM's nodes for `vm`, as the model's DT stand-in spells them. */
export function overlayNodes(ctx: RmCtx, vm: RmVm): Record<string, unknown> {
  const s = ctx.s;
  const fw = s.pvm.vms.byId[vm.vmid]?.fw ?? null;
  const memory: [number, number][] = [];
  const reserved: Record<string, unknown>[] = [];
  for (const h of vm.accepted) {
    const p = s.rm.parcels.byId[h];
    const b = p?.borrowers.find((x) => x.vmid === vm.vmid);
    if (p === undefined || b === undefined || !b.mapped) continue;
    const ranges = b.contiguous ? [[b.alloc[0]!, parcelSize(p)] as [number, number]] : p.regions.map((r, i) => [b.ipas[i]!, r.size] as [number, number]);
    const isFw = fw !== null && h === fw.handle && h !== vm.imageHandle;
    if (!isFw) memory.push(...ranges);
    if (p.acl.length > 1) {
      reserved.push({ name: `shared-mem@${hex(ranges[0]![0])}`, reg: ranges, "qcom,shared-memory": true, "no-map": true, peers: p.acl.filter((e) => e.vmid !== vm.vmid).map((e) => e.vmid), "qcom,rm-mem-handle": h, "qcom,label": p.label, writable: (b.rights & MEM_RIGHTS.W) !== 0 });
    }
  }
  if (fw !== null) {
    const p = s.rm.parcels.byId[fw.handle];
    const b = p?.borrowers.find((x) => x.vmid === vm.vmid);
    const base = b?.mapped === true ? (b.ipas[0] ?? 0) + fw.offset : 0;
    reserved.push({ name: `vm-firmware@${hex(base)}`, compatible: "qcom,vm-firmware", "no-map": true, reg: [[base, fw.size]] });
  }
  const hv = s.rm.hv!.vms[vm.vmid]!;
  const vdevices: Record<string, unknown>[] = [];
  const ch = hv.channel;
  if (ch !== null) {
    vdevices.push({
      name: `gunyah-resource-manager@${hex(ch.clientTx)}`,
      compatible: ["gunyah-resource-manager", "qcom,resource-manager", "qcom,resource-manager-1", "qcom,gunyah-message-queue", "qcom,gunyah-capability"],
      reg: [ch.clientTx, ch.clientRx], interrupts: [ch.clientVirq], "qcom,is-full-duplex": true,
      "qcom,tx-message-size": 240, "qcom,rx-message-size": 240, "qcom,tx-queue-depth": 8, "qcom,rx-queue-depth": 8, "qcom,free-irq-start": 0,
    });
  }
  for (const b of hv.bells) vdevices.push({ name: `bell-${b.label}@${hex(b.doorbell)}`, compatible: ["qcom,gunyah-doorbell", "qcom,gunyah-capability"], interrupts: [b.virq], "qcom,label": b.label, label: b.label });
  return {
    "/memory": { device_type: "memory", reg: memory },
    "/reserved-memory": { "#address-cells": 2, "#size-cells": 2, ranges: true, nodes: reserved },
    "/hypervisor": {
      "#address-cells": 2, "#size-cells": 0,
      compatible: ["gunyah-hypervisor", "qcom,gunyah-hypervisor-1.0", "qcom,gunyah-hypervisor", "simple-bus"],
      "qcom,gunyah-vm": {
        compatible: ["qcom,gunyah-vm-id-1.0", "qcom,gunyah-vm-id"], "qcom,vmid": vm.vmid, "qcom,owner-vmid": vm.owner, "qcom,vendor": "Qualcomm",
        "qcom,image-name": vm.config?.name ?? "", ...(vm.config?.uri ? { "qcom,vm-uri": vm.config.uri } : {}), "qcom,peers": peersOf(s, vm.vmid).filter((p) => p !== vm.owner),
      },
      vdevices,
    },
    "/vsoc": { "#address-cells": 2, "#size-cells": 2, ranges: true, compatible: "simple-bus" },
  };
}

/** process_dtb: builds the overlay and writes the DT back over the DT region; false refuses the start. */
export function applyOverlay(ctx: RmCtx, vm: RmVm): boolean {
  if (vm.config === null || vm.config.hasHypervisorNode) return false;
  const raw = readDtBytes(ctx.s, vm);
  if (raw === null) return false;
  let end = raw.indexOf(0);
  if (end < 0) end = raw.length;
  const text = new TextDecoder().decode(raw.subarray(0, end));
  if (!text.startsWith(VM_CONFIG_MAGIC)) return false;
  let base: Record<string, unknown>;
  try {
    base = JSON.parse(text.slice(VM_CONFIG_MAGIC.length)) as Record<string, unknown>;
  } catch {
    return false;
  }
  return writeRmDt(ctx.s, vm, VM_CONFIG_MAGIC + JSON.stringify({ ...base, ...overlayNodes(ctx, vm) }));
}

/** The RM-written DT of a VM as pvmfw reads it at X0: the parsed stand-in, or null if unreadable. */
export function parseDt(dt: Uint8Array): Record<string, unknown> | null {
  const inFdt = fdtRootString(dt, "hvsim,dt");
  const bytes = inFdt === null ? dt : new TextEncoder().encode(inFdt);
  let end = bytes.indexOf(0);
  if (end < 0) end = bytes.length;
  const text = new TextDecoder().decode(bytes.subarray(0, end));
  if (!text.startsWith(VM_CONFIG_MAGIC)) return null;
  try {
    const v = JSON.parse(text.slice(VM_CONFIG_MAGIC.length)) as unknown;
    return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

