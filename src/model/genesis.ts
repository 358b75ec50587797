import { ACCESS, CSPACE, GIC, PAGE_SIZE, VCPU_OPTION } from "./abi/constants.ts";
import { must } from "./util.ts";
import type { Machine, MachineConfig, RootVmConfig } from "./machine.ts";
import { addObject } from "./object/objects.ts";
import { createMasterCap } from "./object/cspace.ts";
import { newObject, newThread } from "./object/create.ts";
import type { CspaceObject } from "./object/state.ts";
import { memdbInsert, memdbUpdate } from "./memory/memdb.ts";
import { mapSpan } from "./memory/memextent.ts";
import type { MemextentObject } from "./memory/state.ts";
import { activateThread } from "./vcpu/activate.ts";
import { setEntry } from "./vcpu/context.ts";
import { reschedule } from "./vcpu/sched.ts";

/**
 * The root VM bootstrap (reference §4.6; GH:hyp/vm/rootvm/src/rootvm_init.c): two privileged
 * partitions (hypervisor-private: the hypervisor image; root: all other RAM), then for the RM (VMID
 * 255) a cspace of 2048 caps holding, in this order, caps to itself, the root partition and its vCPU
 * (rootvm_init), then its addrspace, the memextent of its image, its VIC and one hwirq cap per
 * hardware SPI (the rootvm_init event subscribers; their relative order is module-priority
 * dependent ⚠). The vCPU is critical, priority 32, affine to the boot CPU 0, and powered on at the
 * entry point with X0 = the environment block's IPA.
 */

export interface RootEnv {
  readonly cspace_capid: number;
  readonly partition_capid: number;
  readonly vcpu_capid: number;
  readonly addrspace_capid: number;
  readonly me_capid: number;
  readonly vic: number;
  readonly vic_hwirq: readonly { readonly irq: number; readonly capid: number }[];
  readonly free_ranges: readonly { readonly base: number; readonly size: number }[];
  readonly gicd_base: number;
  readonly gicr_base: number;
  readonly gicr_stride: number;
  readonly usable_cores: number;
  readonly boot_core: number;
}

export function rootVmConfig(c: MachineConfig): RootVmConfig {
  const ram = must(c.platform.ram[0], "platform has no RAM");
  const hyp = c.platform.hypReserved ?? { base: ram.base, size: 0x100_0000 };
  return c.rootVm ?? { base: hyp.base + hyp.size, size: 0x100_0000, ipa: hyp.base + hyp.size, entry: hyp.base + hyp.size, envIpa: hyp.base + hyp.size + 0xff_0000 };
}

export function buildRoot(s: Machine): RootEnv {
  const c = s.config;
  const ram = must(c.platform.ram[0], "platform has no RAM");
  const hypRange = c.platform.hypReserved ?? { base: ram.base, size: 0x100_0000 };
  const rm = rootVmConfig(c);
  const hypPart = addObject(s, (id) => ({ id, type: "partition", state: "ACTIVE", partition: id, privileged: true }));
  const root = addObject(s, (id) => ({ id, type: "partition", state: "ACTIVE", partition: id, privileged: true }));
  for (const r of c.platform.ram) must(memdbInsert(s, r.base, r.size, { type: "PARTITION", id: root }).ok || null, "overlapping RAM");
  memdbUpdate(s, hypRange.base, hypRange.size, { type: "PARTITION", id: hypPart }, { type: "PARTITION", id: root });

  const csId = addObject(s, (id) => ({ ...(newObject("cspace", id, root) as CspaceObject), maxCaps: CSPACE.ROOT_MAX_CAPS, state: "ACTIVE" }));
  const cs = s.objects.byId[csId] as CspaceObject;
  const tId = addObject(s, (id) => ({ ...newThread(id, root), options: VCPU_OPTION.critical, affinity: 0, cspace: csId }));
  const capOf = (obj: number, type: Parameters<typeof createMasterCap>[2]): number => Number(must(createMasterCap(cs, obj, type), "root cspace full"));
  const cspace_capid = capOf(csId, "cspace");
  const partition_capid = capOf(root, "partition");
  const vcpu_capid = capOf(tId, "thread");

  const asId = addObject(s, (id) => ({ ...newObject("addrspace", id, root), state: "ACTIVE", vmid: 255 }) as never);
  s.vms[255] = { addrspace: asId, vcpus: [] };
  const addrspace_capid = capOf(asId, "addrspace");
  const meId = addObject(s, (id) => ({ ...newObject("memextent", id, root), state: "ACTIVE", base: rm.base, size: rm.size, access: ACCESS.RWX }) as never);
  const me = s.objects.byId[meId] as MemextentObject;
  memdbUpdate(s, rm.base, rm.size, { type: "EXTENT", id: meId }, { type: "PARTITION", id: root });
  me.mappings.push({ addrspace: asId, ranges: [{ vbase: rm.ipa, offset: 0, size: rm.size, userAccess: ACCESS.RWX, kernelAccess: ACCESS.RWX, memtype: 15 }] });
  mapSpan(s, me, rm.base, rm.size);
  const me_capid = capOf(meId, "memextent");
  const vicId = addObject(s, (id) => ({ ...newObject("vic", id, root), state: "ACTIVE", maxVcpus: 1, maxVirqs: 64 }) as never);
  const vic = capOf(vicId, "vic");
  const vic_hwirq: { irq: number; capid: number }[] = [];
  const hw = c.platform.hwirqs ?? { first: GIC.SPI_FIRST, count: 32 };
  for (let irq = hw.first; irq < hw.first + hw.count; irq++) {
    const hid = addObject(s, (id) => ({ id, type: "hwirq", state: "ACTIVE", partition: root, irq, virq: null, hwActive: false }));
    s.hwirqs[irq] = hid;
    vic_hwirq.push({ irq, capid: capOf(hid, "hwirq") });
  }
  startRootVcpu(s, tId, asId, vicId, rm);
  return {
    cspace_capid, partition_capid, vcpu_capid, addrspace_capid, me_capid, vic, vic_hwirq,
    free_ranges: freeRanges(s, root),
    gicd_base: GIC.GICD_BASE, gicr_base: GIC.GICR_BASE, gicr_stride: GIC.GICR_STRIDE,
    usable_cores: (1 << c.platform.cpus) - 1, boot_core: 0,
  };
}

function startRootVcpu(s: Machine, tId: number, asId: number, vicId: number, rm: RootVmConfig): void {
  const t = s.objects.byId[tId]!;
  if (t.type !== "thread") throw new Error("internal: root thread");
  t.addrspace = asId;
  t.vic = vicId;
  t.vicIndex = 0;
  const e = activateThread(s, t);
  if (e !== null) throw new Error(`internal: root vCPU activation failed: ${e}`);
  t.state = "ACTIVE";
  t.power = "ON";
  t.everPoweredOn = true;
  setEntry(t, BigInt(rm.entry), BigInt(rm.envIpa));
  reschedule(s);
}

function freeRanges(s: Machine, root: number): { base: number; size: number }[] {
  return s.memdb.ranges.filter((r) => r.ownerType === "PARTITION" && r.owner === root).map((r) => ({ base: r.base, size: r.size }));
}

export const ROOT_PAGE = PAGE_SIZE;
