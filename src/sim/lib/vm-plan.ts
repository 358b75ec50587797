/**
 * Where a VM's pieces go: its guest-physical layout (image, DTB, swiotlb region, virtio-mmio
 * devices) and where the host keeps the memory behind it. Built-in TS scenarios use
 * DEFAULT_VM_PLAN (crosvm's layout, reference §8.3); scenario files get one plan per VM from the
 * compiler, which places host memory so that no two VMs overlap.
 */
import { DEVICE_ID } from "../../model/virtio/regs.ts";

export type DeviceType = "virtio-blk" | "virtio-console";

export interface DevicePlan {
  readonly type: DeviceType;
  /** Position on the VM's bus: picks the device's queue area in the shared region. */
  readonly index: number;
  readonly base: number;
  readonly irq: number;
  readonly capacitySectors: number;
}

export interface MemPlan {
  readonly gpa: number;
  readonly host: number;
  readonly size: number;
}

/** More guest RAM, lent: a labelled region the VM's DT names as a memory node (the RM accepts it at VM_START). */
export interface LentPlan extends MemPlan {
  readonly label: number;
  /** The host pages behind it when they are not one run from `host` (ANDROID_LEND_USER_MEM's `backing`). */
  readonly backing?: readonly { readonly addr: number; readonly size: number }[];
}

export interface VmPlan {
  readonly name: string;
  readonly vcpus: number;
  /** Lent to the guest (it holds the kernel image and the DTB). */
  readonly image: MemPlan;
  readonly dtbGpa: number;
  /** Shared with the host: virtio rings and buffers (swiotlb). */
  readonly shared: MemPlan;
  readonly devices: readonly DevicePlan[];
  /** vm-attrs for the RM's config (no-shutdown, no-reset, crash-fatal). */
  readonly attrs: readonly string[];
  /** Further lent RAM regions (absent: none). */
  readonly lent?: readonly LentPlan[];
}

export const DEVICE_INFO: Record<DeviceType, { readonly id: number; readonly queues: number }> = {
  "virtio-blk": { id: DEVICE_ID.BLOCK, queues: 1 },
  "virtio-console": { id: DEVICE_ID.CONSOLE, queues: 2 },
};

/** Bytes of shared region each device's queues use (see queueLayout). */
export const QUEUE_AREA_BYTES = 0x1_0000;
export const MMIO_BASE = 0x0a00_0000;
export const MMIO_STRIDE = 0x1000;
export const FIRST_DEVICE_IRQ = 33;

export const DEFAULT_VM_PLAN: VmPlan = {
  name: "vm",
  vcpus: 1,
  image: { gpa: 0x8000_0000, host: 0x9000_0000, size: 0x20_0000 },
  dtbGpa: 0x801f_0000,
  shared: { gpa: 0x8100_0000, host: 0x9400_0000, size: 0x10_0000 },
  devices: [
    { type: "virtio-blk", index: 0, base: MMIO_BASE, irq: 33, capacitySectors: 2048 },
    { type: "virtio-console", index: 1, base: MMIO_BASE + MMIO_STRIDE, irq: 34, capacitySectors: 0 },
  ],
  attrs: [],
};

/** Where a device's queue lives in the shared region (desc table, avail ring, used ring, buffers). */
export function queueLayout(plan: VmPlan, device: number, queue: number) {
  const base = plan.shared.gpa + device * QUEUE_AREA_BYTES + queue * 0x4000;
  return { desc: base, avail: base + 0x100, used: base + 0x200, buffers: base + 0x1000 };
}
export const QUEUE_SIZE = 8;
