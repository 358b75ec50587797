/**
 * The RM acting on the hypervisor's rooms: the objects it creates for the VMs it manages
 * (cspace, addrspace, VIC, vCPUs, the msgqueue pair of its RPC channel, doorbells for irqfds), and
 * the memory extents behind memory parcels. These are the RM's hypercalls, applied through HYP's
 * helpers as state construction inside the RM's own event (the RM runs them while it handles one
 * request: no follow-up events). The RM holds a master cap to every object it creates in its own
 * cspace, as the real RM does; destroying a VM deletes those caps and lets HYP's garbage collection
 * release the objects (GH:hyp/core/cspace_twolevel, object_standard).
 */
import { ACCESS, CPU_INDEX_INVALID, GIC, PAGE_SIZE, SCHED, VCPU_OPTION } from "../abi/constants.ts";
import { RIGHTS, type ObjectType } from "../abi/rights.ts";
import { RM_RPC, VMID } from "../abi/rm.ts";
import type { Machine } from "../machine.ts";
import { addObject, objectAs } from "../object/objects.ts";
import { allocCap, createMasterCap, forEachCap, freeCap } from "../object/cspace.ts";
import { newObject, newThread } from "../object/create.ts";
import { collectGarbage } from "../object/lifecycle.ts";
import type { CspaceObject, HypObject } from "../object/state.ts";
import { activateExtent, addMapping, donateRange } from "../memory/memextent.ts";
import { ownedPieces, ownerOf } from "../memory/memdb.ts";
import type { AddrspaceObject, MemextentObject } from "../memory/state.ts";
import { s2UnmapMatching } from "../memory/stage2.ts";
import { activateThread } from "../vcpu/activate.ts";
import { markDirty, reschedule } from "../vcpu/sched.ts";
import type { ThreadObject, VpmGroupObject } from "../vcpu/state.ts";
import { onVcpuPoweron } from "../vcpu/vpm.ts";
import { bindShared, irqForWrite, unbindShared } from "../vgic/virq.ts";
import { setEntry } from "../vcpu/context.ts";
import type { VicObject } from "../vgic/state.ts";

/** The RM's RPC channel with one client VM: a pair of message queues (reference §1.1). */
export interface RmChannelHv {
  /** Client -> RM queue, and RM -> client queue (object ids). */
  c2r: number;
  r2c: number;
  /** Cap IDs: the client's send cap (c2r) and receive cap (r2c) in its cspace; the RM's in its own. */
  clientTx: number;
  clientRx: number;
  rmRx: number;
  rmTx: number;
  /** The VIRQs: RM side (c2r receive, in the RM's VIC) and client side (r2c receive, in the client's VIC). */
  rmVirq: number;
  clientVirq: number;
}

/** A doorbell vdevice the RM made for an irqfd: the guest receives `virq`; the host holds a send cap. */
export interface RmBell {
  label: number;
  doorbell: number;
  virq: number;
  /** The BELL_TX cap the owner (host) got in its cspace (VM_GET_HYP_RESOURCES reports it). */
  hostCap: number;
}

/** What the RM knows of a VM's hypervisor objects (the HLOS and every VM it allocated). */
export interface VmHv {
  vmid: number;
  cspace: number;
  addrspace: number;
  vic: number;
  /** vCPU thread ids by index (0 = none). */
  vcpus: number[];
  /** The RM's master caps to them (what its vcpu_run / vcpu_kill name). */
  rmVcpuCaps: number[];
  /** Memory extents whose memory the VM owns (the HLOS RAM extent; extents donated to it). */
  extents: number[];
  /** The rm-rpc vdevice: null until VM_INIT made it. */
  channel: RmChannelHv | null;
  bells: RmBell[];
  /** The owner's caps to the vCPUs (VM_GET_HYP_RESOURCES VIRTUAL_CPU entries; vcpu_run needs them). */
  hostVcpuCaps: number[];
  /** The VM's VPM group (object id; 0 before VM_INIT). */
  vpm: number;
  /** The VM information area (PV time), while the VM has its addrspace. */
  infoArea: { memextent: number; ipa: number } | null;
}

/** The RM's own objects (reference §4.6 boot caps) and the VMs' objects. */
export interface RmHv {
  cspace: number;
  partition: number;
  /** The RM's own image extent (info-area pages are derived from it). */
  me: number;
  vic: number;
  thread: number;
  vms: Record<number, VmHv>;
}

/** VIRQs the RM uses (⚠ platform/DT choice: the reference names no numbers). */
export const RM_VIRQ = {
  /** In a client VM's VIC: the RM -> client queue's receive VIRQ. */
  CLIENT_RX: 1019,
  /** In the RM's VIC (64 SPIs): client k's c2r queue, from the top down. */
  RM_RX_TOP: GIC.SPI_FIRST + 63,
} as const;

/** Normal write-back, the memtype the RM maps RAM with (GH pgtable_vm_memtype NORMAL_WB). */
export const MEMTYPE_NORMAL_WB = 15;

/** Creates an ACTIVE object, with the RM's master cap to it. */
function make<T extends HypObject>(s: Machine, type: ObjectType, build: (id: number) => T): T {
  return makeWithCap(s, type, build)[0];
}
/** `make`, and the RM's (master) cap ID. */
function makeWithCap<T extends HypObject>(s: Machine, type: ObjectType, build: (id: number) => T): [T, number] {
  const rm = s.rm.hv!;
  const id = addObject(s, build);
  const cs = objectAs(s, rm.cspace, "cspace")!;
  const cap = createMasterCap(cs, id, type);
  if (!cap.ok) throw new Error("internal: RM cspace full");
  return [s.objects.byId[id] as T, Number(cap.value)];
}

/** Gives `cs` a (non-master) cap to `object` with `rights`; returns the cap ID. */
export function grant(s: Machine, cs: number, object: number, type: ObjectType, rights: number): number {
  const c = objectAs(s, cs, "cspace")!;
  const r = allocCap(c, { object, type, rights, master: false, state: "VALID" });
  if (!r.ok) throw new Error(`internal: cspace ${cs} full`);
  return Number(r.value);
}

function newCspace(s: Machine, maxCaps: number): CspaceObject {
  return make(s, "cspace", (id) => ({ ...(newObject("cspace", id, s.rm.hv!.partition) as CspaceObject), maxCaps, state: "ACTIVE" }));
}

function newVic(s: Machine, maxVcpus: number, maxVirqs: number): VicObject {
  // The VM's kernel enables its distributor (GICD_CTLR group 1) as it boots: done here for the
  // interrupts the RM and VMM deliver (⚠ a Linux guest's GIC bring-up, not modelled per access).
  return make(s, "vic", (id) => ({ ...(newObject("vic", id, s.rm.hv!.partition) as VicObject), state: "ACTIVE", maxVcpus, maxVirqs, ctlr: 0x3 }));
}

/** Binds a shared source to a VIRQ of a VIC and enables the SPI (the receiving kernel's request_irq). */
function bindEnabled(vic: VicObject, virq: number, kind: "msgqueue_receive" | "doorbell", object: number): void {
  const e = bindShared(vic, virq, { kind, object });
  if (e !== null) throw new Error(`internal: VIRQ ${virq} bind: ${e}`);
  const i = irqForWrite(vic, undefined, virq)!;
  i.enabled = true;
}

function newMsgqueue(s: Machine): number {
  return make(s, "msgqueue", (id) => ({
    ...(newObject("msgqueue", id, s.rm.hv!.partition) as never as { id: number }),
    type: "msgqueue", state: "ACTIVE", partition: s.rm.hv!.partition,
    depth: RM_RPC.QUEUE_DEPTH, maxSize: RM_RPC.MESSAGE_SIZE_BYTES, notFullThreshold: RM_RPC.QUEUE_DEPTH - 1, notEmptyThreshold: 1,
    queue: [], sendVirq: null, receiveVirq: null,
  })).id;
}

/** The rm-rpc vdevice: the message-queue pair, its VIRQs, and the caps each side holds (reference §1.1, §6.4). */
function newChannel(s: Machine, vmid: number, clientCs: number, clientVic: VicObject): RmChannelHv {
  const rm = s.rm.hv!;
  const c2r = newMsgqueue(s);
  const r2c = newMsgqueue(s);
  const rmVic = objectAs(s, rm.vic, "vic")!;
  // The highest free SPI of the RM's VIC (channels come and go with VM_INIT and VM_RESET).
  let rmVirq = RM_VIRQ.RM_RX_TOP;
  while (rmVic.sources[rmVirq] !== undefined && rmVirq > GIC.SPI_FIRST) rmVirq--;
  bindEnabled(rmVic, rmVirq, "msgqueue_receive", c2r);
  (s.objects.byId[c2r] as { receiveVirq: unknown }).receiveVirq = { vic: rmVic.id, virq: rmVirq };
  bindEnabled(clientVic, RM_VIRQ.CLIENT_RX, "msgqueue_receive", r2c);
  (s.objects.byId[r2c] as { receiveVirq: unknown }).receiveVirq = { vic: clientVic.id, virq: RM_VIRQ.CLIENT_RX };
  const mq = RIGHTS.msgqueue;
  return {
    c2r, r2c,
    clientTx: grant(s, clientCs, c2r, "msgqueue", mq.SEND),
    clientRx: grant(s, clientCs, r2c, "msgqueue", mq.RECEIVE),
    rmRx: grant(s, rm.cspace, c2r, "msgqueue", mq.RECEIVE),
    rmTx: grant(s, rm.cspace, r2c, "msgqueue", mq.SEND),
    rmVirq, clientVirq: RM_VIRQ.CLIENT_RX,
  };
}

/**
 * The cspace the RM makes for a VM at VM_CONFIG_IMAGE, with the VM's config
 * (RM:src/vm_creation/second_vm.c:125-200); VM_ALLOCATE makes no hypervisor object.
 */
export function createVmCspace(s: Machine, vmid: number): VmHv {
  const cs = newCspace(s, 1024);
  const hv: VmHv = { vmid, cspace: cs.id, addrspace: 0, vic: 0, vcpus: [], rmVcpuCaps: [], extents: [], channel: null, bells: [], hostVcpuCaps: [], vpm: 0, infoArea: null };
  s.rm.hv!.vms[vmid] = hv;
  return hv;
}

/** The default VMMIO region of a VM that is not PLATFORM-authenticated (RM:src/vm_config/vm_config.c:3982-3992). */
export const DEFAULT_VMMIO = { base: 0, size: 0x4000_0000 } as const;
/**
 * Where the RM's IPA allocator puts a VM's info area: the first free page after the device range it
 * reserves at [0, 1 GiB) (RM:platform/qemu/src/vm_memory.c:406-440; first fit,
 * RM:src/utils/range_list.c; PLATFORM_DEVICES_BASE/SIZE, GH:hyp/platform/soc_qemu/build.conf:19).
 */
export const INFO_AREA_IPA = 0x4000_0000;

/**
 * The objects the RM makes for a VM at VM_INIT (RM:src/vm_config/vm_config.c:3935-4010, 4788):
 * its addrspace (VMID) with a one-page VM information area (a page of the RM's own memory in a
 * derived extent, mapped read-only: RM:src/vm_creation/vm_creation_pv_time.c:30-112) and the
 * default VMMIO region, a VIC for `maxVcpus`, and the rm-rpc channel.
 */
export function createVmObjects(s: Machine, hv: VmHv, maxVcpus: number, opts: { vmmio: boolean; infoArea: boolean }): void {
  const rm = s.rm.hv!;
  const as = make(s, "addrspace", (id) => ({ ...newObject("addrspace", id, rm.partition), state: "ACTIVE", vmid: hv.vmid }) as never) as AddrspaceObject;
  s.vms[hv.vmid] = { addrspace: as.id, vcpus: [] };
  hv.addrspace = as.id;
  if (opts.vmmio) as.vmmio = [{ base: DEFAULT_VMMIO.base, size: DEFAULT_VMMIO.size }];
  if (opts.infoArea) {
    const me = newInfoPage(s);
    if (me !== null) {
      as.infoArea = { memextent: me.id, ipa: INFO_AREA_IPA };
      me.attached = true;
      addMapping(s, me, as.id, { vbase: INFO_AREA_IPA, offset: 0, size: PAGE_SIZE, userAccess: ACCESS.R, kernelAccess: ACCESS.R, memtype: MEMTYPE_NORMAL_WB });
      hv.infoArea = { memextent: me.id, ipa: INFO_AREA_IPA };
    }
  }
  const vic = newVic(s, maxVcpus, GIC.SPI_COUNT_MAX);
  hv.vic = vic.id;
  const cs = objectAs(s, hv.cspace, "cspace")!;
  hv.channel = newChannel(s, hv.vmid, cs.id, vic);
}

/** Pages of the RM's image the model sets aside as the RM heap's info-area pages (⚠ the RM allocates them with aligned_alloc). */
const INFO_PAGES = { offset: 0xf0_0000, count: 0xf0 } as const;

/** A free RM heap page as a BASIC extent derived from the RM's own (memextent_create: vm_creation_pv_time.c:56-62). */
function newInfoPage(s: Machine): MemextentObject | null {
  const rm = s.rm.hv!;
  const parent = objectAs(s, rm.me, "memextent");
  if (parent === undefined) return null;
  for (let i = 0; i < INFO_PAGES.count; i++) {
    const pa = parent.base + INFO_PAGES.offset + i * PAGE_SIZE;
    if (ownerOf(s, pa)?.id !== parent.id) continue;
    const me = make(s, "memextent", (id) => ({
      ...(newObject("memextent", id, rm.partition) as MemextentObject),
      kind: "BASIC", base: pa, size: PAGE_SIZE, access: ACCESS.RW, memtype: 0, parent: parent.id,
    })) as MemextentObject;
    if (activateExtent(s, me) !== null) return null;
    me.state = "ACTIVE";
    return me;
  }
  return null;
}

/** The HLOS's skeleton at boot: cspace, addrspace, VIC and RM channel (⚠ its info area is not modelled). */
export function createVmSkeleton(s: Machine, vmid: number, maxVcpus: number): VmHv {
  const hv = createVmCspace(s, vmid);
  createVmObjects(s, hv, maxVcpus, { vmmio: false, infoArea: false });
  return hv;
}

/**
 * vCPU threads: proxy-scheduled for a VMM-run VM (`affinity = "proxy"`, reference §8 step 8), else
 * pinned per CPU; all of them in the VM's VPM group, which is what gives them PSCI. The RM makes
 * one per VM (RM:src/vm_config/vm_config.c:2958-3018, 3130-3133; the HLOS's: hlos_vm.c:120-125,
 * 520-545): no_aggregation for a proxy-scheduled VM without a watchdog, aggregated otherwise.
 */
export function createVcpus(s: Machine, hv: VmHv, n: number, opts: { proxy: boolean; hlos: boolean; vpm?: boolean }): void {
  const rm = s.rm.hv!;
  const vpm = opts.vpm === false ? undefined : (make(s, "vpm_group", (id) => ({ ...(newObject("vpm_group", id, rm.partition) as VpmGroupObject), state: "ACTIVE", flags: opts.proxy ? 1 : 0 })) as VpmGroupObject);
  hv.vpm = vpm?.id ?? 0;
  for (let i = 0; i < n; i++) {
    const options = (opts.proxy ? VCPU_OPTION.vcpu_run_scheduled : 0n) | (opts.hlos ? VCPU_OPTION.hlos_vm : 0n);
    const [t, cap] = makeWithCap(s, "thread", (id) => ({ ...newThread(id, rm.partition), options, cspace: hv.cspace, addrspace: hv.addrspace, vic: hv.vic, vicIndex: i, vpm: vpm?.id ?? 0, vpmIndex: i, affinity: opts.proxy ? CPU_INDEX_INVALID : i % s.sched.cpus.length })) as [ThreadObject, number];
    hv.rmVcpuCaps[i] = cap;
    const e = activateThread(s, t);
    if (e !== null) throw new Error(`internal: vCPU ${i} of VM ${hv.vmid}: ${e}`);
    t.state = "ACTIVE";
    hv.vcpus[i] = t.id;
  }
}

/** Powers a vCPU on at `pc` with X0 (vcpu_poweron by the RM at VM_START, reference §6.2). */
export function powerOn(s: Machine, threadId: number, pc: number, x0: number): void {
  const t = objectAs(s, threadId, "thread");
  if (t === undefined) return;
  onVcpuPoweron(s, t);
  t.power = "ON";
  t.everPoweredOn = true;
  setEntry(t, BigInt(pc), BigInt(x0));
  markDirty(s);
}

/** Deletes the RM's caps to `ids` and lets HYP collect whatever nothing else holds. */
function release(s: Machine, ids: number[]): void {
  const rm = s.rm.hv!;
  const cs = objectAs(s, rm.cspace, "cspace")!;
  forEachCap(cs, (id, c) => {
    if (c.state === "VALID" && ids.includes(c.object)) freeCap(cs, id);
  });
  collectGarbage(s, [...ids]);
}

/** The owner's caps the RM granted for a VM's vCPUs and doorbells go with them. */
function freeOwnerCaps(s: Machine, owner: number, caps: readonly number[]): void {
  const host = s.rm.hv!.vms[owner];
  if (host === undefined) return;
  const cs = objectAs(s, host.cspace, "cspace")!;
  for (const c of caps) freeCap(cs, c);
}

/** Reset stage DESTROY_VDEVICES for the doorbells (RM:src/vm_config/vm_config.c:5605-5630). */
export function destroyBells(s: Machine, hv: VmHv): void {
  const ids = hv.bells.map((b) => b.doorbell);
  freeOwnerCaps(s, VMID.HLOS, hv.bells.map((b) => b.hostCap));
  hv.bells = [];
  release(s, ids);
}

/**
 * Reset stage DESTROY_VM (svm_destroy, RM:src/vm_creation/second_vm.c:323-342): the vCPUs (exited
 * by then: `vm_config_handle_exit` killed and ran them), the VPM group, the rm-rpc channel, the
 * VIC, the addrspace with its info area, the extents the VM owns, and the cspace. The VM has no
 * hypervisor objects left; VM_CONFIG_IMAGE and VM_INIT make new ones.
 */
export function destroyVmObjects(s: Machine, vmid: number): void {
  const rm = s.rm.hv!;
  const hv = rm.vms[vmid];
  if (hv === undefined) return;
  destroyBells(s, hv);
  freeOwnerCaps(s, VMID.HLOS, hv.hostVcpuCaps);
  hv.hostVcpuCaps = [];
  const ids: number[] = [...hv.vcpus.filter((x) => x !== 0), ...hv.extents];
  if (hv.vpm !== 0) ids.push(hv.vpm);
  if (hv.infoArea !== null) {
    const me = objectAs(s, hv.infoArea.memextent, "memextent");
    if (me !== undefined) {
      unmapVm(s, me, vmid);
      me.attached = false;
    }
    const as = objectAs(s, hv.addrspace, "addrspace");
    if (as !== undefined) as.infoArea = null;
    ids.push(hv.infoArea.memextent);
  }
  const ch = hv.channel;
  if (ch !== null) {
    const rmCs = objectAs(s, rm.cspace, "cspace")!;
    freeCap(rmCs, ch.rmRx);
    freeCap(rmCs, ch.rmTx);
    ids.push(ch.c2r, ch.r2c);
  }
  for (const id of [hv.vic, hv.addrspace, hv.cspace]) if (id !== 0) ids.push(id);
  hv.vcpus = [];
  release(s, ids);
  if (s.vms[vmid]?.addrspace === hv.addrspace) delete s.vms[vmid];
  delete rm.vms[vmid];
}

/** A doorbell vdevice for an irqfd (reference §6.5, §8 step 8): guest receives `virq`, the owner gets BELL_TX. */
export function createBell(s: Machine, hv: VmHv, owner: VmHv, label: number, virq: number): RmBell | null {
  const vic = objectAs(s, hv.vic, "vic")!;
  if (virq < GIC.SPI_FIRST || virq >= GIC.SPI_FIRST + vic.maxVirqs || vic.sources[virq] !== undefined) return null;
  const d = make(s, "doorbell", (id) => ({ ...(newObject("doorbell", id, s.rm.hv!.partition) as never as object), state: "ACTIVE" }) as never) as unknown as { id: number; virq: unknown; ackMask: bigint };
  bindEnabled(vic, virq, "doorbell", d.id);
  d.virq = { vic: vic.id, virq };
  // An edge irqfd: the flag is acknowledged as it is delivered (doorbell ack mask; ⚠ the RM's choice for `source-can-clear`).
  d.ackMask = 0xffff_ffff_ffff_ffffn;
  const bell = { label, doorbell: d.id, virq, hostCap: grant(s, owner.cspace, d.id, "doorbell", RIGHTS.doorbell.SEND) };
  hv.bells.push(bell);
  return bell;
}

// ----- memory -----

/** The extent of `vmid` that owns [pa, pa+size) entirely, or null. */
export function ownerExtent(s: Machine, vmid: number, pa: number, size: number): MemextentObject | null {
  const hv = s.rm.hv?.vms[vmid];
  if (hv === undefined) return null;
  for (const id of hv.extents) {
    const p = ownedPieces(s, pa, size, id);
    if (p.length === 1 && p[0]!.base === pa && p[0]!.size === size) return objectAs(s, id, "memextent") ?? null;
  }
  return null;
}

/**
 * A parcel's own memextent (reference §4.3: "the memory is moved into the parcel's own memextent"):
 * SPARSE, derived from the owner's extent over its whole range, so that MEM_APPEND can add regions
 * anywhere the owner's memory is (RM:src/memparcel/memparcel.c:616-620, vm_memory_create_extent).
 */
export function createParcelExtent(s: Machine, parent: MemextentObject): MemextentObject {
  return make(s, "memextent", (id) => ({
    ...(newObject("memextent", id, s.rm.hv!.partition) as MemextentObject),
    state: "ACTIVE", kind: "SPARSE", base: parent.base, size: parent.size, access: parent.access, memtype: parent.memtype, parent: parent.id,
  })) as MemextentObject;
}

/** The regions move from the owner's extent into the parcel's (TO_CHILD donation), which unmaps them from the owner. */
export function donateIntoParcel(s: Machine, parent: MemextentObject, me: MemextentObject, regions: readonly { pa: number; size: number }[]): void {
  for (const r of regions) {
    const e = donateRange(s, r.pa, r.size, parent, me, { type: "EXTENT", id: parent.id }, { type: "EXTENT", id: me.id });
    if (e !== null) throw new Error(`internal: parcel donate ${e}`);
  }
}

/** Maps parcel regions into a VM's stage-2 through the parcel's extent, with `rights` (pgtable_access) and a stage-2 memtype. */
export function mapRegions(s: Machine, me: MemextentObject, vmid: number, regions: readonly { pa: number; size: number }[], ipas: readonly number[], rights: number, memtype: number = MEMTYPE_NORMAL_WB): boolean {
  const as = s.vms[vmid]?.addrspace;
  if (as === undefined) return false;
  for (let i = 0; i < regions.length; i++) {
    const r = regions[i]!;
    const e = addMapping(s, me, as, { vbase: ipas[i]!, offset: r.pa - me.base, size: r.size, userAccess: rights & me.access, kernelAccess: rights & me.access, memtype });
    if (e !== null) return false;
  }
  return true;
}

/** Removes a VM's mappings of the parcel extent (its whole slot). */
export function unmapVm(s: Machine, me: MemextentObject, vmid: number): void {
  const as = s.vms[vmid]?.addrspace;
  const slot = me.mappings.findIndex((m) => m.addrspace === as);
  if (slot < 0) return;
  const m = me.mappings[slot]!;
  // Unmapping the slot: stage-2 translations of the slot's ranges go (pgtable_vm_unmap_matching).
  const asObj = objectAs(s, m.addrspace, "addrspace");
  if (asObj !== undefined) {
    for (const r of m.ranges) {
      for (const p of ownedPieces(s, me.base + r.offset, r.size, me.id)) {
        const ipa = r.vbase + (p.base - (me.base + r.offset));
        s2UnmapMatching(asObj, ipa, p.size, p.base);
      }
    }
  }
  me.mappings.splice(slot, 1);
}


/** Reclaim / delete: the extent's memory goes back to `to` (mapped per its mappings) and the extent is destroyed. */
export function returnAndDestroy(s: Machine, me: MemextentObject, to: MemextentObject): void {
  for (const slot of [...me.mappings]) {
    const vm = objectAs(s, slot.addrspace, "addrspace")?.vmid;
    if (vm !== undefined) unmapVm(s, me, vm);
  }
  for (const p of ownedPieces(s, me.base, me.size, me.id)) {
    const e = donateRange(s, p.base, p.size, me, to, { type: "EXTENT", id: me.id }, { type: "EXTENT", id: to.id });
    if (e !== null) throw new Error(`internal: reclaim donate ${e}`);
  }
  release(s, [me.id]);
}

/** The HLOS at boot (reference §3.1 VMID 3; RM hlos_vm_create): all free RAM, one vCPU per CPU, the RM channel. */
export function bootHlos(s: Machine): void {
  const rm = s.rm.hv!;
  const hv = createVmSkeleton(s, VMID.HLOS, s.sched.cpus.length);
  const free = s.memdb.ranges.filter((r) => r.ownerType === "PARTITION" && r.owner === rm.partition).map((r) => ({ base: r.base, size: r.size }));
  if (free.length > 0) {
    const lo = free[0]!.base;
    const hi = free[free.length - 1]!.base + free[free.length - 1]!.size;
    const me = make(s, "memextent", (id) => ({
      ...(newObject("memextent", id, rm.partition) as MemextentObject),
      state: "ACTIVE", kind: "SPARSE", base: lo, size: hi - lo, access: ACCESS.RWX, memtype: 0, parent: 0,
    })) as MemextentObject;
    // Identity-mapped RWX (the HLOS sees RAM at its physical addresses), then filled by donation from the partition.
    addMapping(s, me, hv.addrspace, { vbase: lo, offset: 0, size: hi - lo, userAccess: ACCESS.RWX, kernelAccess: ACCESS.RWX, memtype: MEMTYPE_NORMAL_WB });
    for (const r of free) donateRange(s, r.base, r.size, null, me, { type: "PARTITION", id: rm.partition }, { type: "EXTENT", id: me.id });
    hv.extents.push(me.id);
  }
  createVcpus(s, hv, s.sched.cpus.length, { proxy: false, hlos: true });
  // The platform's hardware SPIs belong to the HLOS: each bound to the same-numbered VIRQ of its VIC
  // (reference §5: a lendable IRQ is "mapped BOUND in the owner"; ⚠ identity numbering, enabled as
  // the HLOS's drivers would request them).
  for (const k of Object.keys(s.hwirqs)) bindHwirq(s, Number(k), hv.vic, Number(k));
  for (const id of hv.vcpus) {
    const t = objectAs(s, id, "thread")!;
    // One below the RM's 32 (⚠): the real RM blocks in its event loop and preempts the HLOS when
    // woken; the model keeps the RM's vCPU runnable, so on CPU 0 it must outrank the HLOS's.
    t.priority = SCHED.PRIORITY_DEFAULT - 1;
    t.sliceLeftNs = t.timesliceNs;
    onVcpuPoweron(s, t);
    t.power = "ON";
    t.everPoweredOn = true;
  }
  reschedule(s); // genesis ends settled, as the root VM's bootstrap does
}

/** RM boot: find its own objects from the boot caps (reference §4.6). */
export function rmHvGenesis(s: Machine): RmHv {
  const e = s.rootEnv;
  const rmThread = s.vms[VMID.RM]!.vcpus[0]!;
  const t = objectAs(s, rmThread, "thread")!;
  const cs = objectAs(s, t.cspace, "cspace")!;
  const obj = (cap: number): number => cs.caps[cap]!.object;
  const vic = objectAs(s, obj(e.vic), "vic")!;
  vic.ctlr = 0x3; // the RM enables its distributor at boot (⚠ not modelled per access)
  return { cspace: cs.id, partition: obj(e.partition_capid), me: obj(e.me_capid), vic: vic.id, thread: rmThread, vms: {} };
}


// ----- hardware IRQs (lending, reference §5) -----

/** The hwirq object of hardware SPI `irq`, or undefined if the platform has none. */
function hwirqOf(s: Machine, irq: number) {
  return objectAs(s, s.hwirqs[irq] ?? 0, "hwirq");
}

/** The VIC and VIRQ hardware SPI `irq` is bound to now, or null (unbound / not a platform SPI). */
export function hwirqBinding(s: Machine, irq: number): { vic: number; virq: number } | null {
  return hwirqOf(s, irq)?.virq ?? null;
}

/**
 * hwirq_unbind_virq by the RM (its hwirq caps are boot caps, reference §4.6): the VIRQ loses its
 * source and HW bit, a forwarded-but-not-deactivated line is dropped.
 */
export function unbindHwirq(s: Machine, irq: number): void {
  const hw = hwirqOf(s, irq);
  if (hw === undefined || hw.virq === null) return;
  const vic = objectAs(s, hw.virq.vic, "vic");
  const i = vic?.spis[hw.virq.virq];
  if (i !== undefined) {
    i.hw = false;
    i.active = false;
  }
  unbindShared(s, hw.virq);
  hw.virq = null;
  hw.hwActive = false;
}

/**
 * hwirq_bind_virq by the RM: SPI `irq` forwarded to `virq` of `vicId` with the HW bit, enabled (the
 * receiving kernel's request_irq ⚠). Returns the vic_bind_shared error (ARGUMENT_INVALID, BUSY) or
 * VIRQ_BOUND if the line is bound elsewhere, else null.
 */
export function bindHwirq(s: Machine, irq: number, vicId: number, virq: number): "ARGUMENT_INVALID" | "BUSY" | "VIRQ_BOUND" | null {
  const hw = hwirqOf(s, irq);
  const vic = objectAs(s, vicId, "vic");
  if (hw === undefined || vic === undefined) return "ARGUMENT_INVALID";
  if (hw.virq !== null) return "VIRQ_BOUND";
  const e = bindShared(vic, virq, { kind: "hwirq", object: hw.id });
  if (e !== null) return e as "ARGUMENT_INVALID" | "BUSY";
  hw.virq = { vic: vic.id, virq };
  const i = irqForWrite(vic, undefined, virq)!;
  i.hw = true;
  i.enabled = true;
  return null;
}
