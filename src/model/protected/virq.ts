/**
 * Device interrupts through irqfds: the VMM raises a virtio device's interrupt in the VM the device
 * serves (reference gunyah-rm-and-host.md §7.5). The room records the last one so the isolation
 * invariant `isolation.virq_to_owner` can check the target; the `virq-wrong-vm` defect sends it to
 * the host instead.
 */
import { VMID } from "../abi/rm.ts";
import { defectOn } from "../faults.ts";
import type { PvmState } from "./state.ts";

/** The VM an irqfd of device `device` (serving `deviceVm`) raises its interrupt in; recorded. */
export function irqfdTarget(s: object, device: number, deviceVm: number, spi: number): number {
  const vm = defectOn(s, "virq-wrong-vm") ? VMID.HLOS : deviceVm;
  const pvm = (s as { pvm?: PvmState }).pvm;
  if (pvm !== undefined) pvm.lastIrqfd = { device, deviceVm, vm, spi };
  return vm;
}
