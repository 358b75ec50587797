/**
 * virtio-mmio register offsets, status bits and device IDs (VIRTIO 1.x §4.2.2, Linux
 * include/uapi/linux/virtio_mmio.h; reference avf-protected-vm.md §7).
 */
export const REG = {
  MagicValue: 0x000,
  Version: 0x004,
  DeviceID: 0x008,
  VendorID: 0x00c,
  DeviceFeatures: 0x010,
  DeviceFeaturesSel: 0x014,
  DriverFeatures: 0x020,
  DriverFeaturesSel: 0x024,
  QueueSel: 0x030,
  QueueNumMax: 0x034,
  QueueNum: 0x038,
  QueueReady: 0x044,
  QueueNotify: 0x050,
  InterruptStatus: 0x060,
  InterruptACK: 0x064,
  Status: 0x070,
  QueueDescLow: 0x080,
  QueueDescHigh: 0x084,
  QueueDriverLow: 0x090,
  QueueDriverHigh: 0x094,
  QueueDeviceLow: 0x0a0,
  QueueDeviceHigh: 0x0a4,
  ConfigGeneration: 0x0fc,
  Config: 0x100,
} as const;

const regNames = new Map<number, string>(Object.entries(REG).map(([k, v]) => [v, k]));
/** `QueueNotify`, `Config+0x8`, or `0x0d8` for an offset with no register. */
export function regName(off: number): string {
  const n = regNames.get(off);
  if (n !== undefined) return n;
  if (off >= REG.Config) return `Config+0x${(off - REG.Config).toString(16)}`;
  return `0x${off.toString(16).padStart(3, "0")}`;
}

export const MAGIC = 0x74726976; // "virt"
export const VERSION_MODERN = 2;
/** The virtio PCI/MMIO vendor ID crosvm and QEMU report. */
export const VENDOR_ID = 0x1af4;
export const MMIO_SIZE = 0x200;

export const STATUS = { ACKNOWLEDGE: 1, DRIVER: 2, DRIVER_OK: 4, FEATURES_OK: 8, DEVICE_NEEDS_RESET: 0x40, FAILED: 0x80 } as const;
export const DEVICE_ID = { NET: 1, BLOCK: 2, CONSOLE: 3, RNG: 4 } as const;
/** Feature bits: VERSION_1 (32) is mandatory for a modern device; ACCESS_PLATFORM (33) for pVMs. */
export const F_VERSION_1 = 32;
export const F_ACCESS_PLATFORM = 33;
export const INT_VRING = 0x1;
export const INT_CONFIG = 0x2;

/** Split-virtqueue layout (VIRTIO 1.x §2.7). */
export const VIRTQ_DESC_BYTES = 16;
export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
/** virtio-blk request types and status (VIRTIO 1.x §5.2.6). */
export const BLK_T_IN = 0;
export const BLK_T_OUT = 1;
export const BLK_S_OK = 0;
export const BLK_S_IOERR = 1;
export const BLK_S_UNSUPP = 2;
export const SECTOR_BYTES = 512;
