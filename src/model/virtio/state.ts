/**
 * virtio-mmio devices the host VMM backs for a guest. Plain data; disk sectors and console output
 * are the only bulk contents, kept sparse.
 */
export interface VirtQueue {
  numMax: number;
  num: number;
  ready: boolean;
  desc: number;
  driver: number;
  device: number;
  /** The device's position in the avail ring, and the used index it published. */
  lastAvail: number;
  usedIdx: number;
}

export interface VirtioDevice {
  id: number;
  /** The VMM VM (fd) and guest VMID it serves. */
  vmFd: number;
  vmid: number;
  base: number;
  deviceId: number;
  /** The guest SPI its irqfd raises. */
  irq: number;
  status: number;
  deviceFeatures: [number, number];
  driverFeatures: [number, number];
  deviceFeaturesSel: number;
  driverFeaturesSel: number;
  queueSel: number;
  queues: VirtQueue[];
  interruptStatus: number;
  configGeneration: number;
  /** Block: capacity in sectors and the sectors ever written (sector -> 512 bytes, written through `writableBytes`: each array held by its key alone). */
  capacitySectors: number;
  disk: Record<number, Uint8Array>;
  /** Console: what the guest printed (the last 4 KiB). */
  console: string;
  /** Requests completed, and interrupts raised. */
  completed: number;
  interrupts: number;
}

export interface VirtioState {
  devices: { ids: number[]; byId: Record<number, VirtioDevice> };
}

export const virtioGenesis = (): VirtioState => ({ devices: { ids: [], byId: {} } });
