/**
 * One VMM per VM, as Android runs one crosvm per VM: the world's VMM ops over the gunyah driver's
 * ioctls (reference §7, §8), the driver's own RM calls for extra memory, and SMMU stream binding.
 * Ops that make no sense in the VMM's state still happen, the way a buggy or hostile VMM would do
 * them: START without a VM is the RM's VM_START on the last VMID, a second create holds two VMs.
 * Each timeout that expires is checked against what the guest did (a guest that powered off must
 * leave RUNNING): that is where liveness failures are found. At the end the VMM heals: it releases
 * every VM it holds and takes back every parcel it gave.
 */
import { MEM_ACCEPT_FLAG, MEM_RIGHTS, TRANS_TYPE, VMID, rmMessageId } from "../../model/abi/rm.ts";
import type { Machine } from "../../model/machine.ts";
import { decodeAcceptSgl, encodeMemAccept, encodeMemCreate, encodeMemHandle, encodeVmid, encodeVmStop } from "../../model/rm/payloads.ts";
import { encodeVmConfigBlob } from "../../model/rm/vmconfig.ts";
import { REG } from "../../model/virtio/regs.ts";
import { vmRunning } from "../lib/host.ts";
import { DEVICE_INFO } from "../lib/vm-plan.ts";
import type { Program, Step } from "../lib/program.ts";
import type { ActorSpec } from "../lib/scheduler.ts";
import type { Prng } from "../prng.ts";
import { opActor, sequence } from "./actor.ts";
import { keptByAttrs } from "./liveness.ts";
import { payloadBytes } from "./payloads.ts";
import { pause, peek, replyWord, rmCall, timedWait, type LivenessFailure, type SwarmRun, type SwarmVm } from "./runtime.ts";
import { GUEST, type DownHow, type VmmOp } from "./world.ts";

const MS = 1_000_000;
/** How long a forced stop may take before the VM's staying RUNNING is a liveness failure. */
const STOP_TIMEOUT_NS = 20 * MS;
const PAGE = 0x1000;

export function vmmActor(run: SwarmRun, vm: SwarmVm, p: Prng, latency: ActorSpec["latency"]): ActorSpec {
  const ops: (() => Program | null)[] = [];
  if (run.world.pvmfwHost !== null) ops.push(() => waitLaunched(run));
  for (const op of vm.world.vmm) ops.push(() => one(run, vm, p, op));
  ops.push(() => heal(run, vm));
  return opActor(run, { name: `vmm:${vm.world.name}`, latency, next: sequence(ops) });
}

function* waitLaunched(run: SwarmRun): Program {
  yield* timedWait(run, "the HLOS registered pvmfw", 100 * MS, () => run.finished.has("launcher"));
}

/** An RM request of the host's own (the driver's, outside an ioctl), with the world's delays and retries. */
function* hostRm(run: SwarmRun, vm: SwarmVm, p: Prng, msg: Parameters<typeof rmMessageId>[0], payload: Uint8Array): Program<Record<string, unknown>> {
  yield* pause(vm.world.rmDelayNs === 0 ? 0 : p.rangeInclusive(0, vm.world.rmDelayNs));
  const { first, again } = yield* rmCall({ kind: "rm_request", vm: VMID.HLOS, msgId: rmMessageId(msg), payload }, run.rpc, vm.world.rmRetry, p);
  // A retried create made a second parcel the host never hears about: keep it to take back at the end.
  if (again !== null && (msg === "MEM_LEND" || msg === "MEM_SHARE")) {
    const h = replyWord(again);
    if (h !== null) run.strayHandles.push(h);
  }
  return first;
}

function* one(run: SwarmRun, vm: SwarmVm, p: Prng, op: VmmOp): Program {
  const cur = vm.current;
  const rmOp = op.op === "start" || op.op === "release" || op.op === "stop" || op.op === "create";
  if (rmOp) yield* pause(vm.world.rmDelayNs === 0 ? 0 : p.rangeInclusive(0, vm.world.rmDelayNs));
  switch (op.op) {
    case "create":
      return yield* create(vm);
    case "bind":
      if (vm.lastVmid !== 0) yield { kind: "smmu_bind", stream: op.stream, vm: vm.lastVmid };
      return;
    case "start":
      if (cur.fd === 0) {
        // No VM fd: the RM's VM_START on the VMID it last had (a VMM that lost track of its VM).
        if (vm.lastVmid !== 0) yield* hostRm(run, vm, p, "VM_START", encodeVmid(vm.lastVmid));
        return;
      }
      return yield* start(vm, cur.fd);
    case "wait-exit":
      return yield* waitExit(run, vm, p, op.timeoutNs);
    case "stop":
      if (vm.lastVmid !== 0) yield* hostRm(run, vm, p, "VM_STOP", encodeVmStop({ vmid: vm.lastVmid, flags: 1, stopReason: 3 }));
      return;
    case "release":
      if (cur.fd !== 0) yield* release(run, vm, p, cur);
      return;
    case "lend":
    case "share":
      return yield* give(run, vm, p, op.op === "lend" ? "LEND" : "SHARE", op.pages * PAGE);
    case "reclaim":
      return yield* reclaimOldest(run, vm, p);
    case "accept-guest":
      return yield* acceptFromGuest(run, vm, p);
    case "release-guest": {
      const held = vm.hostHolds.shift();
      if (held === undefined) return;
      const o = yield* hostRm(run, vm, p, "MEM_RELEASE", encodeMemHandle({ handle: held.handle, flags: 0 }));
      if (o.err === "OK") vm.hostReleased.push(held.handle);
      else vm.hostHolds.unshift(held);
      return;
    }
    case "probe":
      return yield* probe(vm, p);
    case "vcpu-run":
      if (cur.fd !== 0) yield { kind: "vmm_ioctl", op: "VCPU_RUN", fd: cur.fd, vcpu: 0 };
      return;
    case "sleep":
      return yield* pause(op.ns);
  }
}

/**
 * crosvm before START: CREATE_VM; the image region lent, the swiotlb region shared (a protected VM:
 * the firmware window lent too, named with ANDROID_SET_FW_CONFIG, and the payload copied in);
 * devices, vCPUs, irqfds, ioeventfds; the DTB.
 */
function* create(vm: SwarmVm): Program {
  const created = yield { kind: "vmm_ioctl", op: "CREATE_VM" };
  if (typeof created.ret !== "number" || created.ret <= 0) return;
  const h = { fd: created.ret, vmid: created.vmid as number };
  vm.current = h;
  vm.lastVmid = h.vmid;
  vm.held.push(h);
  vm.creates += 1;
  const w = vm.world;
  const { image, shared, dtbGpa, devices } = vm.plan;
  const fd = h.fd;
  const steps: Step[] = [
    { kind: "vmm_ioctl", op: "ANDROID_LEND_USER_MEM", fd, label: 0, flags: 7, guestPhysAddr: image.gpa, memorySize: image.size, userspaceAddr: image.host },
    ...(w.kind === "protected" ? [{ kind: "vmm_ioctl", op: "ANDROID_LEND_USER_MEM", fd, label: 2, flags: 7, guestPhysAddr: GUEST.firmwareGpa, memorySize: GUEST.firmwareSize, userspaceAddr: w.host.firmware } as Step] : []),
    { kind: "vmm_ioctl", op: "SET_USER_MEM_REGION", fd, label: 1, flags: 6, guestPhysAddr: shared.gpa, memorySize: shared.size, userspaceAddr: shared.host },
    ...devices.map((d): Step => ({ kind: "vmm_add_device", fd, base: d.base, deviceId: DEVICE_INFO[d.type].id, irq: d.irq, capacitySectors: d.capacitySectors })),
    ...Array.from({ length: w.vcpus }, (_, id): Step => ({ kind: "vmm_ioctl", op: "ADD_VCPU", fd, id })),
    ...devices.map((d): Step => ({ kind: "vmm_ioctl", op: "ADD_IRQFD", fd, label: d.irq, level: false })),
    ...devices.filter((d) => d.type === "virtio-blk").map((d): Step => ({ kind: "vmm_ioctl", op: "ADD_IOEVENTFD", fd, addr: d.base + REG.QueueNotify, len: 4 })),
  ];
  for (const s of steps) yield s;
  if (w.kind === "protected") {
    yield { kind: "vmm_ioctl", op: "ANDROID_SET_FW_CONFIG", fd, guestPhysAddr: GUEST.firmwareGpa, size: GUEST.firmwareSize };
    const payload = w.payloads[Math.min(vm.creates - 1, w.payloads.length - 1)]!;
    // crosvm copies the payload through its own mapping; if the host lost that memory, the copy (and crosvm) dies here.
    yield { kind: "pvm_load_image", vm: h.vmid, gpa: image.gpa, image: payloadBytes(payload), instanceId: w.instance };
  }
  const dtb = encodeVmConfigBlob({
    baseAddress: image.gpa,
    vcpus: w.vcpus,
    memory: [{ label: 1, base: shared.gpa }, ...(w.kind === "protected" ? [{ label: 2, base: GUEST.firmwareGpa }] : [])],
    bells: devices.map((d) => ({ label: d.irq, irq: d.irq })),
    vmAttrs: [...w.attrs],
  });
  yield { kind: "vmm_ioctl", op: "SET_DTB_CONFIG", fd, guestPhysAddr: dtbGpa, size: 0x1000, dtb };
  if (w.demand !== null) yield* bindGuestMem(fd, w.demand, image);
}

/**
 * demand-paging: the later crosvm's guest_memfd RAM (src/model/vmm/gmem.ts; reference
 * gunyah-rm-and-host §7.3): GUNYAH_CREATE_GUEST_MEM over the world's host folios, GUNYAH_VM_MAP_MEM
 * of all of it at the binding, and maybe the boot vCPU's SP_EL1 (reg_set 2, index 1) at the top of
 * the image region; START then sends VM_SET_DEMAND_PAGING, VM_SET_ADDRESS_LAYOUT and VM_SET_CONTEXT.
 */
function* bindGuestMem(fd: number, d: NonNullable<SwarmVm["world"]["demand"]>, image: { gpa: number; size: number }): Program {
  const gm = yield { kind: "vmm_ioctl", op: "CREATE_GUEST_MEM", size: d.pages * PAGE, hostAddr: d.host };
  if (typeof gm.ret !== "number" || gm.ret <= 0) return;
  yield { kind: "vmm_ioctl", op: "VM_MAP_MEM", fd, guestMemFd: gm.ret, guestAddr: d.gpa, offset: 0, size: d.pages * PAGE, flags: d.flags };
  if (d.bootContext) yield { kind: "vmm_ioctl", op: "VM_SET_BOOT_CONTEXT", fd, reg: 0x201, value: BigInt(image.gpa + image.size) };
}

function* start(vm: SwarmVm, fd: number): Program {
  const o = yield { kind: "vmm_ioctl", op: "START", fd };
  const running = yield* peek((s) => s.rm.vms.byId[vm.current.vmid]?.status === "RUNNING");
  if (o.ret === 0 && running && vm.current.fd === fd) {
    vm.generation += 1;
    vm.down = null;
  }
}

/** Guest downs after which the VM must be EXITED once the host looked (a hang need not end). */
const MUST_END: readonly DownHow[] = ["poweroff", "reset", "panic", "fault", "watchdog"];

/**
 * crosvm's vCPU thread blocks in VCPU_RUN until the guest is down, then sees the STATUS exit. When
 * the guest does not go down in time the VMM force-stops it. Liveness: a guest that went down must
 * leave RUNNING once the host's VCPU_RUN saw it; a forced stop must take effect.
 */
function* waitExit(run: SwarmRun, vm: SwarmVm, p: Prng, timeoutNs: number): Program {
  const h = vm.current;
  if (h.fd === 0 || vm.generation === 0) return;
  const exited = yield* timedWait(run, `${vm.world.name} goes down`, timeoutNs, (s) => !vmRunning(s, h.vmid));
  // vm-attrs (no-shutdown, crash-fatal) make the RM keep a VM RUNNING on purpose.
  const mayExit = !(yield* peek((s) => keptByAttrs(s.rm.vms.byId[h.vmid])));
  if (!exited) {
    yield* hostRm(run, vm, p, "VM_STOP", encodeVmStop({ vmid: h.vmid, flags: 1, stopReason: 3 }));
    const stopped = yield* timedWait(run, `${vm.world.name} leaves RUNNING after VM_STOP FORCE`, STOP_TIMEOUT_NS, (s) => !vmRunning(s, h.vmid));
    const still = yield* peek((s) => s.rm.vms.byId[h.vmid]?.status === "RUNNING" && s.rm.vms.byId[h.vmid]?.owner === VMID.HLOS);
    if (!stopped && still && mayExit) fail(run, { kind: "stop-ignored", index: run.seq, detail: `${vm.world.name} (VM ${h.vmid}) is still RUNNING ${STOP_TIMEOUT_NS / MS} ms after the host's VM_STOP FORCE` });
  }
  if (vm.current.fd !== h.fd) return;
  yield { kind: "vmm_ioctl", op: "VCPU_RUN", fd: h.fd, vcpu: 0 };
  const down = vm.down;
  const status = yield* peek((s: Machine) => s.rm.vms.byId[h.vmid]?.status ?? "gone");
  if (down !== null && down.generation === vm.generation && MUST_END.includes(down.how) && status === "RUNNING" && mayExit) {
    fail(run, { kind: "vm-not-down", index: run.seq, detail: `${vm.world.name} (VM ${h.vmid}) went down (${down.how}, event ${down.seq}) but is still RUNNING after the host's VCPU_RUN` });
  }
}

function fail(run: SwarmRun, f: LivenessFailure): void {
  if (!run.liveness.some((x) => x.kind === f.kind && x.detail === f.detail)) run.liveness.push(f);
}

/** The last close of a VM fd (stop, reset, reclaim the regions, deallocate), then the parcels given to it. */
function* release(run: SwarmRun, vm: SwarmVm, p: Prng, h: { fd: number; vmid: number }): Program {
  yield { kind: "vmm_ioctl", op: "RELEASE", fd: h.fd };
  vm.held.splice(vm.held.indexOf(h), 1);
  if (vm.current === h) vm.current = { fd: 0, vmid: 0 };
  for (const parcel of [...vm.given]) yield* reclaim(run, vm, p, parcel.handle);
  vm.inbox.length = 0;
  vm.accepted.length = 0;
  vm.released.length = 0;
}

/** MEM_LEND or MEM_SHARE of a slot of host memory to the running guest (RW for it). */
function* give(run: SwarmRun, vm: SwarmVm, p: Prng, trans: "LEND" | "SHARE", size: number): Program {
  const target = vm.current.vmid !== 0 ? vm.current.vmid : vm.lastVmid;
  const host = vm.freeSlots.shift();
  if (target === 0 || host === undefined) {
    if (host !== undefined) vm.freeSlots.unshift(host);
    return;
  }
  const bytes = Math.min(size, vm.world.host.parcelBytes);
  const acl = trans === "LEND" ? [{ vmid: target, rights: MEM_RIGHTS.RW }] : [{ vmid: target, rights: MEM_RIGHTS.RW }, { vmid: VMID.HLOS, rights: MEM_RIGHTS.RWX }];
  const o = yield* hostRm(run, vm, p, trans === "LEND" ? "MEM_LEND" : "MEM_SHARE", encodeMemCreate({ memType: 0, flags: 0, label: 0x100 + vm.given.length, acl, sgl: [{ ipa: host, size: bytes }], attrs: [] }));
  const handle = replyWord(o);
  if (handle === null) {
    vm.freeSlots.unshift(host);
    return;
  }
  const parcel = { handle, host, size: bytes, trans };
  vm.given.push(parcel);
  vm.inbox.push(parcel);
}

/** Waits a little for the guest to release the oldest parcel, then reclaims it (refused while the guest holds it). */
function* reclaimOldest(run: SwarmRun, vm: SwarmVm, p: Prng): Program {
  const parcel = vm.given[0];
  if (parcel === undefined) return;
  const vmid = vm.current.vmid;
  yield* timedWait(run, `${vm.world.name} releases parcel ${parcel.handle}`, 5 * MS, (s) => vm.released.includes(parcel.handle) || !vmRunning(s, vmid));
  yield* reclaim(run, vm, p, parcel.handle);
}

function* reclaim(run: SwarmRun, vm: SwarmVm, p: Prng, handle: number): Program {
  const o = yield* hostRm(run, vm, p, "MEM_RECLAIM", encodeMemHandle({ handle, flags: 0 }));
  if (o.err !== "OK" && o.err !== "HANDLE_INVALID") return;
  const i = vm.given.findIndex((x) => x.handle === handle);
  if (i >= 0) vm.freeSlots.push(vm.given.splice(i, 1)[0]!.host);
  const j = vm.inbox.findIndex((x) => x.handle === handle);
  if (j >= 0) vm.inbox.splice(j, 1);
  const r = vm.released.indexOf(handle);
  if (r >= 0) vm.released.splice(r, 1);
}

/** The host accepts a parcel its guest shared or lent it (the RM picks the host IPA) and reads it. */
function* acceptFromGuest(run: SwarmRun, vm: SwarmVm, p: Prng): Program {
  yield* timedWait(run, `${vm.world.name} shares memory with the host`, 1 * MS, () => vm.fromGuest.some((g) => !vm.hostHolds.some((h) => h.handle === g.handle)));
  const offer = vm.fromGuest.find((g) => !vm.hostHolds.some((h) => h.handle === g.handle) && !vm.hostReleased.includes(g.handle));
  if (offer === undefined) return;
  const o = yield* hostRm(run, vm, p, "MEM_ACCEPT", encodeMemAccept({ handle: offer.handle, memType: 0, transType: TRANS_TYPE.SHARE, flags: MEM_ACCEPT_FLAG.DONE, label: 0, acl: [], sgl: [], mapVmid: 0, attrs: [] }));
  let ipa: number | null = null;
  if (o.err !== "OK") {
    // A lend, not a share: accept it as one.
    const lend = yield* hostRm(run, vm, p, "MEM_ACCEPT", encodeMemAccept({ handle: offer.handle, memType: 0, transType: TRANS_TYPE.LEND, flags: MEM_ACCEPT_FLAG.DONE, label: 0, acl: [], sgl: [], mapVmid: 0, attrs: [] }));
    if (lend.err !== "OK") return;
    ipa = decodeAcceptSgl(lend.data as Uint8Array)[0]?.ipa ?? null;
  } else ipa = decodeAcceptSgl(o.data as Uint8Array)[0]?.ipa ?? null;
  vm.hostHolds.push({ handle: offer.handle, ipa, size: offer.size });
  if (ipa !== null) yield { kind: "host_read", ipa, sizeBytes: 8 };
}

/**
 * The host reads memory it gave this VM: the guest's hot pages, the firmware window's handover
 * page (pvmfw's DICE data), the regions' edges, parcels. While the VM holds them the reads abort;
 * after teardown they must read back sanitised.
 */
function* probe(vm: SwarmVm, p: Prng): Program {
  const w = vm.world;
  const hot = w.host.image + Math.floor(w.memory / 2);
  const spots = [hot, hot + PAGE * p.rangeInclusive(0, 15), w.host.image, w.host.shared, w.host.image + w.memory - PAGE];
  if (w.kind === "protected") spots.push(w.host.firmware + 0x20_0000, w.host.firmware + PAGE * p.rangeInclusive(0, 0x3ff));
  for (const g of vm.given) spots.push(g.host);
  if (w.demand !== null) spots.push(w.demand.host + PAGE * p.rangeInclusive(0, w.demand.pages - 1));
  for (let i = p.rangeInclusive(1, 4); i > 0; i--) yield { kind: "host_read", ipa: p.pick(spots) + 8 * p.rangeInclusive(0, 511), sizeBytes: 8 };
}

/**
 * The heal (VOPR's liveness mode): the VMM releases every VM it still holds and takes back every
 * parcel it gave, the host its guest-shared parcels; afterwards nothing of this VMM's may remain.
 */
function* heal(run: SwarmRun, vm: SwarmVm): Program {
  const none = { numerator: 0, denominator: 1 };
  for (const h of [...vm.held]) yield* release(run, vm, inert, h);
  for (const held of [...vm.hostHolds]) {
    yield* rmCall({ kind: "rm_request", vm: VMID.HLOS, msgId: rmMessageId("MEM_RELEASE"), payload: encodeMemHandle({ handle: held.handle, flags: 0 }) }, run.rpc, none, inert);
    vm.hostHolds.splice(vm.hostHolds.indexOf(held), 1);
  }
  for (const parcel of [...vm.given]) yield* reclaim(run, vm, inert, parcel.handle);
}

/** A stream that is never drawn from with a ratio of 0 and no delay (the heal runs without faults). */
const inert: Prng = {
  u32: () => 0,
  rangeInclusive: (min) => min,
  chance: () => false,
  pick: (items) => items[0]!,
};
