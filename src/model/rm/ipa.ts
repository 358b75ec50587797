/**
 * The RM's IPA allocator for a VM (vm_address_range_*, RM:platform/qemu/src/vm_memory.c:406-518;
 * address_range_allocator.c:196-241; range_list.c first fit): a 36-bit space
 * (SVM_ADDRESS_SPACE_BITS) with the device range [0, 1 GiB) reserved at VM_INIT. A fixed request
 * takes exactly its range or fails; a free choice takes the lowest free range, 2 MiB aligned when
 * it is at least 2 MiB. The HLOS maps normal memory directly (IPA = PA): it has no allocation.
 */
import type { RmVm } from "./state.ts";
import { PAGE } from "./content.ts";

export const IPA_SPACE_BYTES = 2 ** 36;
/** PLATFORM_DEVICES_BASE/SIZE on QEMU (GH:hyp/platform/soc_qemu/build.conf:19). */
export const DEVICE_RANGE = { base: 0, size: 0x4000_0000 } as const;
const SIZE_2M = 0x20_0000;

/** VM_INIT: the device range and the info-area page are taken. */
export function ipaInit(vm: RmVm, infoIpa: number | null): void {
  vm.ipaUsed = [{ base: DEVICE_RANGE.base, size: DEVICE_RANGE.size }];
  if (infoIpa !== null) ipaTake(vm, infoIpa, PAGE);
}

const overlaps = (a: { base: number; size: number }, base: number, size: number): boolean => a.base < base + size && base < a.base + a.size;

/** Takes [base, base+size) if free and inside the space; false otherwise. */
export function ipaTake(vm: RmVm, base: number, size: number): boolean {
  if (base < 0 || size <= 0 || base % PAGE !== 0 || size % PAGE !== 0 || base + size > IPA_SPACE_BYTES) return false;
  let i = 0;
  while (i < vm.ipaUsed.length && vm.ipaUsed[i]!.base < base) i++;
  if ((i > 0 && overlaps(vm.ipaUsed[i - 1]!, base, size)) || (i < vm.ipaUsed.length && overlaps(vm.ipaUsed[i]!, base, size))) return false;
  vm.ipaUsed.splice(i, 0, { base, size });
  return true;
}

/** The lowest free range of `size` (alloc_as_range's alignment, memparcel.c:1136-1147), taken; null if none. */
export function ipaAllocAny(vm: RmVm, size: number): number | null {
  const align = size >= SIZE_2M ? SIZE_2M : PAGE;
  let at = 0;
  for (const r of vm.ipaUsed) {
    const start = Math.ceil(at / align) * align;
    if (start + size <= r.base) return ipaTake(vm, start, size) ? start : null;
    at = Math.max(at, r.base + r.size);
  }
  const start = Math.ceil(at / align) * align;
  return start + size <= IPA_SPACE_BYTES && ipaTake(vm, start, size) ? start : null;
}

/** Frees a range taken earlier (exact match; a mismatch is ignored). */
export function ipaFree(vm: RmVm, base: number, size: number): void {
  const i = vm.ipaUsed.findIndex((r) => r.base === base && r.size === size);
  if (i >= 0) vm.ipaUsed.splice(i, 1);
}
