import { PAGE_SIZE } from "../abi/constants.ts";
import type { HvError } from "../abi/errors.ts";
import { RIGHTS } from "../abi/rights.ts";
import type { Machine } from "../machine.ts";
import { lookup, lookupAny } from "../object/cspace.ts";
import { objectAs } from "../object/objects.ts";
import { OK, arg, arg32, fail, okWith, type Caller, type HypercallTable, type HvReturn } from "../hyp/calls.ts";
import { assertShared, bindShared, unbindShared } from "../vgic/virq.ts";
import { VIRTIO_MMIO as V, newVirtioMmio, type VirtioMmioObject } from "./state.ts";

/**
 * The virtio-mmio backend hypercalls 0x49-0x55 and virtio_input_configure 0x5E (reference §2.11;
 * GH:hyp/vm/virtio_mmio/src/hypercalls.c, GH:hyp/vm/virtio_mmio/src/virtio_mmio.c,
 * GH:hyp/vm/virtio_input/src/hypercalls.c). All but configure look the object up ACTIVE.
 * virtio_input_set_data (0x5F) copies from the caller's VA and stays UNIMPLEMENTED (docs/hypercalls.md).
 */

type Vio = VirtioMmioObject | HvReturn;
const isRet = (x: Vio): x is HvReturn => "error" in x;
function vio(s: Machine, c: Caller, cap: bigint, right: number): Vio {
  const r = lookup(s, c.cspace, cap, "virtio_mmio", right);
  return r.ok ? r.value : fail(r.error);
}
const U32 = (v: number): number => v >>> 0;

/**
 * virtio_mmio_configure: the memextent is looked up first (MEMEXTENT.ATTACH, active), then the
 * virtio object (OBJECT_ACTIVATE, any state; wrong type; INIT else OBJECT_STATE). BASIC, exactly one
 * page, vqs_num ≤ 16, and with flags bit 6 a device type some module knows, else ARGUMENT_INVALID.
 */
function configure(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const me = lookup(s, c.cspace, a[1] ?? 0n, "memextent", RIGHTS.memextent.ATTACH);
  if (!me.ok) return fail(me.error);
  const o = lookupAny(s, c.cspace, a[0] ?? 0n, 0x8000_0000);
  if (!o.ok) return fail(o.error);
  const v = o.value;
  if (v.type !== "virtio_mmio") return fail("CSPACE_WRONG_OBJECT_TYPE");
  if (v.state !== "INIT") return fail("OBJECT_STATE");
  const vqs = arg32(a, 2);
  if (me.value.kind !== "BASIC" || me.value.size !== PAGE_SIZE || vqs > V.MAX_VQS) return fail("ARGUMENT_INVALID");
  let type = 0;
  if ((arg(a, 3) & BigInt(V.FLAG_VALID_DEVICE_TYPE)) !== 0n) {
    type = arg32(a, 4);
    if (!V.KNOWN_DEVICE_TYPES.includes(type)) return fail("ARGUMENT_INVALID");
  }
  v.deviceType = type;
  v.me = me.value.id;
  v.vqsNum = vqs;
  return OK;
}

/**
 * object_activate for virtio_mmio (GH:hyp/vm/virtio_mmio/src/virtio_mmio.c): no memextent ⇒
 * OBJECT_CONFIG; the config page is attached as the frontend's vdevice and mapped into the
 * hypervisor (an extent already attached ⇒ BUSY ⚠); banked queue registers are allocated.
 */
export function activateVirtioMmio(s: Machine, v: VirtioMmioObject): HvError | null {
  const me = objectAs(s, v.me, "memextent");
  if (me === undefined) return "OBJECT_CONFIG";
  if (me.attached) return "BUSY";
  me.attached = true;
  v.queues = [];
  for (let i = 0; i < v.vqsNum; i++) v.queues.push({ numMax: 0, num: 0, ready: 0, desc: 0n, driver: 0n, device: 0n });
  return null;
}

/** Destruction: both VIRQs unbound, the page detached; returns the ids whose references dropped. */
export function destroyVirtioMmio(s: Machine, v: VirtioMmioObject): number[] {
  unbindShared(s, v.backendVirq);
  unbindShared(s, v.frontendVirq);
  const me = objectAs(s, v.me, "memextent");
  if (me !== undefined && v.state === "ACTIVE") me.attached = false;
  const more = [v.me];
  if (v.backendVirq !== null) more.push(v.backendVirq.vic);
  if (v.frontendVirq !== null) more.push(v.frontendVirq.vic);
  v.backendVirq = null;
  v.frontendVirq = null;
  return more;
}

/** Does this virtio object hold a reference to object `id` (its extent or a VIC)? */
export function virtioReferences(v: VirtioMmioObject, id: number): boolean {
  return v.me === id || v.backendVirq?.vic === id || v.frontendVirq?.vic === id;
}

function bindVirq(s: Machine, c: Caller, a: readonly bigint[], side: "backend" | "frontend"): HvReturn {
  const v = vio(s, c, a[0] ?? 0n, side === "backend" ? RIGHTS.virtio_mmio.BIND_BACKEND_VIRQ : RIGHTS.virtio_mmio.BIND_FRONTEND_VIRQ);
  if (isRet(v)) return v;
  const vic = lookup(s, c.cspace, a[1] ?? 0n, "vic", RIGHTS.vic.BIND_SOURCE);
  if (!vic.ok) return fail(vic.error);
  const key = side === "backend" ? "backendVirq" : "frontendVirq";
  if (v[key] !== null) return fail("VIRQ_BOUND");
  const virq = arg32(a, 2);
  const e = bindShared(vic.value, virq, { kind: side === "backend" ? "virtio_mmio_backend" : "virtio_mmio_frontend", object: v.id });
  if (e !== null) return fail(e);
  v[key] = { vic: vic.value.id, virq };
  return OK;
}

function unbindVirq(s: Machine, c: Caller, a: readonly bigint[], side: "backend" | "frontend"): HvReturn {
  const v = vio(s, c, a[0] ?? 0n, side === "backend" ? RIGHTS.virtio_mmio.BIND_BACKEND_VIRQ : RIGHTS.virtio_mmio.BIND_FRONTEND_VIRQ);
  if (isRet(v)) return v;
  const key = side === "backend" ? "backendVirq" : "frontendVirq";
  unbindShared(s, v[key]);
  v[key] = null;
  return OK;
}

/** Raises the frontend VM's level VIRQ; pending while InterruptStatus ≠ 0 (reference §7.3). */
function assertVirq(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const v = vio(s, c, a[0] ?? 0n, RIGHTS.virtio_mmio.ASSERT_VIRQ);
  if (isRet(v)) return v;
  if ((v.status & V.STATUS_DEVICE_NEEDS_RESET) !== 0) return fail("DENIED");
  v.interruptStatus = U32(v.interruptStatus | arg32(a, 1));
  if (v.backendVirq !== null) assertShared(s, v.backendVirq, false);
  return OK;
}

/** sel < 2 (else ARGUMENT_INVALID); sel 1 must hold VERSION_1 and ACCESS_PLATFORM and not NOTIFICATION_DATA. */
function setDevFeatures(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const v = vio(s, c, a[0] ?? 0n, RIGHTS.virtio_mmio.CONFIG);
  if (isRet(v)) return v;
  const sel = arg32(a, 1);
  const feat = arg32(a, 2);
  if (sel >= V.FEAT_NUM) return fail("ARGUMENT_INVALID");
  if (sel === 1) {
    const must = (1 << (V.F_VERSION_1 - 32)) | (1 << (V.F_ACCESS_PLATFORM - 32));
    const forbid = 1 << (V.F_NOTIFICATION_DATA - 32);
    if ((feat & must) !== must || (feat & forbid) !== 0) return fail("DENIED");
  }
  v.devFeat[sel] = feat;
  return OK;
}

function queue(v: VirtioMmioObject, a: readonly bigint[]): number {
  const sel = arg32(a, 1);
  return sel < v.vqsNum && sel < v.queues.length ? sel : -1;
}

function setQueueNumMax(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const v = vio(s, c, a[0] ?? 0n, RIGHTS.virtio_mmio.CONFIG);
  if (isRet(v)) return v;
  const q = queue(v, a);
  if (q < 0) return fail("ARGUMENT_INVALID");
  v.queues[q]!.numMax = arg32(a, 2);
  return OK;
}

function getDrvFeatures(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const v = vio(s, c, a[0] ?? 0n, RIGHTS.virtio_mmio.CONFIG);
  if (isRet(v)) return v;
  const sel = arg32(a, 1);
  if (sel >= V.FEAT_NUM) return fail("ARGUMENT_INVALID");
  return okWith(BigInt(v.drvFeat[sel]!));
}

/** → num, ready, desc, driver, device (64-bit addresses from the banked low/high halves). */
function getQueueInfo(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const v = vio(s, c, a[0] ?? 0n, RIGHTS.virtio_mmio.CONFIG);
  if (isRet(v)) return v;
  const q = queue(v, a);
  if (q < 0) return fail("ARGUMENT_INVALID");
  const r = v.queues[q]!;
  return okWith(BigInt(r.num), BigInt(r.ready), r.desc, r.driver, r.device);
}

/** Takes the vq bitmap and the reason word (both reset to 0); the backend VIRQ drops at its next EOI. */
function getNotification(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const v = vio(s, c, a[0] ?? 0n, RIGHTS.virtio_mmio.CONFIG);
  if (isRet(v)) return v;
  const out = okWith(v.vqBitmap, BigInt(v.reason));
  v.vqBitmap = 0n;
  v.reason = 0;
  return out;
}

/**
 * The source stores the default (0) Status: the reset is complete for the frontend. (Reference §2.11
 * says "clears QueueReady"; that happens when the frontend requests the reset, GH:.../vdevice.c.)
 */
function acknowledgeReset(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const v = vio(s, c, a[0] ?? 0n, RIGHTS.virtio_mmio.CONFIG);
  if (isRet(v)) return v;
  v.status = 0;
  return OK;
}

function updateStatus(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const v = vio(s, c, a[0] ?? 0n, RIGHTS.virtio_mmio.CONFIG);
  if (isRet(v)) return v;
  v.status = U32(v.status | arg32(a, 1));
  return OK;
}

/**
 * virtio_input_configure (GH:hyp/vm/virtio_input/src/hypercalls.c): CONFIG (active); not an INPUT
 * device ⇒ OBJECT_CONFIG; devids/prop_bits are stored BEFORE the bounds check (evtypes ≤ 32,
 * absaxes ≤ 64 ⇒ ARGUMENT_INVALID); a second non-zero count for a table already allocated ⇒ BUSY
 * (the evtypes table stays allocated if absaxes then fails).
 */
function inputConfigure(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const v = vio(s, c, a[0] ?? 0n, RIGHTS.virtio_mmio.CONFIG);
  if (isRet(v)) return v;
  if (v.deviceType !== 18) return fail("OBJECT_CONFIG");
  const inp = (v.input ??= { devids: 0n, propBits: 0, numEvtypes: 0, numAbsaxes: 0 });
  inp.devids = arg(a, 1);
  inp.propBits = arg32(a, 2);
  const ev = arg32(a, 3);
  const abs = arg32(a, 4);
  if (ev > 32 || abs > 64) return fail("ARGUMENT_INVALID");
  if (ev > 0) {
    if (inp.numEvtypes !== 0) return fail("BUSY");
    inp.numEvtypes = ev;
  }
  if (abs > 0) {
    if (inp.numAbsaxes !== 0) return fail("BUSY");
    inp.numAbsaxes = abs;
  }
  return OK;
}

export const virtioMmioHypercalls: HypercallTable = {
  virtio_mmio_configure: configure,
  virtio_mmio_backend_bind_virq: (s, c, a) => bindVirq(s, c, a, "backend"),
  virtio_mmio_backend_unbind_virq: (s, c, a) => unbindVirq(s, c, a, "backend"),
  virtio_mmio_frontend_bind_virq: (s, c, a) => bindVirq(s, c, a, "frontend"),
  virtio_mmio_frontend_unbind_virq: (s, c, a) => unbindVirq(s, c, a, "frontend"),
  virtio_mmio_backend_assert_virq: assertVirq,
  virtio_mmio_backend_set_dev_features: setDevFeatures,
  virtio_mmio_backend_set_queue_num_max: setQueueNumMax,
  virtio_mmio_backend_get_drv_features: getDrvFeatures,
  virtio_mmio_backend_get_queue_info: getQueueInfo,
  virtio_mmio_backend_get_notification: getNotification,
  virtio_mmio_backend_acknowledge_reset: acknowledgeReset,
  virtio_mmio_backend_update_status: updateStatus,
  virtio_input_configure: inputConfigure,
};

export { newVirtioMmio };
