/**
 * A running guest as the VMM sees it: MMIO exits handled by crosvm's bus (virtio-mmio devices),
 * in-kernel ioeventfds, irqfds raising the guest's doorbell IRQ, and the guest's stores into its
 * RAM that devices read (reference §7.2, §7.4, §7.5, §8 steps 6, 7, 10).
 */
import { invalidEvent } from "../../core/errors.ts";
import { VMID } from "../abi/rm.ts";
import type { VmRoomsState } from "../rm/context.ts";
import { readPhys, reaches, translate, writePhys } from "../rm/vmmem.ts";
import { mmioRead, mmioWrite, newDevice, type Dma } from "../virtio/device.ts";
import { MMIO_SIZE, regName } from "../virtio/regs.ts";
import type { VmmAddDeviceEvent, VmMemWriteEvent, VmMmioEvent } from "./events.ts";
import { hostAddr } from "./ioctl.ts";
import type { VmmVm } from "./state.ts";

/** The device's DMA: through crosvm's own mapping of the guest region, so only host-reachable (shared) pages. */
function dmaFor(s: VmRoomsState, vm: VmmVm): Dma {
  const phys = (gpa: number, len: number, rights: number): number | null => {
    const host = hostAddr(vm, gpa, len);
    if (host === null || !reaches(s, VMID.HLOS, host, len, rights)) return null;
    return translate(s, VMID.HLOS, host)!.pa;
  };
  return {
    read: (gpa, len) => {
      const pa = phys(gpa, len, 4);
      return pa === null ? null : readPhys(s, pa, len);
    },
    write: (gpa, data) => {
      const pa = phys(gpa, data.length, 2);
      if (pa === null) return false;
      writePhys(s, pa, data, `vm${VMID.HLOS}`);
      return true;
    },
  };
}

export function onVmmAddDevice(s: VmRoomsState, ev: VmmAddDeviceEvent) {
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

function runningGuest(s: VmRoomsState, ev: { vm: number; seq: number; kind: string }) {
  const rmVm = s.rm.vms.byId[ev.vm];
  if (rmVm === undefined || rmVm.status !== "RUNNING") invalidEvent(ev.seq, ev.kind, `VM ${ev.vm} is not RUNNING`);
  return rmVm;
}

export function onVmMmio(s: VmRoomsState, ev: VmMmioEvent) {
  const rmVm = runningGuest(s, ev);
  if (rmVm.vcpus.byId[ev.vcpu]?.power !== "on") invalidEvent(ev.seq, ev.kind, `vCPU ${ev.vcpu} of VM ${ev.vm} is not running`);
  if (translate(s, ev.vm, ev.ipa) !== null) invalidEvent(ev.seq, ev.kind, `IPA 0x${ev.ipa.toString(16)} is mapped: no stage-2 fault`);
  const vm = s.vmm.vms.ids.map((fd) => s.vmm.vms.byId[fd]!).find((v) => v.vmid === ev.vm);
  if (vm === undefined) invalidEvent(ev.seq, ev.kind, `VM ${ev.vm} has no VMM`);
  const dev = vm.devices.map((id) => s.virtio.devices.byId[id]!).find((d) => ev.ipa >= d.base && ev.ipa < d.base + MMIO_SIZE);
  const kernel = ev.write && vm.ioeventfds.some((f) => f.addr === ev.ipa && (f.len === 0 || f.len === ev.sizeBytes));
  const base = { exit: kernel ? "IOEVENTFD" : "MMIO", path: ev.write ? "VMMIO_WRITE" : "VMMIO_READ" };
  // No device there: crosvm's bus ignores writes and reads back zero (the GH_ ABI has no resume_action).
  if (dev === undefined) return { ...base, device: 0, reg: "", value: 0, irq: null, note: "no device" };
  const off = ev.ipa - dev.base;
  if (!ev.write) return { ...base, device: dev.id, reg: regName(off), value: mmioRead(dev, off), irq: null, note: "" };
  const r = mmioWrite(dev, off, ev.value >>> 0, dmaFor(s, vm));
  const fd = vm.irqfds.find((f) => f.label === dev.irq);
  const irq = r.irq && fd !== undefined ? { vm: ev.vm, spi: dev.irq } : null;
  return { ...base, device: dev.id, reg: regName(off), value: ev.value, irq, note: r.irq && fd === undefined ? `${r.note} (no irqfd)` : r.note };
}

export function onVmMemWrite(s: VmRoomsState, ev: VmMemWriteEvent) {
  runningGuest(s, ev);
  if (ev.data.length === 0 || ev.data.length > 0x10000) invalidEvent(ev.seq, ev.kind, "a store is 1..65536 bytes");
  if (!reaches(s, ev.vm, ev.ipa, ev.data.length, 2)) invalidEvent(ev.seq, ev.kind, `VM ${ev.vm} cannot write IPA 0x${ev.ipa.toString(16)}: the store would fault`);
  const pa = translate(s, ev.vm, ev.ipa)!.pa;
  // A store may straddle ranges; write page by page through the guest's own translation.
  for (let i = 0; i < ev.data.length; ) {
    const here = translate(s, ev.vm, ev.ipa + i)!;
    const n = Math.min(ev.data.length - i, 0x1000 - ((ev.ipa + i) % 0x1000));
    writePhys(s, here.pa, ev.data.subarray(i, i + n), `vm${ev.vm}`);
    i += n;
  }
  return { pa };
}
