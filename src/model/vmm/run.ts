/**
 * A running guest as the VMM sees it: crosvm's bus handling the MMIO exits the driver hands it
 * (virtio-mmio devices), the device worker behind an ioeventfd, irqfds ringing the guest's doorbell
 * (whose VIRQ the vGIC asserts), and the guest's stores into its RAM that devices read (reference
 * §7.2, §7.4, §7.5, §8 steps 6, 7, 10). The guest's access itself is HYP's `stage2_fault` (VMMIO
 * forwarding), and the vCPU resumes with the next VCPU_RUN.
 */
import { invalidEvent } from "../../core/errors.ts";
import { VMID } from "../abi/rm.ts";
import type { Machine } from "../machine.ts";
import { objectAs } from "../object/objects.ts";
import { isPending } from "../vgic/virq.ts";
import { reachablePieces, readPhysInto, s2RangeAt, writePhys } from "../rm/content.ts";
import type { S2Range } from "../memory/state.ts";
import { callAs, driverThread, HVC } from "../rm/transport.ts";
import { mmioRead, mmioWrite, newDevice, type Dma } from "../virtio/device.ts";
import { MMIO_SIZE, regName } from "../virtio/regs.ts";
import type { VmmAddDeviceEvent, VmMemWriteEvent, VmmMmioEvent } from "./events.ts";
import { hostAddr } from "./ioctl.ts";
import type { VmmVm } from "./state.ts";
import { irqfdTarget } from "../protected/virq.ts";

/**
 * The device's DMA: through crosvm's own mapping of the guest region, i.e. the HLOS's stage-2
 * (shared pages only). A class rather than closures: one is made per MMIO write.
 */
class HostDma implements Dma {
  /**
   * The host stage-2 range the last access went through. DMA changes page contents only, never the
   * stage-2, so while this port lives (one register write) an access inside it needs no walk: rings,
   * descriptors and buffers mostly share one range.
   */
  private last: S2Range | undefined = undefined;

  constructor(private readonly s: Machine, private readonly vm: VmmVm) {}

  /**
   * The PA behind guest range [gpa, gpa+len) when it lies wholly inside one host stage-2 range the
   * host reaches with `rights` (the common case: no pieces array); NONE where unreachable; SPLIT when
   * it spans ranges (`reachablePieces` decides those).
   */
  private paOf(gpa: number, len: number, rights: number): number {
    const host = hostAddr(this.vm, gpa, len);
    if (host === null) return NONE;
    const r = len === 0 ? undefined : this.rangeAt(host);
    if (r === undefined || host + len > r.ipa + r.size) return SPLIT;
    return (r.access & rights) === rights ? r.pa + (host - r.ipa) : NONE;
  }

  /** The pieces of a range that `paOf` found SPLIT (or empty), as `reachablePieces` gives them. */
  private splitPieces(gpa: number, len: number, rights: number): { pa: number; size: number }[] | null {
    return reachablePieces(this.s, VMID.HLOS, hostAddr(this.vm, gpa, len)!, len, rights);
  }

  private rangeAt(host: number): S2Range | undefined {
    const r = this.last;
    if (r !== undefined && host >= r.ipa && host < r.ipa + r.size) return r;
    return (this.last = s2RangeAt(this.s, VMID.HLOS, host));
  }

  read(gpa: number, len: number): Uint8Array | null {
    const out = new Uint8Array(len);
    return this.copyOut(gpa, out, len) ? out : null;
  }

  /** For the few bytes of ring fields and descriptors: the clearing loop is short. */
  readInto(gpa: number, out: Uint8Array, len: number): boolean {
    // Unwritten pages read as zero and `readPhysInto` skips them: clear what a previous use left.
    for (let i = 0; i < len; i++) out[i] = 0;
    return this.copyOut(gpa, out, len);
  }

  /** Reads guest range [gpa, gpa+len) into `out`, which is zero there. */
  private copyOut(gpa: number, out: Uint8Array, len: number): boolean {
    const pa = this.paOf(gpa, len, 4);
    if (pa === NONE) return false;
    if (pa !== SPLIT) {
      readPhysInto(this.s, pa, out, 0, len);
      return true;
    }
    const p = this.splitPieces(gpa, len, 4);
    if (p === null) return false;
    let off = 0;
    for (const x of p) {
      readPhysInto(this.s, x.pa, out, off, x.size);
      off += x.size;
    }
    return true;
  }

  write(gpa: number, data: Uint8Array, len: number): boolean {
    const pa = this.paOf(gpa, len, 2);
    if (pa === NONE) return false;
    if (pa !== SPLIT) {
      writePhys(this.s, pa, data, HOST_LABEL, len);
      return true;
    }
    const p = this.splitPieces(gpa, len, 2);
    if (p === null) return false;
    writePieces(this.s, p, len === data.length ? data : data.subarray(0, len), HOST_LABEL);
    return true;
  }
}

/** `HostDma.paOf` results that are not a PA (PAs are non-negative). */
const NONE = -1;
const SPLIT = -2;

/** Writes `data` across the physical pieces of its range, in order (one piece, the common case, takes `data` whole). */
function writePieces(s: Machine, pieces: readonly { pa: number; size: number }[], data: Uint8Array, label: string): void {
  if (pieces.length === 1) return writePhys(s, pieces[0]!.pa, data, label);
  let off = 0;
  for (const p of pieces) {
    writePhys(s, p.pa, data.subarray(off, off + p.size), label);
    off += p.size;
  }
}

/** Whose data the device's DMA writes leave: the host's (crosvm writes through its own mapping). */
const HOST_LABEL = `vm${VMID.HLOS}`;

export function onVmmAddDevice(s: Machine, ev: VmmAddDeviceEvent) {
  const vm = s.vmm.vms.byId[ev.fd];
  if (vm === undefined) invalidEvent(ev.seq, ev.kind, `fd ${ev.fd} is not a VM fd`);
  const clash = vm.devices.some((id) => Math.abs(s.virtio.devices.byId[id]!.base - ev.base) < MMIO_SIZE);
  if (clash || ev.base % 0x1000 !== 0) invalidEvent(ev.seq, ev.kind, `bad or overlapping device base 0x${ev.base.toString(16)}`);
  const id = s.vmm.nextDevice++;
  s.virtio.devices.ids.push(id);
  s.virtio.devices.byId[id] = newDevice(id, vm.fd, vm.vmid, ev.base, ev.deviceId, ev.irq, ev.capacitySectors);
  vm.devices.push(id);
  return { device: id };
}

function runningGuest(s: Machine, ev: { vm: number; seq: number; kind: string }) {
  const rmVm = s.rm.vms.byId[ev.vm];
  if (rmVm === undefined || rmVm.status !== "RUNNING") invalidEvent(ev.seq, ev.kind, `VM ${ev.vm} is not RUNNING`);
  return rmVm;
}

/**
 * The irqfd with the device's label fires: the driver sends the doorbell (BELL_TX cap) as the HLOS,
 * the doorbell asserts its VIRQ in the guest's VIC (reference §7.2 IRQFD, §6.5).
 */
function irqfd(s: Machine, vm: VmmVm, label: number): { vm: number; spi: number; pending: boolean } | null {
  if (!hasIrqfd(vm, label)) return null;
  const rm = s.rm.hv!;
  const hv = rm.vms[vm.vmid];
  const bell = hv === undefined ? undefined : bellOf(hv.bells, label);
  if (hv === undefined || bell === undefined) return null;
  const host = rm.vms[VMID.HLOS]!;
  // protected VMs (issue #6, src/model/protected/virq.ts): the oracle records the target; the virq-wrong-vm defect misroutes it.
  const target = irqfdTarget(s, label, vm.vmid, bell.virq);
  if (target !== vm.vmid) return { vm: target, spi: bell.virq, pending: true };
  callAs(s, VMID.HLOS, driverThread(s, host), host.cspace, HVC.doorbell_send, [bell.hostCap, 1]);
  const vic = objectAs(s, hv.vic, "vic")!;
  const i = vic.spis[bell.virq];
  return { vm: vm.vmid, spi: bell.virq, pending: i !== undefined && isPending(i) };
}

// Plain loops: these run on every MMIO access, where map/find closures showed in profiles.
function hasIrqfd(vm: VmmVm, label: number): boolean {
  for (const f of vm.irqfds) if (f.label === label) return true;
  return false;
}

function bellOf<B extends { label: number }>(bells: readonly B[], label: number): B | undefined {
  for (const b of bells) if (b.label === label) return b;
  return undefined;
}

function ioeventIndex(vm: VmmVm, vcpu: number): number {
  for (let i = 0; i < vm.ioevents.length; i++) if (vm.ioevents[i]!.vcpu === vcpu) return i;
  return -1;
}

function vmmVmOf(s: Machine, vmid: number) {
  for (const fd of s.vmm.vms.ids) {
    const v = s.vmm.vms.byId[fd]!;
    if (v.vmid === vmid) return v;
  }
  return undefined;
}

function deviceAt(s: Machine, ids: readonly number[], ipa: number) {
  for (const id of ids) {
    const d = s.virtio.devices.byId[id]!;
    if (ipa >= d.base && ipa < d.base + MMIO_SIZE) return d;
  }
  return undefined;
}

export function onVmmMmio(s: Machine, ev: VmmMmioEvent) {
  runningGuest(s, ev);
  const vm = vmmVmOf(s, ev.vm);
  if (vm === undefined) invalidEvent(ev.seq, ev.kind, `VM ${ev.vm} has no VMM`);
  const held = vm.mmio[ev.vcpu];
  const fromKernel = held === undefined || held.handled;
  const ioIndex = ioeventIndex(vm, ev.vcpu);
  const x = !fromKernel ? held : ioIndex >= 0 ? vm.ioevents[ioIndex]! : undefined;
  if (x === undefined) invalidEvent(ev.seq, ev.kind, `vm${ev.vm}/vcpu${ev.vcpu} has no MMIO exit or ioeventfd write for crosvm`);
  if (fromKernel) vm.ioevents.splice(ioIndex, 1);
  x.handled = true;
  const exit = fromKernel ? "IOEVENTFD" : "MMIO";
  const dev = deviceAt(s, vm.devices, x.ipa);
  // No device there: crosvm's bus ignores writes and reads back zero (the GH_ ABI has no resume_action).
  if (dev === undefined) return { exit, ipa: x.ipa, write: x.write, device: 0, reg: "", value: 0, irq: null, note: "no device" };
  const off = x.ipa - dev.base;
  if (!x.write) {
    const v = mmioRead(dev, off);
    x.value = BigInt(v >>> 0);
    return { exit, ipa: x.ipa, write: x.write, device: dev.id, reg: regName(off), value: v, irq: null, note: "" };
  }
  // virtio-mmio registers are 32 bits wide: the device takes the low word of the bus data.
  const r = mmioWrite(dev, off, Number(x.value & 0xffff_ffffn), new HostDma(s, vm));
  const irq = r.irq ? irqfd(s, vm, dev.irq) : null;
  const note = r.irq && irq === null ? `${r.note} (no irqfd)` : r.note;
  return { exit, ipa: x.ipa, write: x.write, device: dev.id, reg: regName(off), value: x.value, irq: irq === null ? null : { vm: irq.vm, spi: irq.spi }, pending: irq?.pending ?? false, note };
}

export function onVmMemWrite(s: Machine, ev: VmMemWriteEvent) {
  runningGuest(s, ev);
  if (ev.data.length === 0 || ev.data.length > 0x10000) invalidEvent(ev.seq, ev.kind, "a store is 1..65536 bytes");
  // The common store lies in one stage-2 range the guest may write: no pieces array to build.
  const r = s2RangeAt(s, ev.vm, ev.ipa);
  if (r !== undefined && ev.ipa + ev.data.length <= r.ipa + r.size && (r.access & 2) === 2) {
    const pa = r.pa + (ev.ipa - r.ipa);
    writePhys(s, pa, ev.data, `vm${ev.vm}`);
    return { pa };
  }
  const pieces = reachablePieces(s, ev.vm, ev.ipa, ev.data.length, 2);
  if (pieces === null) invalidEvent(ev.seq, ev.kind, `VM ${ev.vm} cannot write IPA 0x${ev.ipa.toString(16)}: the store would fault`);
  writePieces(s, pieces, ev.data, `vm${ev.vm}`);
  return { pa: pieces[0]!.pa };
}
