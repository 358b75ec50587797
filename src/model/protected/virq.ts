/**
 * Device interrupts through irqfds: the VMM raises a virtio device's interrupt in the VM the device
 * serves, by ringing that VM's doorbell (reference gunyah-rm-and-host.md §7.2 IRQFD, §6.5). The
 * room records each one so `isolation.virq_to_owner` can check the target. The `virq-wrong-vm`
 * defect misroutes it: the VIRQ is asserted in the host's VIC instead (the real bug class: a
 * doorbell or irqfd bound to the wrong VM's interrupt controller).
 */
import { VMID } from "../abi/rm.ts";
import type { Machine } from "../machine.ts";
import { objectAs } from "../object/objects.ts";
import { defectOn } from "../faults.ts";
import { assertIrq } from "../vgic/virq.ts";

/**
 * Where the irqfd of device VM `deviceVm` delivers SPI `spi`: that VM, unless the defect is on, in
 * which case the VIRQ is asserted in the host's VIC here and the host's VMID returned (the caller
 * then does not ring the guest's doorbell).
 */
export function irqfdTarget(s: Machine, label: number, deviceVm: number, spi: number): number {
  let vm = deviceVm;
  if (defectOn(s, "virq-wrong-vm")) {
    vm = VMID.HLOS;
    const host = s.rm.hv?.vms[VMID.HLOS];
    const vic = host === undefined ? undefined : objectAs(s, host.vic, "vic");
    if (vic !== undefined) assertIrq(s, vic, undefined, spi, true);
  }
  s.pvm.lastIrqfd = { device: label, deviceVm, vm, spi };
  return vm;
}
