import { MSGQUEUE } from "../abi/constants.ts";
import { RIGHTS } from "../abi/rights.ts";
import type { Machine } from "../machine.ts";
import { lookup, lookupInit } from "../object/cspace.ts";
import { OK, arg, arg32, fail, okWith, type Caller, type HypercallTable, type HvReturn } from "../hyp/calls.ts";
import { assertShared, bindShared, clearShared, unbindShared } from "../vgic/virq.ts";
import type { MsgqueueObject } from "./state.ts";

/**
 * Message queues (reference §2.9; GH:hyp/interfaces/msgqueue/msgqueue.hvc, GH:hyp/ipc/msgqueue).
 *
 * Payload bytes: guest memory contents are not modelled, so a send's bytes travel in the hypercall
 * event (`data`); fewer bytes than `size` are zero-padded, more are cut to `size`. A receive returns
 * the bytes in the outcome (`data`), which is what the guest would find in its buffer.
 *
 * ARGUMENT_SIZE (⚠ reference §2.9): the API doc promises ARGUMENT_SIZE above the queue's maximum,
 * and ADDR_OVERFLOW for a receive buffer too small; the 12/2023 source detects these in its copy
 * helper but drops the error and returns OK. This model returns the documented errors (and queues
 * nothing), because guests and the RM are written against the documented ABI and an OK that
 * silently queues nothing would make RM RPC traces misleading. A full queue is checked first and a
 * 0-byte send is legal, as in the source (msgqueue_common.c:33-57).
 */

type Mq = MsgqueueObject | HvReturn;
const isRet = (x: Mq): x is HvReturn => "error" in x;
function mq(s: Machine, c: Caller, cap: bigint, right: number): Mq {
  const r = lookup(s, c.cspace, cap, "msgqueue", right);
  return r.ok ? r.value : fail(r.error);
}
const ALL32 = 0xffff_ffff;
/** -1 as a count_t / delay argument: either the 32-bit or the 64-bit all-ones pattern. */
const isMinusOne = (v: bigint): boolean => v === 0xffff_ffff_ffff_ffffn || v === 0xffff_ffffn;

function bindVirq(s: Machine, c: Caller, a: readonly bigint[], side: "send" | "receive"): HvReturn {
  const q = mq(s, c, a[0] ?? 0n, side === "send" ? RIGHTS.msgqueue.BIND_SEND : RIGHTS.msgqueue.BIND_RECEIVE);
  if (isRet(q)) return q;
  const vic = lookup(s, c.cspace, a[1] ?? 0n, "vic", RIGHTS.vic.BIND_SOURCE);
  if (!vic.ok) return fail(vic.error);
  const key = side === "send" ? "sendVirq" : "receiveVirq";
  if (q[key] !== null) return fail("VIRQ_BOUND");
  const virq = arg32(a, 2);
  const e = bindShared(vic.value, virq, { kind: side === "send" ? "msgqueue_send" : "msgqueue_receive", object: q.id });
  if (e !== null) return fail(e);
  q[key] = { vic: vic.value.id, virq };
  return OK;
}

function unbindVirq(s: Machine, c: Caller, a: readonly bigint[], side: "send" | "receive"): HvReturn {
  const q = mq(s, c, a[0] ?? 0n, side === "send" ? RIGHTS.msgqueue.BIND_SEND : RIGHTS.msgqueue.BIND_RECEIVE);
  if (isRet(q)) return q;
  const key = side === "send" ? "sendVirq" : "receiveVirq";
  unbindShared(s, q[key]);
  q[key] = null;
  return OK;
}

function send(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const q = mq(s, c, a[0] ?? 0n, RIGHTS.msgqueue.SEND);
  if (isRet(q)) return q;
  const size = arg(a, 1);
  const push = (arg32(a, 3) & 1) !== 0;
  // A full queue wins; a 0-byte message is legal (GH:hyp/ipc/msgqueue/src/msgqueue_common.c:33-57).
  if (q.queue.length >= q.depth) return fail("MSGQUEUE_FULL");
  if (size > BigInt(q.maxSize)) return fail("ARGUMENT_SIZE");
  const bytes = new Uint8Array(Number(size));
  // subarray() makes a view object per call (slow in V8): only cut when the data is too long.
  if (c.data !== undefined) bytes.set(c.data.length <= bytes.length ? c.data : c.data.subarray(0, bytes.length));
  q.queue.push(bytes);
  // The receiver is woken by PUSH, or when the count reaches the threshold exactly (msgqueue_common.c:69-73).
  if ((push || q.queue.length === q.notEmptyThreshold) && q.receiveVirq !== null) assertShared(s, q.receiveVirq, false);
  return okWith(q.queue.length < q.depth ? 1n : 0n);
}

function receive(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const q = mq(s, c, a[0] ?? 0n, RIGHTS.msgqueue.RECEIVE);
  if (isRet(q)) return q;
  const bufSize = arg(a, 2);
  const head = q.queue[0];
  if (head === undefined) return fail("MSGQUEUE_EMPTY");
  if (bufSize < BigInt(head.length)) return fail("ADDR_OVERFLOW");
  q.queue.shift();
  if (q.queue.length === q.notFullThreshold && q.sendVirq !== null) assertShared(s, q.sendVirq, false);
  return { error: "OK", out: [BigInt(head.length), q.queue.length > 0 ? 1n : 0n], extra: { data: head } };
}

function flush(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const q = mq(s, c, a[0] ?? 0n, RIGHTS.msgqueue.RECEIVE);
  if (isRet(q)) return q;
  if (q.queue.length > 0) {
    q.queue = [];
    if (q.sendVirq !== null) assertShared(s, q.sendVirq, false);
    clearShared(s, q.receiveVirq);
  }
  return OK;
}

function configureSend(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const q = mq(s, c, a[0] ?? 0n, RIGHTS.msgqueue.SEND);
  if (isRet(q)) return q;
  if (!isMinusOne(arg(a, 2))) return fail("UNIMPLEMENTED");
  const thr = arg32(a, 1);
  if (thr === ALL32) return OK;
  if (thr >= q.depth) return fail("ARGUMENT_INVALID");
  q.notFullThreshold = thr;
  // A new threshold re-evaluates the sender's VIRQ (GH:hyp/ipc/msgqueue/src/msgqueue.c:65-72).
  if (q.queue.length <= thr) {
    if (q.sendVirq !== null) assertShared(s, q.sendVirq, false);
  } else clearShared(s, q.sendVirq);
  return OK;
}

function configureReceive(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const q = mq(s, c, a[0] ?? 0n, RIGHTS.msgqueue.RECEIVE);
  if (isRet(q)) return q;
  if (!isMinusOne(arg(a, 2))) return fail("UNIMPLEMENTED");
  const thr = arg32(a, 1);
  if (thr === ALL32) return OK;
  const value = thr === ALL32 - 1 ? q.depth : thr;
  if (value < 1 || value > q.depth) return fail("ARGUMENT_INVALID");
  q.notEmptyThreshold = value;
  // A threshold set by number re-evaluates the receiver's VIRQ; MAXIMUM (-2) does not
  // (GH:hyp/ipc/msgqueue/src/msgqueue.c:103-115).
  if (thr !== ALL32 - 1) {
    if (q.queue.length >= value) {
      if (q.receiveVirq !== null) assertShared(s, q.receiveVirq, false);
    } else clearShared(s, q.receiveVirq);
  }
  return OK;
}

/** create_info: 15:0 depth, 31:16 max message size; 0 < depth < 256, 0 < size < 1024. */
function configure(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const q = lookupInit(s, c.cspace, a[0] ?? 0n, "msgqueue");
  if (!q.ok) return fail(q.error);
  const info = arg32(a, 1);
  const depth = info & 0xffff;
  const maxSize = info >>> 16;
  if (depth === 0 || depth >= MSGQUEUE.DEPTH_LIMIT || maxSize === 0 || maxSize >= MSGQUEUE.SIZE_LIMIT) return fail("ARGUMENT_INVALID");
  q.value.depth = depth;
  q.value.maxSize = maxSize;
  return OK;
}

export const msgqueueHypercalls: HypercallTable = {
  msgqueue_bind_send_virq: (s, c, a) => bindVirq(s, c, a, "send"),
  msgqueue_bind_receive_virq: (s, c, a) => bindVirq(s, c, a, "receive"),
  msgqueue_unbind_send_virq: (s, c, a) => unbindVirq(s, c, a, "send"),
  msgqueue_unbind_receive_virq: (s, c, a) => unbindVirq(s, c, a, "receive"),
  msgqueue_send: send,
  msgqueue_receive: receive,
  msgqueue_flush: flush,
  msgqueue_configure_send: configureSend,
  msgqueue_configure_receive: configureReceive,
  msgqueue_configure: configure,
};
