/**
 * virtio-mmio device model at register level: probe, feature negotiation, queue setup, notify,
 * device work on the split virtqueue, used ring, interrupt (VIRTIO 1.x §2.7, §4.2.2, §5.2, §5.3).
 * Guest memory is reached through a `Dma` port: the VMM's own mapping of the guest's RAM, which only
 * works where the guest's memory is shared with the host; a lent page is out of the device's reach.
 */
import { writableBytes } from "../../core/bytes.ts";
import { readU16le as u16, readU32le as u32, readU64le as u64, writeLe as putLe } from "../abi/le.ts";
import * as R from "./regs.ts";
import type { VirtioDevice, VirtQueue } from "./state.ts";

/**
 * The device's view of guest memory (guest physical addresses); null/false where it cannot reach.
 * `read` returns a fresh array; `readInto` fills `out[0, len)` instead (ring fields and descriptors
 * are read into one small buffer per notify, not an array each); `write` copies `data[0, len)`
 * (`data` may be a disk sector the device owns, or that buffer).
 */
export interface Dma {
  read(gpa: number, len: number): Uint8Array | null;
  readInto(gpa: number, out: Uint8Array, len: number): boolean;
  write(gpa: number, data: Uint8Array, len: number): boolean;
}

export interface MmioResult {
  /** For a read: the value returned to the guest. */
  value: number;
  /** Interrupt raised by this access (the irqfd fired). */
  irq: boolean;
  /** What the device did, for the outcome. */
  note: string;
}

const QUEUE_NUM_MAX = 256;

export function newDevice(id: number, vmFd: number, vmid: number, base: number, deviceId: number, irq: number, capacitySectors: number): VirtioDevice {
  const queues = deviceId === R.DEVICE_ID.CONSOLE ? 2 : 1;
  return {
    id, vmFd, vmid, base, deviceId, irq,
    status: 0,
    deviceFeatures: [0, 1 << (R.F_VERSION_1 - 32)],
    driverFeatures: [0, 0], deviceFeaturesSel: 0, driverFeaturesSel: 0, queueSel: 0,
    queues: Array.from({ length: queues }, () => freshQueue()),
    interruptStatus: 0, configGeneration: 0, capacitySectors, disk: {}, console: "", completed: 0, interrupts: 0,
  };
}

const freshQueue = (): VirtQueue => ({ numMax: QUEUE_NUM_MAX, num: 0, ready: false, desc: 0, driver: 0, device: 0, lastAvail: 0, usedIdx: 0 });

/** Writing 0 to Status resets the device (VIRTIO 1.x §4.2.2.1). */
function reset(d: VirtioDevice): void {
  d.status = 0;
  d.driverFeatures = [0, 0];
  d.deviceFeaturesSel = 0;
  d.driverFeaturesSel = 0;
  d.queueSel = 0;
  d.interruptStatus = 0;
  d.queues = d.queues.map(() => freshQueue());
}

export function mmioRead(d: VirtioDevice, off: number): number {
  const q = d.queues[d.queueSel];
  switch (off) {
    case R.REG.MagicValue: return R.MAGIC;
    case R.REG.Version: return R.VERSION_MODERN;
    case R.REG.DeviceID: return d.deviceId;
    case R.REG.VendorID: return R.VENDOR_ID;
    case R.REG.DeviceFeatures: return d.deviceFeaturesSel < 2 ? d.deviceFeatures[d.deviceFeaturesSel as 0 | 1] : 0;
    case R.REG.QueueNumMax: return q?.numMax ?? 0;
    case R.REG.QueueReady: return q?.ready === true ? 1 : 0;
    case R.REG.InterruptStatus: return d.interruptStatus;
    case R.REG.Status: return d.status;
    case R.REG.ConfigGeneration: return d.configGeneration;
    case R.REG.Config: return d.deviceId === R.DEVICE_ID.BLOCK ? d.capacitySectors % 2 ** 32 : 0;
    case R.REG.Config + 4: return d.deviceId === R.DEVICE_ID.BLOCK ? Math.floor(d.capacitySectors / 2 ** 32) : 0;
    default: return 0;
  }
}

/** FEATURES_OK only sticks if the driver asked for a subset of the device's features including VERSION_1. */
function writeStatus(d: VirtioDevice, v: number): string {
  if (v === 0) {
    reset(d);
    return "reset";
  }
  let next = v & 0xff;
  if ((next & R.STATUS.FEATURES_OK) !== 0 && (d.status & R.STATUS.FEATURES_OK) === 0) {
    const subset = (d.driverFeatures[0] & ~d.deviceFeatures[0]) === 0 && (d.driverFeatures[1] & ~d.deviceFeatures[1]) === 0;
    const v1 = (d.driverFeatures[1] & (1 << (R.F_VERSION_1 - 32))) !== 0;
    if (!subset || !v1) next &= ~R.STATUS.FEATURES_OK;
  }
  d.status = next;
  return `status=0x${next.toString(16)}`;
}

const setLow = (v: number, lo: number): number => Math.floor(v / 2 ** 32) * 2 ** 32 + (lo >>> 0);
const setHigh = (v: number, hi: number): number => (hi & 0xfffff) * 2 ** 32 + (v % 2 ** 32);

// A module-level function, not a per-call closure: the tsx/esbuild build names each closure it creates (a defineProperty per call).
function done(note: string): MmioResult {
  return { value: 0, irq: false, note };
}

export function mmioWrite(d: VirtioDevice, off: number, v: number, dma: Dma): MmioResult {
  const q = d.queues[d.queueSel];
  switch (off) {
    case R.REG.DeviceFeaturesSel: d.deviceFeaturesSel = v; return done("");
    case R.REG.DriverFeaturesSel: d.driverFeaturesSel = v; return done("");
    case R.REG.DriverFeatures:
      if (d.driverFeaturesSel < 2 && (d.status & R.STATUS.FEATURES_OK) === 0) d.driverFeatures[d.driverFeaturesSel as 0 | 1] = v >>> 0;
      return done("");
    case R.REG.QueueSel: d.queueSel = v; return done("");
    case R.REG.Status: return done(writeStatus(d, v));
    case R.REG.InterruptACK: d.interruptStatus &= ~v; return done("ack");
    case R.REG.QueueNotify: return notify(d, v, dma);
  }
  if (q === undefined) return done("no such queue");
  switch (off) {
    case R.REG.QueueNum: if (v >= 1 && v <= q.numMax && (v & (v - 1)) === 0) q.num = v; return done("");
    case R.REG.QueueReady: q.ready = (v & 1) === 1; return done("");
    case R.REG.QueueDescLow: q.desc = setLow(q.desc, v); return done("");
    case R.REG.QueueDescHigh: q.desc = setHigh(q.desc, v); return done("");
    case R.REG.QueueDriverLow: q.driver = setLow(q.driver, v); return done("");
    case R.REG.QueueDriverHigh: q.driver = setHigh(q.driver, v); return done("");
    case R.REG.QueueDeviceLow: q.device = setLow(q.device, v); return done("");
    case R.REG.QueueDeviceHigh: q.device = setHigh(q.device, v); return done("");
    default: return done("ignored");
  }
}


/**
 * The scratch bytes of one notify, for ring fields, descriptors, the block header, the used element
 * and the status byte: each is read (or built) and consumed before the next use.
 */
const SCRATCH_BYTES = 16;

interface Desc { addr: number; len: number; flags: number; next: number }

/** Walks one descriptor chain; bounded by the queue size so a looping chain cannot spin. */
function readChain(q: VirtQueue, head: number, dma: Dma, b: Uint8Array): Desc[] | null {
  const out: Desc[] = [];
  let i = head;
  for (let n = 0; n < q.num; n++) {
    if (!dma.readInto(q.desc + i * R.VIRTQ_DESC_BYTES, b, R.VIRTQ_DESC_BYTES)) return null;
    const d = { addr: u64(b, 0), len: u32(b, 8), flags: u16(b, 12), next: u16(b, 14) };
    out.push(d);
    if ((d.flags & R.VIRTQ_DESC_F_NEXT) === 0) return out;
    i = d.next % q.num;
  }
  return null;
}

/** Processes every new avail entry of queue `qi`, publishes used entries, raises the interrupt. */
function notify(d: VirtioDevice, qi: number, dma: Dma): MmioResult {
  const q = d.queues[qi];
  if (q === undefined || !q.ready || q.num === 0 || (d.status & R.STATUS.DRIVER_OK) === 0) return { value: 0, irq: false, note: `notify q${qi}: not ready` };
  const b = new Uint8Array(SCRATCH_BYTES);
  if (!dma.readInto(q.driver + 2, b, 2)) return needsReset(d, qi, "avail ring out of the device's reach");
  const availIdx = u16(b, 0);
  // What each request did, "; "-separated: usually one request, so no array to join.
  let notes = "";
  let served = 0;
  for (let n = 0; q.lastAvail !== availIdx && n < q.num; n++) {
    const head = dma.readInto(q.driver + 4 + 2 * (q.lastAvail % q.num), b, 2) ? u16(b, 0) % q.num : -1;
    const chain = head < 0 ? null : readChain(q, head, dma, b);
    if (chain === null) return needsReset(d, qi, "descriptor out of the device's reach");
    const r = d.deviceId === R.DEVICE_ID.BLOCK ? blockRequest(d, chain, dma, b) : consoleRequest(d, qi, chain, dma);
    if (r === null) return needsReset(d, qi, "buffer out of the device's reach");
    // The used element {id u32, len u32} (VIRTIO 1.x §2.7.8).
    const used = q.device + 4 + 8 * (q.usedIdx % q.num);
    if (!dma.write(used, putLe(putLe(b, 0, head, 4), 4, r.written, 4), 8)) return needsReset(d, qi, "used ring out of reach");
    q.usedIdx = (q.usedIdx + 1) & 0xffff;
    q.lastAvail = (q.lastAvail + 1) & 0xffff;
    if (!dma.write(q.device + 2, putLe(b, 0, q.usedIdx, 2), 2)) return needsReset(d, qi, "used ring out of reach");
    d.completed += 1;
    notes = served === 0 ? r.note : `${notes}; ${r.note}`;
    served += 1;
  }
  if (served === 0) return { value: 0, irq: false, note: `notify q${qi}: nothing new` };
  d.interruptStatus |= R.INT_VRING;
  d.interrupts += 1;
  return { value: 0, irq: true, note: `q${qi}: ${notes}` };
}

function needsReset(d: VirtioDevice, qi: number, why: string): MmioResult {
  d.status |= R.STATUS.DEVICE_NEEDS_RESET;
  d.interruptStatus |= R.INT_CONFIG;
  d.interrupts += 1;
  return { value: 0, irq: true, note: `q${qi}: DEVICE_NEEDS_RESET (${why})` };
}

/**
 * `len` bytes of the disk from sector `at` (`sectors` whole sectors, then zeroes), for a DMA write
 * (which copies it). A one-sector buffer is the sector's own array or the shared zero sector: no
 * 512-byte allocation (an off-heap buffer in V8) on the common request.
 */
function sectorsOf(d: VirtioDevice, at: number, sectors: number, len: number): Uint8Array {
  if (len === R.SECTOR_BYTES) return d.disk[at] ?? ZERO_SECTOR;
  const data = new Uint8Array(len);
  for (let i = 0; i < sectors; i++) {
    const sec = d.disk[at + i];
    if (sec !== undefined) data.set(sec, i * R.SECTOR_BYTES);
  }
  return data;
}

/** A never-written sector reads as zeroes. Never written itself: only ever the source of a copy. */
const ZERO_SECTOR = new Uint8Array(R.SECTOR_BYTES);

/** virtio-blk: header {type u32, reserved u32, sector u64}, data buffers, a 1-byte status the device writes. */
function blockRequest(d: VirtioDevice, chain: Desc[], dma: Dma, b: Uint8Array): { written: number; note: string } | null {
  const hdr = chain[0]!;
  const status = chain[chain.length - 1]!;
  if (!dma.readInto(hdr.addr, b, 16) || chain.length < 2) return null;
  const type = u32(b, 0);
  const sector = u64(b, 8);
  let written = 0;
  let at = sector;
  let st: number = R.BLK_S_OK;
  for (let b = 1; b < chain.length - 1; b++) {
    const buf = chain[b]!;
    const sectors = Math.floor(buf.len / R.SECTOR_BYTES);
    if (at + sectors > d.capacitySectors) { st = R.BLK_S_IOERR; break; }
    if (type === R.BLK_T_IN) {
      if (!dma.write(buf.addr, sectorsOf(d, at, sectors, buf.len), buf.len)) return null;
      written += buf.len;
    } else if (type === R.BLK_T_OUT) {
      const data = dma.read(buf.addr, buf.len);
      if (data === null) return null;
      // Copied into the sector's own array (written in place on the fast path, see writableBytes).
      for (let i = 0; i < sectors; i++) writableBytes(d.disk, at + i, R.SECTOR_BYTES).set(data.subarray(i * R.SECTOR_BYTES, (i + 1) * R.SECTOR_BYTES));
    } else st = R.BLK_S_UNSUPP;
    at += sectors;
  }
  b[0] = st;
  if (!dma.write(status.addr, b, 1)) return null;
  const kind = type === R.BLK_T_IN ? "read" : type === R.BLK_T_OUT ? "write" : `type ${type}`;
  return { written: written + 1, note: `blk ${kind} sector ${sector} x${at - sector} -> ${st === 0 ? "OK" : st}` };
}

/** virtio-console transmitq (queue 1): the guest's output; receiveq buffers are just returned empty. */
function consoleRequest(d: VirtioDevice, qi: number, chain: Desc[], dma: Dma): { written: number; note: string } | null {
  if (qi !== 1) return { written: 0, note: "rx buffer" };
  let text = "";
  for (const c of chain) {
    const b = dma.read(c.addr, Math.min(c.len, 4096));
    if (b === null) return null;
    text += String.fromCharCode(...b);
  }
  d.console = (d.console + text).slice(-4096);
  return { written: 0, note: `console ${JSON.stringify(text)}` };
}
