import { RIGHTS } from "../abi/rights.ts";
import type { Machine } from "../machine.ts";
import { lookup } from "../object/cspace.ts";
import { OK, arg, fail, okWith, type Caller, type HypercallTable, type HvReturn } from "../hyp/calls.ts";
import { assertShared, bindShared, clearShared, unbindShared } from "../vgic/virq.ts";
import type { DoorbellObject } from "./state.ts";

/**
 * Doorbells (reference §2.8; GH:hyp/interfaces/doorbell/doorbell.hvc, GH:hyp/ipc/doorbell/src/doorbell.c):
 * 64-bit flags, enable mask (default all ones), ack mask (default 0), one bound VIRQ.
 */
const ALL = 0xffff_ffff_ffff_ffffn;

function db(s: Machine, c: Caller, cap: bigint, right: number): DoorbellObject | HvReturn {
  const r = lookup(s, c.cspace, cap, "doorbell", right);
  return r.ok ? r.value : fail(r.error);
}
const isRet = (x: DoorbellObject | HvReturn): x is HvReturn => "error" in x;

/** Raises the VIRQ level-style if an enabled flag is set (then auto-acks), else edge-only. */
function signal(s: Machine, d: DoorbellObject): void {
  if ((d.flags & d.enableMask) !== 0n) {
    if (d.virq !== null) assertShared(s, d.virq, false);
    d.flags &= ~d.ackMask & ALL;
  } else if (d.virq !== null) assertShared(s, d.virq, true);
}

export const doorbellHypercalls: HypercallTable = {
  doorbell_bind_virq(s, c, a) {
    const d = db(s, c, a[0] ?? 0n, RIGHTS.doorbell.BIND);
    if (isRet(d)) return d;
    const vic = lookup(s, c.cspace, a[1] ?? 0n, "vic", RIGHTS.vic.BIND_SOURCE);
    if (!vic.ok) return fail(vic.error);
    if (d.virq !== null) return fail("VIRQ_BOUND");
    const virq = Number(BigInt.asUintN(32, arg(a, 2)));
    const e = bindShared(vic.value, virq, { kind: "doorbell", object: d.id });
    if (e !== null) return fail(e);
    d.virq = { vic: vic.value.id, virq };
    return OK;
  },
  doorbell_unbind_virq(s, c, a) {
    const d = db(s, c, a[0] ?? 0n, RIGHTS.doorbell.BIND);
    if (isRet(d)) return d;
    unbindShared(s, d.virq);
    d.virq = null;
    return OK;
  },
  doorbell_send(s, c, a) {
    const d = db(s, c, a[0] ?? 0n, RIGHTS.doorbell.SEND);
    if (isRet(d)) return d;
    const old = d.flags;
    d.flags |= arg(a, 1);
    signal(s, d);
    return okWith(old);
  },
  doorbell_receive(s, c, a) {
    const d = db(s, c, a[0] ?? 0n, RIGHTS.doorbell.RECEIVE);
    if (isRet(d)) return d;
    const clear = arg(a, 1);
    if (clear === 0n) return fail("ARGUMENT_INVALID");
    const old = d.flags;
    d.flags &= ~clear & ALL;
    return okWith(old);
  },
  doorbell_reset(s, c, a) {
    const d = db(s, c, a[0] ?? 0n, RIGHTS.doorbell.RECEIVE);
    if (isRet(d)) return d;
    clearShared(s, d.virq);
    d.flags = 0n;
    d.ackMask = 0n;
    d.enableMask = ALL;
    return OK;
  },
  doorbell_mask(s, c, a) {
    const d = db(s, c, a[0] ?? 0n, RIGHTS.doorbell.RECEIVE);
    if (isRet(d)) return d;
    d.enableMask = arg(a, 1);
    d.ackMask = arg(a, 2);
    if ((d.flags & d.enableMask) !== 0n) {
      if (d.virq !== null) assertShared(s, d.virq, false);
    } else clearShared(s, d.virq);
    return OK;
  },
};
