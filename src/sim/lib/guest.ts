/**
 * The guest side: a Linux-like kernel on the VM's boot vCPU probing and driving its virtio-mmio
 * devices (VIRTIO 1.x §3.1.1, §4.2), borrowing memory through the RM, and going down. Each MMIO
 * access to a device is a stage-2 miss (`stage2_fault`, forwarded by the hypervisor as a VMMIO exit),
 * which crosvm's vCPU thread collects (VCPU_RUN), its bus handles (`vmm_mmio`) and resumes
 * (VCPU_RUN); an ioeventfd write is completed in the kernel. Device interrupts are taken from the
 * vGIC (`virq_ack` / `virq_eoi`). Each store into a ring or buffer a device will read is a vm_mem_write.
 */
import { MEM_ACCEPT_FLAG, TRANS_TYPE, rmMessageId } from "../../model/abi/rm.ts";
import { PSCI } from "../../model/abi/constants.ts";
import { decodeAcceptSgl, encodeMemAccept, encodeMemHandle, encodeVmExit } from "../../model/rm/payloads.ts";
import type { HaltCause } from "../../model/rm/lifecycle.ts";
import { REG, STATUS, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE, BLK_T_IN, BLK_T_OUT } from "../../model/virtio/regs.ts";
import type { Prng } from "../prng.ts";
import type { Outcome } from "../../core/event.ts";
import { le16, putLe, sleep, type Program, type Step, type Steps } from "./program.ts";
import { DEVICE_INFO, QUEUE_SIZE, queueLayout, type DevicePlan, type VmPlan } from "./vm-plan.ts";

/** Who is running: the VM, its vCPU, its plan, and the stream its data comes from. */
export interface GuestCtx {
  readonly vmid: number;
  readonly vcpu: number;
  readonly plan: VmPlan;
  readonly data: Prng;
}

/**
 * One 32-bit MMIO access by the guest's vCPU: the stage-2 fault, crosvm's VCPU_RUN collecting the
 * VMMIO exit, its bus (vmm_mmio), and the VCPU_RUN that resumes the vCPU (a read loads the value).
 * An ioeventfd write is resumed by the kernel inside the first VCPU_RUN. Returns crosvm's outcome.
 */
function* mmio(g: GuestCtx, ipa: number, write: boolean, value: number): Generator<Step, Outcome, Outcome> {
  // Two literals, not a spread of an optional field: this runs for a third of long-run's events.
  yield write
    ? { kind: "stage2_fault", vm: g.vmid, vcpu: g.vcpu, ipa, access: "write", sizeBytes: 4, value: BigInt(value >>> 0) }
    : { kind: "stage2_fault", vm: g.vmid, vcpu: g.vcpu, ipa, access: "read", sizeBytes: 4 };
  const run = { kind: "vmm_ioctl", op: "VCPU_RUN", vm: g.vmid, vcpu: g.vcpu } as const;
  const exit = yield run;
  const handled = yield { kind: "vmm_mmio", vm: g.vmid, vcpu: g.vcpu };
  if (exit.exit !== "IOEVENTFD") yield run;
  return handled;
}
const mmioRead = (g: GuestCtx, ipa: number) => mmio(g, ipa, false, 0);
const mmioWrite = (g: GuestCtx, ipa: number, value: number) => mmio(g, ipa, true, value);

/** The guest's interrupt handler around `body`: acknowledge (ICC_IAR1_EL1), the body, EOI. */
function* takeIrq(g: GuestCtx, body: () => Generator<Step, void, Outcome>): Generator<Step, void, Outcome> {
  const ack = yield { kind: "virq_ack", vm: g.vmid, vcpu: g.vcpu };
  yield* body();
  const intid = ack.intid as number;
  if (intid !== 1023) yield { kind: "virq_eoi", vm: g.vmid, vcpu: g.vcpu, virq: intid };
}
const store = (g: GuestCtx, ipa: number, data: Uint8Array): Step => ({ kind: "vm_mem_write", vm: g.vmid, ipa, data });

/** The Linux virtio-mmio probe and virtio init sequence for one device. */
export function* initDevice(g: GuestCtx, d: DevicePlan): Steps {
  const base = d.base;
  for (const r of [REG.MagicValue, REG.Version, REG.DeviceID, REG.VendorID]) yield* mmioRead(g, base + r);
  yield* mmioWrite(g, base + REG.Status, 0);
  yield* mmioWrite(g, base + REG.Status, STATUS.ACKNOWLEDGE);
  yield* mmioWrite(g, base + REG.Status, STATUS.ACKNOWLEDGE | STATUS.DRIVER);
  yield* mmioWrite(g, base + REG.DeviceFeaturesSel, 1);
  yield* mmioRead(g, base + REG.DeviceFeatures);
  yield* mmioWrite(g, base + REG.DriverFeaturesSel, 1);
  yield* mmioWrite(g, base + REG.DriverFeatures, 1); // VERSION_1
  const st = STATUS.ACKNOWLEDGE | STATUS.DRIVER | STATUS.FEATURES_OK;
  yield* mmioWrite(g, base + REG.Status, st);
  const check = yield* mmioRead(g, base + REG.Status);
  if (((check.value as number) & STATUS.FEATURES_OK) === 0) return;
  for (let q = 0; q < DEVICE_INFO[d.type].queues; q++) {
    const l = queueLayout(g.plan, d.index, q);
    yield* mmioWrite(g, base + REG.QueueSel, q);
    yield* mmioRead(g, base + REG.QueueNumMax);
    yield* mmioWrite(g, base + REG.QueueNum, QUEUE_SIZE);
    yield* mmioWrite(g, base + REG.QueueDescLow, l.desc);
    yield* mmioWrite(g, base + REG.QueueDriverLow, l.avail);
    yield* mmioWrite(g, base + REG.QueueDeviceLow, l.used);
    yield* mmioWrite(g, base + REG.QueueReady, 1);
  }
  yield* mmioWrite(g, base + REG.Status, st | STATUS.DRIVER_OK);
}

/** Writes one split-virtqueue descriptor (VIRTIO 1.x §2.7.5: addr le64, len le32, flags le16, next le16) at `at`. */
function putDesc(out: Uint8Array, at: number, addr: number, len: number, flags: number, next: number): void {
  putLe(out, at, addr, 8);
  putLe(out, at + 8, len, 4);
  putLe(out, at + 12, flags, 2);
  putLe(out, at + 14, next, 2);
}
const DESC_BYTES = 16;

/** `bytes` random bytes from the guest's data stream, drawn in order. */
function randomBytes(g: GuestCtx, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = g.data.rangeInclusive(0, 255);
  return out;
}

/**
 * One virtio-blk request: header, data, status descriptors; avail entry; notify; then (after the
 * device's latency, when given) the interrupt: read and acknowledge InterruptStatus.
 */
export function* blockIo(g: GuestCtx, d: DevicePlan, availIdx: number, write: boolean, sector: number, deviceWaitNs = 0): Program {
  const l = queueLayout(g.plan, d.index, 0);
  const hdr = l.buffers;
  const data = l.buffers + 0x100;
  const status = l.buffers + 0x400;
  if (write) yield store(g, data, randomBytes(g, 512));
  // virtio_blk_outhdr (VIRTIO 1.x §5.2.6): type le32, reserved le32, sector le64.
  const header = new Uint8Array(16);
  putLe(header, 0, write ? BLK_T_OUT : BLK_T_IN, 4);
  putLe(header, 8, sector, 8);
  yield store(g, hdr, header);
  const chain = new Uint8Array(3 * DESC_BYTES);
  putDesc(chain, 0, hdr, 16, VIRTQ_DESC_F_NEXT, 1);
  putDesc(chain, DESC_BYTES, data, 512, VIRTQ_DESC_F_NEXT | (write ? 0 : VIRTQ_DESC_F_WRITE), 2);
  putDesc(chain, 2 * DESC_BYTES, status, 1, VIRTQ_DESC_F_WRITE, 0);
  yield store(g, l.desc, chain);
  yield store(g, l.avail + 4 + 2 * (availIdx % QUEUE_SIZE), new Uint8Array(2));
  yield store(g, l.avail + 2, le16((availIdx + 1) & 0xffff));
  yield* mmioWrite(g, d.base + REG.QueueNotify, 0);
  if (deviceWaitNs > 0) yield sleep(deviceWaitNs);
  yield* takeIrq(g, function* () {
    const isr = yield* mmioRead(g, d.base + REG.InterruptStatus);
    yield* mmioWrite(g, d.base + REG.InterruptACK, isr.value as number);
  });
}

/** The guest prints a line on the console's transmit queue (queue 1); `availIdx` counts earlier prints. */
export function* consoleWrite(g: GuestCtx, d: DevicePlan, text: string, availIdx = 0): Steps {
  const l = queueLayout(g.plan, d.index, 1);
  const slot = availIdx % QUEUE_SIZE;
  const buffer = l.buffers + slot * 0x100;
  yield store(g, buffer, new TextEncoder().encode(text));
  const entry = new Uint8Array(DESC_BYTES);
  putDesc(entry, 0, buffer, text.length, 0, 0);
  yield store(g, l.desc + 16 * slot, entry);
  yield store(g, l.avail + 4 + 2 * slot, le16(slot));
  yield store(g, l.avail + 2, le16((availIdx + 1) & 0xffff));
  yield* mmioWrite(g, d.base + REG.QueueNotify, 1);
  yield* takeIrq(g, function* () {
    yield* mmioWrite(g, d.base + REG.InterruptACK, 1);
  });
}

/** How a guest goes down: PSCI SYSTEM_OFF/RESET, a panic (VM_EXIT SOFTWARE_ERROR), a vCPU fault, or a watchdog bite. */
export type DownHow = HaltCause | "PANIC";

/**
 * The guest goes down. PSCI SYSTEM_OFF / SYSTEM_RESET are the vCPU's own SMC (`smccc_call`, HYP's
 * PSCI: every vCPU powered off); the host's next VCPU_RUN sees POWERED_OFF / PSCI_SYSTEM_RESET and
 * the RM's vCPU-halt handler sends NOTIFY_VM_EXITED then (src/model/vmm/ioctl.ts). A panic is the
 * kernel's VM_EXIT. `rm_vm_halt` stays for the causes no guest instruction makes: the watchdog
 * bite (hardware) and an unrecoverable vCPU fault (⚠ its fault path is not modelled as a trap).
 */
export function* goDown(g: GuestCtx, how: DownHow, rpcSeq = 1): Steps {
  if (how === "PANIC") {
    yield { kind: "rm_request", vm: g.vmid, msgId: rmMessageId("VM_EXIT"), rpcSeq, payload: encodeVmExit({ exitFlags: 0, exitCode: 1, res0: 0 }) };
    return;
  }
  if (how === "PSCI_SYSTEM_OFF" || how === "PSCI_SYSTEM_RESET") {
    // conduit: crosvm's guest DT has PSCI method "hvc" (⚠ the arm64 default it generates).
    yield { kind: "smccc_call", vm: g.vmid, vcpu: g.vcpu, conduit: "hvc", args: [BigInt(how === "PSCI_SYSTEM_OFF" ? PSCI.SYSTEM_OFF : PSCI.SYSTEM_RESET)] };
    return;
  }
  yield { kind: "rm_vm_halt", vm: g.vmid, vcpu: g.vcpu, cause: how };
}

/** MEM_ACCEPT of a parcel the host gave, at IPAs the RM chooses; returns the IPA, or null if refused. */
export function* acceptParcel(g: GuestCtx, handle: number, trans: "LEND" | "SHARE", rpcSeq: number): Program<number | null> {
  const payload = encodeMemAccept({ handle, memType: 0, transType: TRANS_TYPE[trans], flags: MEM_ACCEPT_FLAG.DONE, label: 0, acl: [], sgl: [], mapVmid: 0, attrs: [] });
  const o = yield { kind: "rm_request", vm: g.vmid, msgId: rmMessageId("MEM_ACCEPT"), rpcSeq, payload };
  if (o.err !== "OK") return null;
  return decodeAcceptSgl(o.data as Uint8Array)[0]?.ipa ?? null;
}

export function releaseParcelStep(g: GuestCtx, handle: number, rpcSeq: number): Step {
  return { kind: "rm_request", vm: g.vmid, msgId: rmMessageId("MEM_RELEASE"), rpcSeq, payload: encodeMemHandle({ handle, flags: 0 }) };
}

/** The guest writes a small pattern into memory it owns or borrowed (the page now holds its data). */
export function touchStep(g: GuestCtx, ipa: number, size: number): Step {
  return store(g, ipa, randomBytes(g, size));
}
