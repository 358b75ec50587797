/**
 * The gunyah driver's ioctls as crosvm issues them (GH_ generation: reference §7.1, §7.3, §7.6, §8).
 * RM calls the driver makes inside an ioctl go through the RM room in the same apply; each one is
 * listed in the outcome. Memory regions are sent to the RM at START: SET_USER_MEM_REGION shares
 * (ACL [guest: flags, host: RWX]), ANDROID_LEND_USER_MEM lends (ACL [guest: flags]).
 */
import { MEM_APPEND_FLAG, MEM_CREATE_FLAG, MEM_LIST_ENTRIES_MAX, rmMessageId, VMID, type RmMessageName } from "../abi/rm.ts";
import { onRmRequest, rmVcpuHalted } from "../rm/handlers.ts";
import type { Machine } from "../machine.ts";
import * as P from "../rm/payloads.ts";
import { PAGE, physPieces, reaches, writePhys } from "../rm/content.ts";
import { VCPU_RUN_STATE } from "../abi/constants.ts";
import { callAs, HVC } from "../rm/transport.ts";
import { objectAs } from "../object/objects.ts";
import { ERRNO, rmErrno, vmmVmByVmid, type VmmRegion, type VmmVm } from "./state.ts";
import type { VmmIoctlEvent, VmmLoadImageEvent } from "./events.ts";
import { invalidEvent } from "../../core/errors.ts";
import { authTypeFor, firmwareMemRequest, newIncarnation, setFwConfig } from "../protected/vmm.ts";
import { afterInit, beforeInit, createGuestMem, demandPage, mapMem, reclaimDemandPages, setBootContext } from "./gmem.ts";
import { VCPU_RUN_PAGE_FAULT } from "../vcpu/run.ts";

type Ev<O extends VmmIoctlEvent["op"]> = Extract<VmmIoctlEvent, { op: O }>;
export interface RmCallLog { msg: string; err: string; notify: { to: number; msg: string; data: Uint8Array }[] }
export interface IoctlOutcome { ret: number; rm: RmCallLog[]; [k: string]: unknown }

/** The driver sends one RM request as the HLOS and waits for the reply. */
function rmCall(s: Machine, ev: VmmIoctlEvent, log: RmCallLog[], msg: RmMessageName, payload: Uint8Array) {
  const rpcSeq = s.vmm.rpcSeq;
  s.vmm.rpcSeq = (rpcSeq % 0xffff) + 1;
  const out = onRmRequest(s, { kind: "rm_request", seq: ev.seq, t: ev.t, vm: VMID.HLOS, msgId: rmMessageId(msg), rpcSeq, payload });
  log.push({ msg: out.msg, err: out.err, notify: [...out.notify] });
  return out;
}
const u32 = (b: Uint8Array): number => (b.length >= 4 ? new DataView(b.buffer, b.byteOffset).getUint32(0, true) : 0);

function vmOf(s: Machine, ev: { fd: number; seq: number; kind: string }): VmmVm {
  const vm = s.vmm.vms.byId[ev.fd];
  if (vm === undefined) invalidEvent(ev.seq, ev.kind, `fd ${ev.fd} is not a VM fd`);
  return vm;
}

/** CREATE_VM: the GH_ driver allocates the VMID at create time. */
function createVm(s: Machine, ev: Ev<"CREATE_VM">): IoctlOutcome {
  const rm: RmCallLog[] = [];
  const r = rmCall(s, ev, rm, "VM_ALLOCATE", P.encodeVmid(0));
  if (r.err !== "OK") return { ret: rmErrno(r.err), rm };
  const fd = s.vmm.nextFd++;
  const vmid = u32(r.data);
  newIncarnation(s, vmid); // protected VMs (issue #6): nothing of an earlier VM with this VMID carries over
  s.vmm.vms.ids.push(fd);
  s.vmm.vms.byId[fd] = { fd, vmid, status: "LOAD", regions: [], dtb: null, vcpus: [], irqfds: [], ioeventfds: [], devices: [], exit: null, mmio: {}, ioevents: [] };
  return { ret: fd, vmid, rm };
}

function memRegion(s: Machine, ev: Ev<"SET_USER_MEM_REGION" | "ANDROID_LEND_USER_MEM">): IoctlOutcome {
  const vm = vmOf(s, ev);
  const aligned = [ev.guestPhysAddr, ev.memorySize, ev.userspaceAddr].every((x) => Number.isSafeInteger(x) && x >= 0 && x % PAGE === 0);
  if (!aligned || ev.memorySize === 0 || (ev.flags & ~7) !== 0) return { ret: -ERRNO.EINVAL, rm: [] };
  if (vm.status !== "LOAD") return { ret: -ERRNO.EBUSY, rm: [] };
  const overlaps = vm.regions.some((r) => r.label === ev.label || (r.guestPhysAddr < ev.guestPhysAddr + ev.memorySize && ev.guestPhysAddr < r.guestPhysAddr + r.size));
  if (overlaps) return { ret: -ERRNO.EEXIST, rm: [] };
  const pieces = ev.backing ?? [{ addr: ev.userspaceAddr, size: ev.memorySize }];
  if (!backingValid(pieces, ev.memorySize)) return { ret: -ERRNO.EINVAL, rm: [] };
  for (const p of pieces) if (!reaches(s, VMID.HLOS, p.addr, p.size, 6)) return { ret: -ERRNO.EFAULT, rm: [] };
  vm.regions.push({
    label: ev.label, flags: ev.flags, guestPhysAddr: ev.guestPhysAddr, size: ev.memorySize, userspaceAddr: ev.userspaceAddr, lend: ev.op === "ANDROID_LEND_USER_MEM", parcel: 0,
    ...(ev.backing === undefined ? {} : { backing: ev.backing.map((p) => ({ addr: p.addr, size: p.size })) }),
  });
  return { ret: 0, rm: [] };
}

/** A backing list: at most a page per piece, page-aligned non-empty pieces, covering exactly the region. */
function backingValid(pieces: readonly { addr: number; size: number }[], size: number): boolean {
  if (!Array.isArray(pieces) || pieces.length === 0 || pieces.length > size / PAGE) return false;
  let total = 0;
  for (const p of pieces) {
    if (typeof p !== "object" || p === null) return false;
    if (!Number.isSafeInteger(p.addr) || !Number.isSafeInteger(p.size) || p.addr < 0 || p.size <= 0 || p.addr % PAGE !== 0 || p.size % PAGE !== 0) return false;
    total += p.size;
  }
  return total === size;
}

/** The host address behind a guest physical address of a VM's regions (the range must lie in one backing piece). */
export function hostAddr(vm: VmmVm, gpa: number, len: number): number | null {
  const r = vm.regions.find((x) => gpa >= x.guestPhysAddr && gpa + len <= x.guestPhysAddr + x.size);
  if (r === undefined) return null;
  if (r.backing === undefined) return r.userspaceAddr + (gpa - r.guestPhysAddr);
  let off = gpa - r.guestPhysAddr;
  for (const p of r.backing) {
    if (off < p.size) return off + len <= p.size ? p.addr + off : null;
    off -= p.size;
  }
  return null;
}

/**
 * The driver's memory entries for a region (vm_mgr_mm.c gh_vm_mem_alloc / gunyah_share_parcel):
 * the pinned pages in order, physically adjacent ones merged into one entry.
 */
export function memEntries(r: VmmRegion): { ipa: number; size: number }[] {
  const out: { ipa: number; size: number }[] = [];
  for (const p of r.backing ?? [{ addr: r.userspaceAddr, size: r.size }]) {
    const last = out[out.length - 1];
    if (last !== undefined && last.ipa + last.size === p.addr) last.size += p.size;
    else out.push({ ipa: p.addr, size: p.size });
  }
  return out;
}

/**
 * gh_rm_mem_lend_common and gh_rm_mem_append (Linux drivers/virt/gunyah/rsc_mgr_rpc.c,
 * GH_RM_MAX_MEM_ENTRIES 512): more than 512 entries go as MEM_LEND/MEM_SHARE with the APPEND flag
 * and the first 512, then MEM_APPEND chunks of 512, the last with DONE (END). A failed append
 * leaves the parcel for the driver to reclaim (it does, at release). The parcel handle, or the error.
 */
function lendRegion(s: Machine, ev: VmmIoctlEvent, rm: RmCallLog[], vmid: number, r: VmmRegion): { handle: number } | { err: string } {
  const acl = r.lend ? [{ vmid, rights: r.flags }] : [{ vmid, rights: r.flags }, { vmid: VMID.HLOS, rights: 7 }];
  const entries = memEntries(r);
  const first = entries.slice(0, MEM_LIST_ENTRIES_MAX);
  const append = entries.length > MEM_LIST_ENTRIES_MAX;
  const out = rmCall(s, ev, rm, r.lend ? "MEM_LEND" : "MEM_SHARE", P.encodeMemCreate({ memType: 0, flags: append ? MEM_CREATE_FLAG.APPEND : 0, label: r.label, acl, sgl: first, attrs: [] }));
  if (out.err !== "OK") return { err: out.err };
  const handle = u32(out.data);
  for (let at = MEM_LIST_ENTRIES_MAX; at < entries.length; at += MEM_LIST_ENTRIES_MAX) {
    const chunk = entries.slice(at, at + MEM_LIST_ENTRIES_MAX);
    const done = at + MEM_LIST_ENTRIES_MAX >= entries.length;
    const a = rmCall(s, ev, rm, "MEM_APPEND", P.encodeMemAppend({ handle, flags: done ? MEM_APPEND_FLAG.DONE : 0, sgl: chunk }));
    if (a.err !== "OK") {
      r.parcel = handle;
      return { err: a.err };
    }
  }
  return { handle };
}

/** SET_DTB_CONFIG: crosvm has written the DTB into guest memory (through its host mapping) first. */
function setDtb(s: Machine, ev: Ev<"SET_DTB_CONFIG">): IoctlOutcome {
  const vm = vmOf(s, ev);
  const host = hostAddr(vm, ev.guestPhysAddr, ev.size);
  if (host === null || ev.dtb.length > ev.size || vm.status !== "LOAD") return { ret: -ERRNO.EINVAL, rm: [] };
  // crosvm writes through its own mapping of the region: the HLOS's stage-2 gives the pages. The
  // blob ends at its NUL, as a real DTB ends at its totalsize: whatever an earlier boot left in
  // the pages after it (the RM's overlay, the guest's writes) is not part of it.
  const blob = ev.dtb.length < ev.size && ev.dtb[ev.dtb.length - 1] !== 0 ? Uint8Array.of(...ev.dtb, 0) : ev.dtb;
  const pieces = physPieces(s, VMID.HLOS, host, blob.length);
  if (pieces === null) return { ret: -ERRNO.EFAULT, rm: [] };
  let off = 0;
  for (const p of pieces) {
    writePhys(s, p.pa, blob.subarray(off, off + p.size), `vm${VMID.HLOS}`);
    off += p.size;
  }
  vm.dtb = { guestPhysAddr: ev.guestPhysAddr, size: ev.size };
  return { ret: 0, rm: [] };
}

/** vmm_load_image: crosvm writes a program image through its mapping of a region it registered (LOAD only). */
export function onVmmLoadImage(s: Machine, ev: VmmLoadImageEvent): { ret: number; bytes: number } {
  const vm = s.vmm.vms.byId[ev.fd];
  if (vm === undefined) invalidEvent(ev.seq, ev.kind, `no VM has fd ${ev.fd}`);
  const host = hostAddr(vm, ev.guestPhysAddr, ev.image.length);
  if (host === null || ev.image.length === 0 || vm.status !== "LOAD") return { ret: -ERRNO.EINVAL, bytes: 0 };
  const pieces = physPieces(s, VMID.HLOS, host, ev.image.length);
  if (pieces === null) return { ret: -ERRNO.EFAULT, bytes: 0 };
  let off = 0;
  for (const p of pieces) {
    writePhys(s, p.pa, ev.image.subarray(off, off + p.size), `vm${VMID.HLOS}`);
    off += p.size;
  }
  return { ret: 0, bytes: ev.image.length };
}

/** START: lend/share every region, CONFIG_IMAGE with the DTB's region, INIT, GET_HYP_RESOURCES, START. */
function start(s: Machine, ev: Ev<"START">): IoctlOutcome {
  const vm = vmOf(s, ev);
  const rm: RmCallLog[] = [];
  if (vm.status !== "LOAD") return { ret: 0, rm }; // the driver only starts once
  if (vm.dtb === null) return { ret: -ERRNO.EINVAL, rm };
  for (const r of vm.regions) {
    const out = lendRegion(s, ev, rm, vm.vmid, r);
    if ("err" in out) return { ret: rmErrno(out.err), rm };
    r.parcel = out.handle;
  }
  const image = vm.regions.find((r) => vm.dtb!.guestPhysAddr >= r.guestPhysAddr && vm.dtb!.guestPhysAddr < r.guestPhysAddr + r.size)!;
  const fwMem = firmwareMemRequest(s, vm);
  const steps: [RmMessageName, Uint8Array][] = [
    ["VM_CONFIG_IMAGE", P.encodeVmConfigImage({ vmid: vm.vmid, authType: authTypeFor(s, vm), imageHandle: image.parcel, imageOffset: 0, imageSize: vm.dtb.guestPhysAddr - image.guestPhysAddr, dtOffset: vm.dtb.guestPhysAddr - image.guestPhysAddr, dtSize: vm.dtb.size })],
    // protected VMs (issue #6, src/model/protected/vmm.ts): the firmware region, after CONFIG_IMAGE.
    ...(fwMem === null ? [] : [["VM_SET_FIRMWARE_MEM", fwMem] as [RmMessageName, Uint8Array]]),
    // guest_memfd bindings (issue 17, vmm/gmem.ts): demand-paged ranges and the image's place, then the boot context.
    ...beforeInit(vm, image),
    ["VM_INIT", P.encodeVmid(vm.vmid)],
    ...afterInit(vm),
    ["VM_GET_HYP_RESOURCES", P.encodeVmid(vm.vmid)],
    ["VM_START", P.encodeVmid(vm.vmid)],
  ];
  for (const [msg, payload] of steps) {
    const out = rmCall(s, ev, rm, msg, payload);
    if (out.err !== "OK") return { ret: rmErrno(out.err), rm };
    if (msg === "VM_INIT") vm.status = "READY";
  }
  vm.status = "RUNNING";
  return { ret: 0, rm };
}

/**
 * RELEASE (last close of the VM fd), GH_ teardown: stop if running (force, stop_reason 3), VM_RESET,
 * reclaim each region, VM_DEALLOCATE. The VM's devices leave the bus.
 */
function release(s: Machine, ev: Ev<"RELEASE">): IoctlOutcome {
  const vm = vmOf(s, ev);
  const rm: RmCallLog[] = [];
  const rmVm = s.rm.vms.byId[vm.vmid];
  if (rmVm?.status === "RUNNING") rmCall(s, ev, rm, "VM_STOP", P.encodeVmStop({ vmid: vm.vmid, flags: 1, stopReason: 3 }));
  const st = s.rm.vms.byId[vm.vmid]?.status;
  if (st === "EXITED" || st === "READY" || st === "INIT_FAILED") rmCall(s, ev, rm, "VM_RESET", P.encodeVmid(vm.vmid));
  for (const r of vm.regions) if (r.parcel !== 0) rmCall(s, ev, rm, "MEM_RECLAIM", P.encodeMemHandle({ handle: r.parcel, flags: 0 }));
  // Demand-provided pages (issue 17): reclaimed once VM_RESET has released them (⚠ Linux reclaims its folios before the reset).
  reclaimDemandPages(vm, (msg, payload) => rmCall(s, ev, rm, msg, payload));
  rmCall(s, ev, rm, "VM_DEALLOCATE", P.encodeVmid(vm.vmid));
  for (const id of vm.devices) {
    delete s.virtio.devices.byId[id];
    s.virtio.devices.ids.splice(s.virtio.devices.ids.indexOf(id), 1);
  }
  s.vmm.vms.ids.splice(s.vmm.vms.ids.indexOf(vm.fd), 1);
  delete s.vmm.vms.byId[vm.fd];
  return { ret: 0, rm };
}

/** The VMM VM of a VCPU_RUN: by VM fd, or by the guest's VMID. */
function runTarget(s: Machine, ev: Ev<"VCPU_RUN">): VmmVm {
  if (ev.fd !== undefined) return vmOf(s, ev as { fd: number; seq: number; kind: string });
  const vm = vmmVmByVmid(s, ev.vm ?? -1);
  if (vm === undefined) invalidEvent(ev.seq, ev.kind, `VM ${ev.vm} has no VMM`);
  return vm;
}

/**
 * The HLOS vCPU whose crosvm vCPU thread runs vCPU `i` of guest `vmid`: spread over HLOS vCPUs
 * 1..n-1 (vCPU 0 shares CPU 0 with the RM) by VMID and index ⚠ model choice (Linux would migrate
 * threads; here one guest vCPU per host CPU keeps every running guest vCPU on its own CPU).
 */
export function runnerThread(s: Machine, vmid: number, i: number): number {
  const host = s.rm.hv!.vms[VMID.HLOS]!.vcpus;
  const n = host.length;
  if (n < 2) return host[0]!;
  const first = (vmid * 8 + i) % (n - 1);
  // Prefer an HLOS vCPU whose CPU is not already running another guest vCPU (a directed yield).
  for (let k = 0; k < n - 1; k++) {
    const id = host[1 + ((first + k) % (n - 1))]!;
    const t = objectAs(s, id, "thread");
    const cpu = t === undefined ? undefined : s.sched.cpus[t.affinity];
    if (cpu !== undefined && cpu.yieldTo === 0) return id;
  }
  return host[1 + first]!;
}

/**
 * VCPU_RUN (reference §7.5): before start the vCPU resource is missing (-ENODEV); at entry the
 * driver checks the VM: not RUNNING fills `status` (INIT_FAILED -> LOAD_FAILED 1, EXITED -> EXITED
 * 2, anything else CRASHED 3, §3.5). Otherwise it calls the hypervisor's vcpu_run on the vCPU's cap
 * with the resume data of the last MMIO exit (a read's value), from the HLOS vCPU that runs this
 * vCPU thread: READY means the guest now runs (the ioctl stays blocked in the kernel); a VMMIO exit
 * that an ioeventfd matches is completed in the kernel (eventfd signalled, vcpu_run called again);
 * any other VMMIO exit returns to crosvm as exit_reason MMIO.
 */
function vcpuRun(s: Machine, ev: Ev<"VCPU_RUN">): IoctlOutcome {
  const vm = runTarget(s, ev);
  if (!vm.vcpus.includes(ev.vcpu) || vm.status === "LOAD" || vm.status === "READY") return { ret: -ERRNO.ENODEV, rm: [] };
  const rmVm = s.rm.vms.byId[vm.vmid];
  if (rmVm?.status !== "RUNNING") {
    const status = rmVm?.status === "INIT_FAILED" ? 1 : rmVm?.status === "EXITED" ? 2 : 3;
    vm.status = "EXITED";
    vm.exit = rmVm?.exit === null || rmVm === undefined ? null : { type: rmVm.exit.type, reason: [...rmVm.exit.reason] };
    return { ret: 0, rm: [], exit: "STATUS", status, exitType: vm.exit?.type ?? -1, reason: vm.exit?.reason ?? [] };
  }
  const hv = s.rm.hv!.vms[vm.vmid]!;
  const host = s.rm.hv!.vms[VMID.HLOS]!;
  const pending = vm.mmio[ev.vcpu];
  const cap = hv.hostVcpuCaps[ev.vcpu] ?? 0;
  const runner = runnerThread(s, vm.vmid, ev.vcpu);
  const target = objectAs(s, hv.vcpus[ev.vcpu] ?? 0, "thread");
  // The vCPU thread is already inside vcpu_run for it (the guest runs): nothing new to report.
  if (target?.entered === true && pending === undefined) return { ret: 0, rm: [], exit: "none", state: "RUNNING" };
  const resume0 = pending !== undefined && !pending.write ? pending.value : 0n;
  if (pending !== undefined) delete vm.mmio[ev.vcpu];
  let r = callAs(s, VMID.HLOS, runner, host.cspace, HVC.vcpu_run, [cap, resume0, 0, 0]);
  if (r.error !== "OK") return { ret: r.error === "BUSY" ? -ERRNO.EBUSY : -ERRNO.EINVAL, rm: [], hv: r.error };
  let state = Number(r.out![0]!);
  if (state === VCPU_RUN_STATE.POWERED_OFF || state === VCPU_RUN_STATE.PSCI_SYSTEM_RESET || state === VCPU_RUN_STATE.FAULT) {
    // The guest went down (PSCI SYSTEM_OFF / SYSTEM_RESET): the driver waits for the RM's
    // VM_EXITED, which the RM's vCPU-halt handler sends (rm/handlers.ts rmVcpuHalted), then fills
    // `status` (reference §7.5, §3.5). `rmNotify`: the notifications the host got meanwhile.
    const h = rmVcpuHalted(s, vm.vmid);
    if (h !== null && h.exited) {
      const e = s.rm.vms.byId[vm.vmid]!.exit!;
      vm.status = "EXITED";
      vm.exit = { type: e.type, reason: [...e.reason] };
      return { ret: 0, rm: [], exit: "STATUS", status: 2, exitType: e.type, reason: [...e.reason], state: stateName(state), halt: h.cause, rmNotify: [...h.notify] };
    }
    if (h !== null) return { ret: 0, rm: [], exit: "none", state: stateName(state), halt: h.cause, rmNotify: [...h.notify] };
  }
  if (state === VCPU_RUN_PAGE_FAULT) {
    // gunyah_vcpu.c: demand-page from the guest_memfd, then resume with RETRY (the access re-executes);
    // on failure exit to userspace with exit_reason PAGE_FAULT, attempt = -errno, resume_action FAULT.
    const ipa = Number(r.out![1]!);
    const rmLog: RmCallLog[] = [];
    const d = demandPage(s, vm, (msg, payload) => rmCall(s, ev, rmLog, msg, payload), ipa, r.out![2]! !== 0n);
    if (d.ret !== 0) return { ret: 0, rm: rmLog, exit: "PAGE_FAULT", physAddr: ipa, attempt: d.ret, resumeAction: "FAULT" };
    r = callAs(s, VMID.HLOS, runner, host.cspace, HVC.vcpu_run, [cap, 0, 1, 0]);
    state = r.error === "OK" ? Number(r.out![0]!) : -1;
    return { ret: 0, rm: rmLog, exit: "PAGE_FAULT_HANDLED", physAddr: ipa, provided: d.provided, state: stateName(state) };
  }
  const write = state === VCPU_RUN_STATE.ADDRSPACE_VMMIO_WRITE;
  if (write || state === VCPU_RUN_STATE.ADDRSPACE_VMMIO_READ) {
    const ipa = Number(r.out![1]!);
    const size = Number(r.out![2]!);
    // The run page's data is u8[8]: a 64-bit write's value reaches crosvm whole (reference §7.4).
    const value = BigInt.asUintN(size >= 8 ? 64 : size * 8, r.out![3]!);
    const exit = { vcpu: ev.vcpu, ipa, size, write, value: write ? value : 0n, handled: false };
    if (write && hasIoeventfd(vm, ipa, size)) {
      vm.ioevents.push(exit);
      r = callAs(s, VMID.HLOS, runner, host.cspace, HVC.vcpu_run, [cap, 0, 0, 0]);
      state = r.error === "OK" ? Number(r.out![0]!) : -1;
      return { ret: 0, rm: [], exit: "IOEVENTFD", physAddr: ipa, len: size, data: value, state: stateName(state) };
    }
    vm.mmio[ev.vcpu] = exit;
    return { ret: 0, rm: [], exit: "MMIO", physAddr: ipa, len: size, isWrite: write, data: exit.value };
  }
  return { ret: 0, rm: [], exit: "none", state: stateName(state) };
}

/** Does an ioeventfd take a write of `size` bytes at `ipa` (length 0 matches any size)? */
function hasIoeventfd(vm: VmmVm, ipa: number, size: number): boolean {
  for (const f of vm.ioeventfds) if (f.addr === ipa && (f.len === 0 || f.len === size)) return true;
  return false;
}

/** vcpu_run_state numbers to names (a constant table: every VCPU_RUN reports one). */
const STATE_NAMES = new Map<number, string>(Object.entries(VCPU_RUN_STATE).map(([name, n]) => [n, name]));
const stateName = (n: number): string => STATE_NAMES.get(n) ?? (n === VCPU_RUN_PAGE_FAULT ? "PAGE_FAULT" : String(n));

export function onVmmIoctl(s: Machine, ev: VmmIoctlEvent): IoctlOutcome {
  switch (ev.op) {
    case "CREATE_VM": return createVm(s, ev);
    case "SET_USER_MEM_REGION":
    case "ANDROID_LEND_USER_MEM": return memRegion(s, ev);
    case "SET_DTB_CONFIG": return setDtb(s, ev);
    case "ADD_VCPU": {
      const vm = vmOf(s, ev);
      if (vm.vcpus.includes(ev.id)) return { ret: -ERRNO.EEXIST, rm: [] };
      vm.vcpus.push(ev.id);
      return { ret: 0, rm: [] };
    }
    case "ADD_IRQFD": {
      const vm = vmOf(s, ev);
      if (vm.irqfds.some((f) => f.label === ev.label)) return { ret: -ERRNO.EEXIST, rm: [] };
      vm.irqfds.push({ label: ev.label, level: ev.level });
      return { ret: 0, rm: [] };
    }
    case "ADD_IOEVENTFD": {
      const vm = vmOf(s, ev);
      if (![0, 1, 2, 4, 8].includes(ev.len)) return { ret: -ERRNO.EINVAL, rm: [] };
      vm.ioeventfds.push({ addr: ev.addr, len: ev.len });
      return { ret: 0, rm: [] };
    }
    case "ANDROID_SET_FW_CONFIG": return { ret: setFwConfig(s, vmOf(s, ev), ev.guestPhysAddr, ev.size), rm: [] }; // protected VMs (issue #6)
    case "START": return start(s, ev);
    case "VCPU_RUN": return vcpuRun(s, ev);
    case "RELEASE": return release(s, ev);
    case "CREATE_GUEST_MEM": return { ret: createGuestMem(s, ev.size, ev.hostAddr), rm: [] };
    case "VM_MAP_MEM": return { ret: mapMem(s, vmOf(s, ev), ev), rm: [] };
    case "VM_SET_BOOT_CONTEXT": return { ret: setBootContext(vmOf(s, ev), ev.reg, ev.value), rm: [] };
  }
}
