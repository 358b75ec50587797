import type { Outcome } from "../../core/event.ts";
import type { Machine } from "../machine.ts";
import type { S2Range } from "../memory/state.ts";
import type { ThreadObject } from "../vcpu/state.ts";
import { assertShared } from "../vgic/virq.ts";
import { advancePc } from "../vcpu/context.ts";
import { VIRTIO_MMIO as V, type VirtioMmioObject } from "./state.ts";

/**
 * The frontend side: the config page is mapped read-only into the frontend VM, so its reads are
 * plain memory and its writes permission-fault; HYP finds the extent's vdevice by PA and emulates
 * the write (reference §5.4 "Permission fault"; GH:hyp/vm/virtio_mmio/src/vdevice.c). Only word
 * writes, or byte writes in the device config space (0x100..0xFFF), size-aligned, are accepted; a
 * rejected write is a FAULT (the caller injects the abort). Device-config bytes are accepted
 * without modelling the page contents (virtio-input's select/subsel handling is not modelled).
 */

/** The ACTIVE virtio object whose config page holds physical address `pa` (only on a write fault). */
function deviceAt(s: Machine, pa: number): { v: VirtioMmioObject; off: number } | null {
  for (const id of s.objects.ids) {
    const o = s.objects.byId[id]!;
    if (o.type !== "virtio_mmio" || o.state !== "ACTIVE") continue;
    const me = s.objects.byId[o.me];
    if (me !== undefined && me.type === "memextent" && pa >= me.base && pa < me.base + V.PAGE_SIZE) return { v: o, off: pa - me.base };
  }
  return null;
}

const allowed = (size: number, off: number): boolean =>
  off % size === 0 && (size === 4 || (size === 1 && off >= V.CONFIG_OFFSET && off < V.PAGE_SIZE));

/** Sets reason bits and raises the backend VM's VIRQ (the "frontend" binding). */
function notifyBackend(s: Machine, v: VirtioMmioObject, reason: number): void {
  v.reason |= reason;
  if (v.frontendVirq !== null) assertShared(s, v.frontendVirq, false);
}

const setLow = (x: bigint, val: number): bigint => (x & 0xffff_ffff_0000_0000n) | BigInt(val);
const setHigh = (x: bigint, val: number): bigint => (x & 0xffff_ffffn) | (BigInt(val) << 32n);

/** One register write; false = rejected (FAULT). Offsets from GH:hyp/vm/virtio_mmio/virtio_mmio.tc. */
function write(s: Machine, v: VirtioMmioObject, off: number, val: number): boolean {
  const q = v.queues[v.queueSel];
  switch (off) {
    case 0x014: // DeviceFeaturesSel
      if (val >= V.FEAT_NUM) return false;
      v.devFeatView = v.devFeat[val]!;
      return true;
    case 0x020: // DriverFeatures
      v.drvFeat[v.drvFeatSel] = val;
      return true;
    case 0x024: // DriverFeaturesSel
      if (val >= V.FEAT_NUM) return false;
      v.drvFeatSel = val;
      return true;
    case 0x030: // QueueSel
      if (val >= v.vqsNum) return false;
      v.queueSel = val;
      v.queueNumMaxView = v.queues[val]!.numMax;
      v.queueReadyView = v.queues[val]!.ready;
      return true;
    case 0x050: // QueueNotify: bit `val` of the vq bitmap (util_bit: a shift of 64 or more sets nothing ⚠)
      if (val < 64) v.vqBitmap |= 1n << BigInt(val);
      notifyBackend(s, v, V.REASON_NEW_BUFFER);
      return true;
    case 0x064: // InterruptACK
      v.interruptStatus = (v.interruptStatus & ~val) >>> 0;
      return true;
    case 0x070:
      return writeStatus(s, v, val);
    default:
      break;
  }
  if (off >= V.CONFIG_OFFSET) return true; // device config space
  if (q === undefined) return false; // no queue banked (vqs_num = 0)
  switch (off) {
    case 0x038:
      q.num = val;
      return true;
    case 0x044:
      q.ready = val;
      v.queueReadyView = val;
      return true;
    case 0x080:
      q.desc = setLow(q.desc, val);
      return true;
    case 0x084:
      q.desc = setHigh(q.desc, val);
      return true;
    case 0x090:
      q.driver = setLow(q.driver, val);
      return true;
    case 0x094:
      q.driver = setHigh(q.driver, val);
      return true;
    case 0x0a0:
      q.device = setLow(q.device, val);
      return true;
    case 0x0a4:
      q.device = setHigh(q.device, val);
      return true;
    default:
      return false; // read-only or unknown register
  }
}

/**
 * Status: a non-zero value is stored; DRIVER_OK or FAILED newly set notify the backend. Zero while
 * Status is already 0 does nothing; otherwise it requests a reset: DEVICE_NEEDS_RESET is set,
 * RESET_RQST notified, and every QueueReady cleared.
 */
function writeStatus(s: Machine, v: VirtioMmioObject, val: number): boolean {
  if (val !== 0) {
    const old = v.status;
    v.status = val;
    if ((old & V.STATUS_DRIVER_OK) === 0 && (val & V.STATUS_DRIVER_OK) !== 0) notifyBackend(s, v, V.REASON_DRIVER_OK);
    else if ((old & V.STATUS_FAILED) === 0 && (val & V.STATUS_FAILED) !== 0) notifyBackend(s, v, V.REASON_FAILED);
    return true;
  }
  if (v.status === 0) return true;
  v.status = (v.status | V.STATUS_DEVICE_NEEDS_RESET) >>> 0;
  for (const q of v.queues) q.ready = 0;
  v.queueReadyView = 0;
  notifyBackend(s, v, V.REASON_RESET_RQST);
  return true;
}

/**
 * A write permission fault on a mapped page: emulated if the page is an active virtio config page.
 * Returns null when no virtio device claims the page or the write is rejected (the abort follows).
 */
export function virtioWriteFault(s: Machine, t: ThreadObject, r: S2Range, ipa: number, sizeBytes: number, value: bigint | undefined): Outcome | null {
  const hit = deviceAt(s, r.pa + (ipa - r.ipa));
  if (hit === null || !allowed(sizeBytes, hit.off)) return null;
  const val = Number(BigInt.asUintN(Math.min(32, sizeBytes * 8), value ?? 0n));
  if (!write(s, hit.v, hit.off, val)) return null;
  advancePc(t);
  return { resolution: "emulated", device: "virtio_mmio", offset: hit.off };
}

/** virq_check_pending (reference §7.3): frontend VM's IRQ while InterruptStatus ≠ 0; backend's while reason ≠ 0. */
export function virtioSourcePending(v: VirtioMmioObject, kind: string): boolean {
  return kind === "virtio_mmio_backend" ? v.interruptStatus !== 0 : v.reason !== 0;
}
