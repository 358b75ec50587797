/**
 * The host side: crosvm driving the gunyah driver (reference §7, §8). Each function is a program
 * of ioctls (or the driver's own RM calls) for one VM described by a VmPlan.
 */
import { MEM_RIGHTS, VMID, rmMessageId } from "../../model/abi/rm.ts";
import { encodeVmConfigBlob } from "../../model/rm/vmconfig.ts";
import { encodeMemCreate, encodeMemHandle, encodeVmStop } from "../../model/rm/payloads.ts";
import { REG } from "../../model/virtio/regs.ts";
import type { Machine } from "../../model/machine.ts";
import { DEVICE_INFO, type VmPlan } from "./vm-plan.ts";
import type { Program, Step, Steps } from "./program.ts";

/** What crosvm knows about a VM it created: its fd and the VMID the driver got from the RM. */
export interface HostVm {
  fd: number;
  vmid: number;
}

/** crosvm before START: create the VM, register memory (image lent, swiotlb shared), devices, vCPUs, irqfds, DTB. */
export function* hostCreate(vm: HostVm, plan: VmPlan): Steps {
  const created = yield { kind: "vmm_ioctl", op: "CREATE_VM" };
  vm.fd = created.ret as number;
  vm.vmid = created.vmid as number;
  const fd = vm.fd;
  const { image, shared } = plan;
  yield { kind: "vmm_ioctl", op: "ANDROID_LEND_USER_MEM", fd, label: 0, flags: 7, guestPhysAddr: image.gpa, memorySize: image.size, userspaceAddr: image.host };
  yield { kind: "vmm_ioctl", op: "SET_USER_MEM_REGION", fd, label: 1, flags: 6, guestPhysAddr: shared.gpa, memorySize: shared.size, userspaceAddr: shared.host };
  const lent = plan.lent ?? [];
  for (const l of lent) {
    yield { kind: "vmm_ioctl", op: "ANDROID_LEND_USER_MEM", fd, label: l.label, flags: 7, guestPhysAddr: l.gpa, memorySize: l.size, userspaceAddr: l.host, ...(l.backing === undefined ? {} : { backing: l.backing }) };
  }
  for (const d of plan.devices) yield { kind: "vmm_add_device", fd, base: d.base, deviceId: DEVICE_INFO[d.type].id, irq: d.irq, capacitySectors: d.capacitySectors };
  for (let id = 0; id < plan.vcpus; id++) yield { kind: "vmm_ioctl", op: "ADD_VCPU", fd, id };
  for (const d of plan.devices) yield { kind: "vmm_ioctl", op: "ADD_IRQFD", fd, label: d.irq, level: false };
  for (const d of plan.devices) if (d.type === "virtio-blk") yield { kind: "vmm_ioctl", op: "ADD_IOEVENTFD", fd, addr: d.base + REG.QueueNotify, len: 4 };
  const dtb = encodeVmConfigBlob({
    baseAddress: image.gpa,
    vcpus: plan.vcpus,
    memory: [{ label: 1, base: shared.gpa }, ...lent.map((l) => ({ label: l.label, base: l.gpa }))],
    bells: plan.devices.map((d) => ({ label: d.irq, irq: d.irq })),
    vmAttrs: [...plan.attrs],
  });
  yield { kind: "vmm_ioctl", op: "SET_DTB_CONFIG", fd, guestPhysAddr: plan.dtbGpa, size: 0x1000, dtb };
}

/** START (the driver lends/shares the regions and runs the RM's create sequence), then the first VCPU_RUN. */
export function* hostStart(vm: HostVm): Steps {
  yield { kind: "vmm_ioctl", op: "START", fd: vm.fd };
  yield { kind: "vmm_ioctl", op: "VCPU_RUN", vm: vm.vmid, vcpu: 0 };
}

/** VCPU_RUN after the guest went down: the driver reports the STATUS exit. */
export function* hostCollectExit(vm: HostVm): Steps {
  yield { kind: "vmm_ioctl", op: "VCPU_RUN", vm: vm.vmid, vcpu: 0 };
}

/** The last close of the VM fd: stop, reset, reclaim, deallocate. */
export function* hostRelease(vm: HostVm): Steps {
  yield { kind: "vmm_ioctl", op: "RELEASE", fd: vm.fd };
}

/** The driver's VM_STOP with FORCE: the RM exits the VM (VM_STOP_FORCED). */
export function hostStopStep(vm: HostVm, rpcSeq: number): Step {
  return { kind: "rm_request", vm: VMID.HLOS, msgId: rmMessageId("VM_STOP"), rpcSeq, payload: encodeVmStop({ vmid: vm.vmid, flags: 1, stopReason: 3 }) };
}

/**
 * Every vCPU of the VM is off (the guest's PSCI SYSTEM_OFF / SYSTEM_RESET powered them all off):
 * the VM is down, though the RM's EXITED comes with the host's next VCPU_RUN (src/model/vmm/ioctl.ts).
 */
export const vmHalted = (s: Machine, vmid: number): boolean => {
  // A loop, not `.every`: the scheduler asks this of every guest before every event.
  const ids = s.rm.hv?.vms[vmid]?.vcpus;
  if (ids === undefined || ids.length === 0) return false;
  for (let i = 0; i < ids.length; i++) {
    const t = s.objects.byId[ids[i]!];
    if (t === undefined || t.type !== "thread" || t.power !== "OFF") return false;
  }
  return true;
};

/** The VM is RUNNING for the RM and has not gone down by itself (vmHalted). */
export const vmRunning = (s: Machine, vmid: number): boolean => s.rm.vms.byId[vmid]?.status === "RUNNING" && !vmHalted(s, vmid);

/** The VM is RUNNING and its vCPU executes (crosvm's vCPU thread is inside vcpu_run for it): the guest can act. */
export const vcpuEntered = (s: Machine, vmid: number, vcpu = 0): boolean => {
  if (!vmRunning(s, vmid)) return false;
  const id = s.vms[vmid]?.vcpus[vcpu] ?? 0;
  const t = s.objects.byId[id];
  return t !== undefined && t.type === "thread" && t.entered;
};

/** A parcel the host made for a guest: its handle, and the host range behind it. */
export interface GivenParcel {
  readonly handle: number;
  readonly host: number;
  readonly size: number;
  readonly trans: "LEND" | "SHARE";
}

/**
 * The host gives a running guest more memory: MEM_LEND (the host loses access) or MEM_SHARE (both
 * keep it), RW for the guest. Returns the parcel, or null when the RM refused.
 */
export function* hostGive(vm: HostVm, trans: "LEND" | "SHARE", host: number, size: number, label: number, rpcSeq: number): Program<GivenParcel | null> {
  const acl = trans === "LEND" ? [{ vmid: vm.vmid, rights: MEM_RIGHTS.RW }] : [{ vmid: vm.vmid, rights: MEM_RIGHTS.RW }, { vmid: VMID.HLOS, rights: MEM_RIGHTS.RWX }];
  const payload = encodeMemCreate({ memType: 0, flags: 0, label, acl, sgl: [{ ipa: host, size }], attrs: [] });
  const o = yield { kind: "rm_request", vm: VMID.HLOS, msgId: rmMessageId(trans === "LEND" ? "MEM_LEND" : "MEM_SHARE"), rpcSeq, payload };
  const data = o.data as Uint8Array;
  if (o.err !== "OK" || data.length < 4) return null;
  return { handle: new DataView(data.buffer, data.byteOffset).getUint32(0, true), host, size, trans };
}

/** MEM_RECLAIM by the owner once the borrower has released (or was reset). */
export function hostReclaimStep(handle: number, rpcSeq: number): Step {
  return { kind: "rm_request", vm: VMID.HLOS, msgId: rmMessageId("MEM_RECLAIM"), rpcSeq, payload: encodeMemHandle({ handle, flags: 0 }) };
}
