/**
 * Shared driver pieces for the VM scenarios: crosvm setting up a secondary VM through the gunyah
 * driver (reference §8), and a guest that probes and drives its virtio-mmio devices, each step an
 * event. Written as generators: each `yield` proposes one event and receives its outcome. All
 * randomness comes from the named streams passed in.
 */
import { rmMessageId, VMID } from "../../model/abi/rm.ts";
import { encodeVmConfigBlob } from "../../model/rm/vmconfig.ts";
import { encodeVmExit } from "../../model/rm/payloads.ts";
import { REG, STATUS, DEVICE_ID, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE, BLK_T_IN, BLK_T_OUT } from "../../model/virtio/regs.ts";
import type { HaltCause } from "../../model/rm/lifecycle.ts";
import type { Outcome } from "../../core/event.ts";
import { US } from "../../core/event.ts";
import type { Proposal } from "../scenario.ts";
import type { Prng } from "../prng.ts";

/** A proposal without its time: the generator's caller stamps `t`. */
export type Step = Proposal extends infer P ? (P extends Proposal ? Omit<P, "t"> : never) : never;
export type Steps = Generator<Step, void, Outcome>;

/** Guest physical layout (crosvm puts RAM at 0x8000_0000, reference §8.3) and where the host keeps it. */
export const LAYOUT = {
  imageGpa: 0x8000_0000,
  imageHost: 0x9000_0000,
  imageSize: 0x20_0000,
  dtbGpa: 0x801f_0000,
  sharedGpa: 0x8100_0000,
  sharedHost: 0x9400_0000,
  sharedSize: 0x10_0000,
  blockBase: 0x0a00_0000,
  consoleBase: 0x0a00_1000,
  blockIrq: 33,
  consoleIrq: 34,
  capacitySectors: 2048,
} as const;

const le = (v: number, n: number): number[] => Array.from({ length: n }, (_, i) => Math.floor(v / 2 ** (8 * i)) & 0xff);
const bytes = (...parts: number[][]): Uint8Array => Uint8Array.from(parts.flat());

export interface HostVm {
  fd: number;
  vmid: number;
}

/** crosvm: create the VM, register memory (image lent, swiotlb shared), devices, vCPU, irqfds, DTB; start. */
export function* hostSetup(vm: HostVm): Steps {
  const created = yield { kind: "vmm_ioctl", op: "CREATE_VM" };
  vm.fd = created.ret as number;
  vm.vmid = created.vmid as number;
  const fd = vm.fd;
  yield { kind: "vmm_ioctl", op: "ANDROID_LEND_USER_MEM", fd, label: 0, flags: 7, guestPhysAddr: LAYOUT.imageGpa, memorySize: LAYOUT.imageSize, userspaceAddr: LAYOUT.imageHost };
  yield { kind: "vmm_ioctl", op: "SET_USER_MEM_REGION", fd, label: 1, flags: 6, guestPhysAddr: LAYOUT.sharedGpa, memorySize: LAYOUT.sharedSize, userspaceAddr: LAYOUT.sharedHost };
  yield { kind: "vmm_add_device", fd, base: LAYOUT.blockBase, deviceId: DEVICE_ID.BLOCK, irq: LAYOUT.blockIrq, capacitySectors: LAYOUT.capacitySectors };
  yield { kind: "vmm_add_device", fd, base: LAYOUT.consoleBase, deviceId: DEVICE_ID.CONSOLE, irq: LAYOUT.consoleIrq, capacitySectors: 0 };
  yield { kind: "vmm_ioctl", op: "ADD_VCPU", fd, id: 0 };
  yield { kind: "vmm_ioctl", op: "ADD_IRQFD", fd, label: LAYOUT.blockIrq, level: false };
  yield { kind: "vmm_ioctl", op: "ADD_IRQFD", fd, label: LAYOUT.consoleIrq, level: false };
  yield { kind: "vmm_ioctl", op: "ADD_IOEVENTFD", fd, addr: LAYOUT.blockBase + REG.QueueNotify, len: 4 };
  const dtb = encodeVmConfigBlob({
    baseAddress: LAYOUT.imageGpa,
    vcpus: 1,
    memory: [{ label: 1, base: LAYOUT.sharedGpa }],
    bells: [{ label: LAYOUT.blockIrq, irq: LAYOUT.blockIrq }, { label: LAYOUT.consoleIrq, irq: LAYOUT.consoleIrq }],
    vmAttrs: [],
  });
  yield { kind: "vmm_ioctl", op: "SET_DTB_CONFIG", fd, guestPhysAddr: LAYOUT.dtbGpa, size: 0x1000, dtb };
  yield { kind: "vmm_ioctl", op: "START", fd };
  yield { kind: "vmm_ioctl", op: "VCPU_RUN", fd, vcpu: 0 };
}

/** crosvm after the guest went down: VCPU_RUN sees the STATUS exit, then the last close tears the VM down. */
export function* hostTeardown(vm: HostVm): Steps {
  yield { kind: "vmm_ioctl", op: "VCPU_RUN", fd: vm.fd, vcpu: 0 };
  yield { kind: "vmm_ioctl", op: "RELEASE", fd: vm.fd };
}

const mmioRead = (vm: number, ipa: number): Step => ({ kind: "vm_mmio", vm, vcpu: 0, ipa, sizeBytes: 4, write: false, value: 0 });
const mmioWrite = (vm: number, ipa: number, value: number): Step => ({ kind: "vm_mmio", vm, vcpu: 0, ipa, sizeBytes: 4, write: true, value });

/** Where a device's queue lives in the shared region (desc table, avail ring, used ring, buffers). */
export function queueLayout(device: number, queue: number) {
  const base = LAYOUT.sharedGpa + device * 0x1_0000 + queue * 0x4000;
  return { desc: base, avail: base + 0x100, used: base + 0x200, buffers: base + 0x1000 };
}
export const QUEUE_SIZE = 8;

/** The Linux virtio-mmio probe and virtio init sequence (VIRTIO 1.x §3.1.1) for one device. */
export function* guestInitDevice(vm: number, base: number, device: number, queues: number): Steps {
  for (const r of [REG.MagicValue, REG.Version, REG.DeviceID, REG.VendorID]) yield mmioRead(vm, base + r);
  yield mmioWrite(vm, base + REG.Status, 0);
  yield mmioWrite(vm, base + REG.Status, STATUS.ACKNOWLEDGE);
  yield mmioWrite(vm, base + REG.Status, STATUS.ACKNOWLEDGE | STATUS.DRIVER);
  yield mmioWrite(vm, base + REG.DeviceFeaturesSel, 1);
  yield mmioRead(vm, base + REG.DeviceFeatures);
  yield mmioWrite(vm, base + REG.DriverFeaturesSel, 1);
  yield mmioWrite(vm, base + REG.DriverFeatures, 1); // VERSION_1
  const st = STATUS.ACKNOWLEDGE | STATUS.DRIVER | STATUS.FEATURES_OK;
  yield mmioWrite(vm, base + REG.Status, st);
  const check = yield mmioRead(vm, base + REG.Status);
  if (((check.value as number) & STATUS.FEATURES_OK) === 0) return;
  for (let q = 0; q < queues; q++) {
    const l = queueLayout(device, q);
    yield mmioWrite(vm, base + REG.QueueSel, q);
    yield mmioRead(vm, base + REG.QueueNumMax);
    yield mmioWrite(vm, base + REG.QueueNum, QUEUE_SIZE);
    yield mmioWrite(vm, base + REG.QueueDescLow, l.desc);
    yield mmioWrite(vm, base + REG.QueueDriverLow, l.avail);
    yield mmioWrite(vm, base + REG.QueueDeviceLow, l.used);
    yield mmioWrite(vm, base + REG.QueueReady, 1);
  }
  yield mmioWrite(vm, base + REG.Status, st | STATUS.DRIVER_OK);
}

const desc = (addr: number, len: number, flags: number, next: number): number[] => [...le(addr, 8), ...le(len, 4), ...le(flags, 2), ...le(next, 2)];

/** One virtio-blk request: header, data, status descriptors; avail entry; notify; interrupt ack. */
export function* guestBlockIo(vm: number, availIdx: number, write: boolean, sector: number, guest: Prng): Steps {
  const l = queueLayout(0, 0);
  const hdr = l.buffers;
  const data = l.buffers + 0x100;
  const status = l.buffers + 0x400;
  if (write) {
    const payload = Uint8Array.from({ length: 512 }, () => guest.rangeInclusive(0, 255));
    yield { kind: "vm_mem_write", vm, ipa: data, data: payload };
  }
  yield { kind: "vm_mem_write", vm, ipa: hdr, data: bytes(le(write ? BLK_T_OUT : BLK_T_IN, 4), le(0, 4), le(sector, 8)) };
  yield {
    kind: "vm_mem_write", vm, ipa: l.desc,
    data: bytes(desc(hdr, 16, VIRTQ_DESC_F_NEXT, 1), desc(data, 512, VIRTQ_DESC_F_NEXT | (write ? 0 : VIRTQ_DESC_F_WRITE), 2), desc(status, 1, VIRTQ_DESC_F_WRITE, 0)),
  };
  yield { kind: "vm_mem_write", vm, ipa: l.avail + 4 + 2 * (availIdx % QUEUE_SIZE), data: bytes(le(0, 2)) };
  yield { kind: "vm_mem_write", vm, ipa: l.avail + 2, data: bytes(le(availIdx + 1, 2)) };
  yield mmioWrite(vm, LAYOUT.blockBase + REG.QueueNotify, 0);
  const isr = yield mmioRead(vm, LAYOUT.blockBase + REG.InterruptStatus);
  yield mmioWrite(vm, LAYOUT.blockBase + REG.InterruptACK, isr.value as number);
}

/** The guest prints a line on the console's transmit queue (queue 1). */
export function* guestConsole(vm: number, text: string): Steps {
  const l = queueLayout(1, 1);
  yield { kind: "vm_mem_write", vm, ipa: l.buffers, data: new TextEncoder().encode(text) };
  yield { kind: "vm_mem_write", vm, ipa: l.desc, data: bytes(desc(l.buffers, text.length, 0, 0)) };
  yield { kind: "vm_mem_write", vm, ipa: l.avail + 4, data: bytes(le(0, 2)) };
  yield { kind: "vm_mem_write", vm, ipa: l.avail + 2, data: bytes(le(1, 2)) };
  yield mmioWrite(vm, LAYOUT.consoleBase + REG.QueueNotify, 1);
  yield mmioWrite(vm, LAYOUT.consoleBase + REG.InterruptACK, 1);
}

/** The guest goes down: PSCI SYSTEM_OFF/RESET (vCPU halt), a panic (VM_EXIT SOFTWARE_ERROR), or a watchdog bite. */
export function* guestDown(vm: number, how: HaltCause | "PANIC"): Steps {
  if (how === "PANIC") {
    yield { kind: "rm_request", vm, msgId: rmMessageId("VM_EXIT"), rpcSeq: 1, payload: encodeVmExit({ exitFlags: 0, exitCode: 1, res0: 0 }) };
    return;
  }
  yield { kind: "rm_vm_halt", vm, vcpu: 0, cause: how };
}

/** Drives a generator as a scenario driver: stamps times from the `timing` stream, feeds outcomes back. */
export function runSteps(steps: Steps, timing: Prng) {
  let t = 0;
  let last: Outcome = {};
  let done = false;
  let first = true;
  return {
    next(): Proposal | null {
      if (done) return null;
      const r = first ? steps.next(undefined as unknown as Outcome) : steps.next(last);
      first = false;
      if (r.done === true) {
        done = true;
        return null;
      }
      t += timing.rangeInclusive(1 * US, 50 * US);
      return { ...r.value, t } as Proposal;
    },
    observe(_ev: unknown, outcome: Outcome): void {
      last = outcome;
    },
  };
}

export const HLOS = VMID.HLOS;
