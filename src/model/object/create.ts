import { resetCpu } from "../../cpu/index.ts";
import { CPU_INDEX_INVALID, SCHED } from "../abi/constants.ts";
import type { ObjectType } from "../abi/rights.ts";
import type { ThreadObject } from "../vcpu/state.ts";
import type { HypObject } from "./state.ts";
import { newVirtioMmio } from "../virtio_mmio/state.ts";

/** Object types partition_create_* can make (partition and hwirq have no create call, §4.1). */
export type CreatableType = Exclude<ObjectType, "partition" | "hwirq">;

const ALL64 = 0xffff_ffff_ffff_ffffn;

/** A fresh thread in INIT: powered off, default priority/timeslice, no affinity until set. */
export function newThread(id: number, partition: number): ThreadObject {
  return {
    id,
    type: "thread",
    state: "INIT",
    partition,
    cspace: 0,
    addrspace: 0,
    vic: 0,
    vicIndex: 0,
    vpm: 0,
    vpmIndex: 0,
    options: 0n,
    priority: SCHED.PRIORITY_DEFAULT,
    timesliceNs: SCHED.TIMESLICE_DEFAULT_NS,
    sliceLeftNs: SCHED.TIMESLICE_DEFAULT_NS,
    affinity: CPU_INDEX_INVALID,
    threadState: "INIT",
    vm: 0,
    index: 0,
    power: "OFF",
    everPoweredOn: false,
    wfi: false,
    suspend: 0,
    fault: false,
    halted: false,
    warmReset: null,
    vmmio: null,
    proxy: false,
    entered: false,
    lastRunState: 0,
    reset: null,
    cpu: resetCpu({ pc: 0 }),
    vtimer: { cval: 0n, ctl: 0, dueNs: -1 },
    gicr: { waker: 0x6, irqs: {} },
    haltVirq: null,
    wakeupVirq: null,
    acct: { activatedAt: 0, since: 0, status: "idle", runNs: 0, stolenNs: 0, idleNs: 0 },
    prng: { windowStart: 0, calls: 0 },
  };
}

/**
 * The INIT state of a newly created object of a type (the `object_create` defaults). Each case
 * spells the common header out rather than spreading a shared one: V8 copies `{ ...h, newKey }`
 * through a slow path (microseconds per object), and objects are made on every memory lend.
 */
export function newObject(type: CreatableType, id: number, partition: number): HypObject {
  const state = "INIT" as const;
  switch (type) {
    case "cspace":
      return { id, state, partition, type, maxCaps: 0, capCount: 0, tableCounts: [], caps: {} };
    case "addrspace":
      return { id, state, partition, type, vmid: 0, s2: [], vmmio: [], vdevices: [], threads: [], infoArea: null, readOnly: false };
    case "memextent":
      return { id, state, partition, type, kind: "BASIC", base: 0, size: 0, access: 0, memtype: 0, parent: 0, mappings: [], attached: false };
    case "thread":
      return newThread(id, partition);
    case "doorbell":
      return { id, state, partition, type, flags: 0n, enableMask: ALL64, ackMask: 0n, virq: null };
    case "msgqueue":
      return { id, state, partition, type, depth: 0, maxSize: 0, notFullThreshold: 0, notEmptyThreshold: 1, queue: [], sendVirq: null, receiveVirq: null };
    case "vic":
      return { id, state, partition, type, maxVcpus: 0, maxVirqs: 0, options: 0, vcpus: [], ctlr: 0, spis: {}, sources: {} };
    case "vpm_group":
      return { id, state, partition, type, flags: 0, vcpus: [], online: 0, virq: null };
    case "virtio_mmio":
      return newVirtioMmio(id, partition);
  }
}
