/**
 * The VMM side of a protected VM (reference gunyah-rm-and-host.md §6.2 "ACK/older Linux path",
 * §8 step 4): crosvm names the firmware window with GH_VM_ANDROID_SET_FW_CONFIG, which sets the
 * VM's auth type to ANDROID_PVM; at START the driver sends VM_CONFIG_IMAGE with auth ANDROID and,
 * after it, VM_SET_FIRMWARE_MEM with the parcel holding the window and the offset within it.
 * Called from src/model/vmm/ioctl.ts (marked "protected VMs").
 */
import { AUTH_TYPE } from "../abi/rm.ts";
import type { Machine } from "../machine.ts";
import type { VmmVm } from "../vmm/state.ts";
import { encodeVmSetFirmwareMem } from "../rm/protected.ts";
import { newPvm, pvmOf } from "./state.ts";

/**
 * A VM is created with a VMID a VM before it had: the protected room's record of that earlier VM
 * (its firmware window, payload, pvmfw stage) must not carry over, or a secondary VM would start
 * as protected and a reloaded payload would be judged against the old VM's boot. Only its private
 * memory stays, so a read of the earlier VM's data after its teardown is still recognised.
 */
export function newIncarnation(s: Machine, vmid: number): void {
  const old = s.pvm.vms.byId[vmid];
  if (old === undefined) return;
  s.pvm.vms.byId[vmid] = { ...newPvm(vmid), privatePa: old.privatePa };
}

/** GH_VM_ANDROID_SET_FW_CONFIG: before START, inside a registered region, page aligned. Returns 0 or -errno. */
export function setFwConfig(s: Machine, vm: VmmVm, gpa: number, size: number): number {
  if (vm.status !== "LOAD") return -16; // EBUSY
  if (![gpa, size].every((x) => Number.isSafeInteger(x) && x >= 0 && x % 0x1000 === 0) || size === 0) return -22; // EINVAL
  if (!vm.regions.some((r) => gpa >= r.guestPhysAddr && gpa + size <= r.guestPhysAddr + r.size)) return -22;
  pvmOf(s, vm.vmid).fwConfig = { gpa, size };
  return 0;
}

/** The auth type START sends in VM_CONFIG_IMAGE. */
export function authTypeFor(s: Machine, vm: VmmVm): number {
  return s.pvm.vms.byId[vm.vmid]?.fwConfig != null ? AUTH_TYPE.ANDROID : AUTH_TYPE.NONE;
}

/** VM_SET_FIRMWARE_MEM's payload for a protected VM (after its regions became parcels), or null. */
export function firmwareMemRequest(s: Machine, vm: VmmVm): Uint8Array | null {
  const fw = s.pvm.vms.byId[vm.vmid]?.fwConfig ?? null;
  if (fw === null) return null;
  const r = vm.regions.find((x) => fw.gpa >= x.guestPhysAddr && fw.gpa + fw.size <= x.guestPhysAddr + x.size);
  if (r === undefined) return null;
  return encodeVmSetFirmwareMem({ vmid: vm.vmid, handle: r.parcel, offset: fw.gpa - r.guestPhysAddr, size: fw.size });
}
