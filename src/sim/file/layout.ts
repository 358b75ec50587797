/**
 * Places a scenario file's VMs: each VM's guest-physical layout (crosvm's: RAM at 0x8000_0000, the
 * DTB at the top of the image, the swiotlb region at the next 16 MiB boundary, virtio-mmio devices
 * from 0x0a00_0000) and the host memory behind it, packed after the host kernel's own area so that
 * no two VMs overlap, then the slots the host lends or shares from.
 */
import { DEFAULT_VM_PLAN, FIRST_DEVICE_IRQ, MMIO_BASE, MMIO_STRIDE, type DevicePlan, type DeviceType, type VmPlan } from "../lib/vm-plan.ts";
import type { HostStep, ScenarioSpec, VmSpec } from "./scenario-schema.ts";

const MiB = 0x10_0000;
const HOST_ALIGN = 2 * MiB;
/** The hypervisor and the RM keep the first 32 MiB of RAM (src/model/genesis.ts). */
const RESERVED = 32 * MiB;
export const POOL_SLOTS = 8;
export const DEFAULT_CAPACITY_SECTORS = 2048;

const alignUp = (v: number, a: number): number => Math.ceil(v / a) * a;

export interface Layout {
  readonly plans: readonly VmPlan[];
  readonly pool: { readonly base: number; readonly slotBytes: number; readonly slots: number };
  /** The first VM (index) whose memory did not fit, with the room that was left; null when all fit. */
  readonly overflow: { readonly vm: number; readonly field: "memory" | "shared"; readonly leftBytes: number } | null;
}

export function layout(spec: ScenarioSpec): Layout {
  const ram = spec.platform.ram[0]!;
  const end = ram.base + ram.size;
  let cursor = alignUp(ram.base + Math.max(RESERVED, Math.min(256 * MiB, Math.floor(ram.size / 4))), HOST_ALIGN);
  let overflow: Layout["overflow"] = null;
  const plans = spec.vms.map((vm, i) => {
    const image = cursor;
    cursor = alignUp(cursor + vm.memory, HOST_ALIGN);
    if (overflow === null && cursor > end) overflow = { vm: i, field: "memory", leftBytes: Math.max(0, end - image) };
    const shared = cursor;
    cursor = alignUp(cursor + vm.shared, HOST_ALIGN);
    if (overflow === null && cursor > end) overflow = { vm: i, field: "shared", leftBytes: Math.max(0, end - shared) };
    return plan(vm, image, shared);
  });
  const slotBytes = alignUp(maxGive(spec.host), 0x1000);
  const pool = { base: cursor, slotBytes, slots: slotBytes === 0 ? 0 : POOL_SLOTS };
  return { plans, pool, overflow };
}

function plan(vm: VmSpec, imageHost: number, sharedHost: number): VmPlan {
  const gpa = DEFAULT_VM_PLAN.image.gpa;
  const devices: DevicePlan[] = vm.devices.map((d, index) => ({
    type: d.type as DeviceType,
    index,
    base: MMIO_BASE + index * MMIO_STRIDE,
    irq: d.irq ?? FIRST_DEVICE_IRQ + index,
    capacitySectors: d.type === "virtio-blk" ? (d.capacity === undefined ? DEFAULT_CAPACITY_SECTORS : d.capacity / 512) : 0,
  }));
  return {
    name: vm.name,
    vcpus: vm.vcpus,
    image: { gpa, host: imageHost, size: vm.memory },
    dtbGpa: gpa + vm.memory - 0x1_0000,
    shared: { gpa: gpa + alignUp(vm.memory, 16 * MiB), host: sharedHost, size: vm.shared },
    devices,
    attrs: vm.attrs,
  };
}

function maxGive(list: readonly HostStep[]): number {
  let max = 0;
  for (const s of list) {
    if (s.op === "lend" || s.op === "share") max = Math.max(max, s.size);
    else if (s.op === "loop") max = Math.max(max, maxGive(s.body));
  }
  return max;
}

/** Host slots for parcels, all inside RAM? (checked with the VMs' memory). */
export const poolEnd = (l: Layout): number => l.pool.base + l.pool.slotBytes * l.pool.slots;
