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
import { physPieces, readPhys, reaches, writePhys } from "../rm/content.ts";
import { driverThread, hvcAs } from "../rm/transport.ts";
import { mmioRead, mmioWrite, newDevice, type Dma } from "../virtio/device.ts";
import { MMIO_SIZE, regName } from "../virtio/regs.ts";
import type { VmmAddDeviceEvent, VmMemWriteEvent, VmmMmioEvent } from "./events.ts";
import { hostAddr } from "./ioctl.ts";
import type { VmmVm } from "./state.ts";
import { irqfdTarget } from "../protected/virq.ts";

/** The device's DMA: through crosvm's own mapping of the guest region, i.e. the HLOS's stage-2 (shared pages only). */
function dmaFor(s: Machine, vm: VmmVm): Dma {
  const phys = (gpa: number, len: number, rights: number): { pa: number; size: number }[] | null => {
    const host = hostAddr(vm, gpa, len);
    if (host === null || !reaches(s, VMID.HLOS, host, len, rights)) return null;
    return physPieces(s, VMID.HLOS, host, len);
  };
  return {
    read: (gpa, len) => {
      const p = phys(gpa, len, 4);
      if (p === null) return null;
      if (p.length === 1) return readPhys(s, p[0]!.pa, len);
      const out = new Uint8Array(len);
      let off = 0;
      for (const x of p) {
        out.set(readPhys(s, x.pa, x.size), off);
        off += x.size;
      }
      return out;
    },
    write: (gpa, data) => {
      const p = phys(gpa, data.length, 2);
      if (p === null) return false;
      let off = 0;
      for (const x of p) {
        writePhys(s, x.pa, data.subarray(off, off + x.size), `vm${VMID.HLOS}`);
        off += x.size;
      }
      return true;
    },
  };
}

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
  if (!vm.irqfds.some((f) => f.label === label)) return null;
  const rm = s.rm.hv!;
  const hv = rm.vms[vm.vmid];
  const bell = hv?.bells.find((b) => b.label === label);
  if (hv === undefined || bell === undefined) return null;
  const host = rm.vms[VMID.HLOS]!;
  // protected VMs (issue #6, src/model/protected/virq.ts): the oracle records the target; the virq-wrong-vm defect misroutes it.
  const target = irqfdTarget(s, label, vm.vmid, bell.virq);
  if (target !== vm.vmid) return { vm: target, spi: bell.virq, pending: true };
  hvcAs(s, VMID.HLOS, driverThread(s, host), host.cspace, "doorbell_send", [bell.hostCap, 1]);
  const vic = objectAs(s, hv.vic, "vic")!;
  const i = vic.spis[bell.virq];
  return { vm: vm.vmid, spi: bell.virq, pending: i !== undefined && isPending(i) };
}

// Plain loops: these run on every MMIO access, where map/find closures showed in profiles.
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
  const ioIndex = vm.ioevents.findIndex((x) => x.vcpu === ev.vcpu);
  const x = !fromKernel ? held : ioIndex >= 0 ? vm.ioevents[ioIndex]! : undefined;
  if (x === undefined) invalidEvent(ev.seq, ev.kind, `vm${ev.vm}/vcpu${ev.vcpu} has no MMIO exit or ioeventfd write for crosvm`);
  if (fromKernel) vm.ioevents.splice(ioIndex, 1);
  x.handled = true;
  const base = { exit: fromKernel ? "IOEVENTFD" : "MMIO", ipa: x.ipa, write: x.write };
  const dev = deviceAt(s, vm.devices, x.ipa);
  // No device there: crosvm's bus ignores writes and reads back zero (the GH_ ABI has no resume_action).
  if (dev === undefined) return { ...base, device: 0, reg: "", value: 0, irq: null, note: "no device" };
  const off = x.ipa - dev.base;
  if (!x.write) {
    x.value = mmioRead(dev, off);
    return { ...base, device: dev.id, reg: regName(off), value: x.value, irq: null, note: "" };
  }
  const r = mmioWrite(dev, off, x.value >>> 0, dmaFor(s, vm));
  const irq = r.irq ? irqfd(s, vm, dev.irq) : null;
  return { ...base, device: dev.id, reg: regName(off), value: x.value, irq: irq === null ? null : { vm: irq.vm, spi: irq.spi }, pending: irq?.pending ?? false, note: r.irq && irq === null ? `${r.note} (no irqfd)` : r.note };
}

export function onVmMemWrite(s: Machine, ev: VmMemWriteEvent) {
  runningGuest(s, ev);
  if (ev.data.length === 0 || ev.data.length > 0x10000) invalidEvent(ev.seq, ev.kind, "a store is 1..65536 bytes");
  const pieces = physPieces(s, ev.vm, ev.ipa, ev.data.length);
  if (pieces === null || pieces.some((p) => (p.rights & 2) === 0)) invalidEvent(ev.seq, ev.kind, `VM ${ev.vm} cannot write IPA 0x${ev.ipa.toString(16)}: the store would fault`);
  let off = 0;
  for (const p of pieces) {
    writePhys(s, p.pa, ev.data.subarray(off, off + p.size), `vm${ev.vm}`);
    off += p.size;
  }
  return { pa: pieces[0]!.pa };
}
