/**
 * The RM RPC transport on real message queues (reference §1.1-§1.5): a client VM's driver sends
 * each 240-byte fragment with `msgqueue_send` on its client->RM queue (PUSH on the last one); the
 * RM takes the receive VIRQ in its vGIC (acknowledge), drains the queue with `msgqueue_receive`,
 * reassembles, handles the request, deactivates the VIRQ (EOI), and sends its notifications and its
 * reply the same way on the RM->client queues, where the receiving driver does likewise.
 *
 * Every step is HYP's own hypercall handler run as the calling vCPU (caps resolved in its cspace,
 * VIRQs asserted and cleared in the vGIC), inside the one event that carries the exchange: the
 * client blocks on the reply, as Linux's driver does, so the exchange is applied whole and listed
 * in the outcome (packets each way). See docs/architecture.md "RM transport".
 */
import { invalidEvent } from "../../core/errors.ts";
import { RM_ERRORS, RM_MSG_TYPE, VMID, rmMessageId, rmMessageName, type RmMessageName } from "../abi/rm.ts";
import { HYPERCALLS, type HypercallName } from "../abi/hypercalls.ts";
import type { Machine } from "../machine.ts";
import { objectAs } from "../object/objects.ts";
import type { Caller, HvReturn, HypercallHandler, HypercallTable } from "../hyp/calls.ts";
import { msgqueueHypercalls } from "../ipc/msgqueue.ts";
import { doorbellHypercalls } from "../ipc/doorbell.ts";
import { vcpuRunHypercalls } from "../vcpu/run.ts";
import { vcpuHypercalls } from "../vcpu/hypercalls.ts";
import { countHypercall } from "../hyp/rooms.ts";
import { acknowledge, endOfInterrupt } from "../vgic/virq.ts";
import { ByteWriter } from "./bytes.ts";
import { channel, type RmCtx, type RmNotification, type RequestHandler } from "./context.ts";
import { fragment, receivePacket } from "./rpc.ts";
import type { RmChannelHv, VmHv } from "./hv.ts";
import type { RmNotificationOut, RmRequestOutcome } from "./events.ts";

const TABLE: HypercallTable = { ...msgqueueHypercalls, ...doorbellHypercalls, ...vcpuRunHypercalls, vcpu_kill: vcpuHypercalls.vcpu_kill!, vcpu_run_check: vcpuRunHypercalls.vcpu_run_check! };

/** A call the transport makes, resolved once: its number (for `hypercallCounts`) and HYP's handler. */
export interface HvCall {
  readonly call: number;
  readonly handler: HypercallHandler;
}
function resolveCall(name: HypercallName): HvCall {
  const handler = TABLE[name];
  if (handler === undefined) throw new Error(`internal: ${name} is not a call the RM transport makes`);
  return { call: HYPERCALLS[name], handler };
}
/** Every call of TABLE, resolved at load. */
const CALLS: { readonly [N in HypercallName]?: HvCall } = Object.fromEntries(Object.keys(TABLE).map((name) => [name, resolveCall(name as HypercallName)]));
/** The calls made on every VCPU_RUN, doorbell and RM packet, for `callAs` (no lookup by name per call). */
export const HVC = {
  vcpu_run: CALLS.vcpu_run!,
  doorbell_send: CALLS.doorbell_send!,
  msgqueue_send: CALLS.msgqueue_send!,
  msgqueue_receive: CALLS.msgqueue_receive!,
} as const;

/** Who runs a client's driver code: the HLOS's last vCPU (crosvm's main thread, ⚠ model choice), a guest's vCPU 0. */
export function driverThread(s: Machine, hv: VmHv): number {
  if (hv.vmid === VMID.HLOS) return hv.vcpus[hv.vcpus.length - 1] ?? 0;
  return hv.vcpus[0] ?? 0;
}

/**
 * The register values of small non-negative integers (caps, sizes, flags), made once: converting a
 * number with BigInt() is a runtime call, and every VCPU_RUN, doorbell and RM packet passes several.
 */
const SMALL_REGS: readonly bigint[] = Array.from({ length: 1024 }, (_, i) => BigInt(i));

/** A register value (modulo 2^64) of a number or bigint argument. */
function reg(a: number | bigint): bigint {
  if (typeof a === "number" && a >= 0) {
    if (a < SMALL_REGS.length && Number.isInteger(a)) return SMALL_REGS[a]!;
    if (a <= Number.MAX_SAFE_INTEGER) return BigInt(a); // a non-negative safe integer is its own value
  }
  return BigInt.asUintN(64, BigInt(a));
}

/**
 * One of HYP's hypercall handlers, run as `thread` of `hv` (or the RM), counted like a trapped call.
 * Arguments are register values: numbers and bigints, taken modulo 2^64 as X1..X7 would be.
 */
export function hvcAs(s: Machine, vm: number, thread: number, cspace: number, name: HypercallName, args: readonly (number | bigint)[], data?: Uint8Array): HvReturn {
  return callAs(s, vm, thread, cspace, CALLS[name] ?? resolveCall(name), args, data);
}

/**
 * `hvcAs` with the call already resolved (HVC): runs for every VCPU_RUN and RM packet, so it builds
 * the caller and the argument list directly (no spread, no closure).
 */
export function callAs(s: Machine, vm: number, thread: number, cspace: number, hvc: HvCall, args: readonly (number | bigint)[], data?: Uint8Array): HvReturn {
  const t = objectAs(s, thread, "thread");
  const vcpu = t === undefined ? 0 : t.index;
  // The same fields as a trapped call's caller; `data` only when the event carries a buffer.
  const c: Caller = data === undefined ? { vm, vcpu, seq: s.seq, t: s.t, thread, cspace } : { vm, vcpu, seq: s.seq, t: s.t, thread, cspace, data };
  const x: bigint[] = [];
  for (let i = 0; i < args.length; i++) x.push(reg(args[i]!));
  countHypercall(s, hvc.call);
  return hvc.handler(s, c, x);
}

/** The receiver's interrupt handler: acknowledge the VIRQ, drain the queue, deactivate (EOI). */
function drain(s: Machine, vm: number, thread: number, cspace: number, cap: number, ackThread: number, virq: number, take: (bytes: Uint8Array) => void): number {
  const t = objectAs(s, ackThread, "thread");
  const intid = t === undefined ? 1023 : acknowledge(s, t);
  let n = 0;
  for (;;) {
    const r = callAs(s, vm, thread, cspace, HVC.msgqueue_receive, [cap, 0, 240]);
    if (r.error !== "OK") break;
    take(r.extra!.data as Uint8Array);
    n++;
  }
  if (t !== undefined && intid === virq) endOfInterrupt(s, t, intid);
  return n;
}

/** Sends one message's fragments on a queue as `thread`; false if the queue filled (the rest are dropped). */
function sendAll(s: Machine, vm: number, thread: number, cspace: number, cap: number, packets: readonly Uint8Array[]): boolean {
  for (let i = 0; i < packets.length; i++) {
    const p = packets[i]!;
    const r = callAs(s, vm, thread, cspace, HVC.msgqueue_send, [cap, p.length, 0, i === packets.length - 1 ? 1 : 0], p);
    if (r.error !== "OK") return false;
  }
  return true;
}

/** The RM's side of a client channel: the RM's vCPU drains its receive queue; returns the packets taken. */
export function rmDrain(s: Machine, hv: VmHv, ch: RmChannelHv, onMessage: (m: { seq: number; msgId: number; payload: Uint8Array }) => void): number {
  const rm = s.rm.hv!;
  return drain(s, VMID.RM, rm.thread, rm.cspace, ch.rmRx, rm.thread, ch.rmVirq, (bytes) => {
    const r = receivePacket(s.rm.rx[hv.vmid] ?? null, bytes);
    s.rm.rx[hv.vmid] = r.pending;
    if (r.message !== null && r.message.type === RM_MSG_TYPE.REQUEST) onMessage(r.message);
  });
}

/** The client's side: its driver drains the RM->client queue (replies and notifications). */
function clientDrain(s: Machine, hv: VmHv, ch: RmChannelHv): number {
  const thread = driverThread(s, hv);
  const ack = hv.vcpus[0] ?? 0;
  return drain(s, hv.vmid, thread, hv.cspace, ch.clientRx, ack, ch.clientVirq, () => undefined);
}

/**
 * The RM sends a message to a client (reply or notification). The HLOS's driver receives at once
 * (its IRQ handler runs on another CPU); a guest's packets wait in its queue, VIRQ pending, until its
 * kernel reads them. A full queue: the RM keeps the notification pending (§1.5), counted.
 */
function rmSend(s: Machine, to: number, type: number, seq: number, msgId: number, payload: Uint8Array, receiveNow: boolean): number {
  const rm = s.rm.hv!;
  const hv = rm.vms[to];
  // A VM without its rm-rpc vdevice (before VM_INIT, after reset) cannot be sent to (rm_can_rpc).
  if (hv === undefined || hv.channel === null) return 0;
  const packets = fragment({ type: type as 1, seq, msgId, payload });
  if (!sendAll(s, VMID.RM, rm.thread, rm.cspace, hv.channel.rmTx, packets)) s.rm.pendingNotify[to] = (s.rm.pendingNotify[to] ?? 0) + 1;
  if (receiveNow || to === VMID.HLOS) clientDrain(s, hv, hv.channel);
  return packets.length;
}

/** Sends the notifications a handler queued (in order); notifications carry the RM's global counter. */
export function deliverNotes(s: Machine, notes: readonly RmNotification[], client: number): RmNotificationOut[] {
  // notify() already numbered them (rm.notifySeq); resend with the same numbers in order.
  const first = (s.rm.notifySeq - notes.length) & 0xffff;
  notes.forEach((n, i) => rmSend(s, n.to, RM_MSG_TYPE.NOTIFICATION, (first + i) & 0xffff, rmMessageId(n.msg), n.payload, n.to === client));
  return notes.map((n) => ({ to: n.to, msg: n.msg, data: n.payload }));
}

/**
 * One whole RPC: the client's request in, the RM's handling, its notifications and reply out.
 * A client the RM has no channel with cannot send (trace error).
 */
export function exchange(s: Machine, ev: { seq: number; kind: string }, vmid: number, msgId: number, rpcSeq: number, payload: Uint8Array, handlers: { readonly [N in RmMessageName]?: RequestHandler }): RmRequestOutcome {
  const hv = s.rm.hv?.vms[vmid];
  const rpc = hv?.channel ?? null;
  if (hv === undefined || rpc === null) invalidEvent(ev.seq, ev.kind, `VM ${vmid} has no RM channel`);
  const ch = channel(s, vmid);
  const packets = fragment({ type: RM_MSG_TYPE.REQUEST, seq: rpcSeq, msgId, payload });
  const thread = driverThread(s, hv);
  let msg: { seq: number; msgId: number; payload: Uint8Array } | null = null;
  for (let i = 0; i < packets.length; i++) {
    const p = packets[i]!;
    const r = callAs(s, vmid, thread, hv.cspace, HVC.msgqueue_send, [rpc.clientTx, p.length, 0, i === packets.length - 1 ? 1 : 0], p);
    if (r.error !== "OK") invalidEvent(ev.seq, ev.kind, `VM ${vmid}'s RM queue refused a fragment: ${r.error}`);
    rmDrain(s, hv, rpc, (m) => (msg = m));
  }
  ch.requests += 1;
  ch.packetsIn += packets.length;
  const got = msg as { seq: number; msgId: number; payload: Uint8Array } | null;
  if (got === null) invalidEvent(ev.seq, ev.kind, "the RM reassembled no request");
  const h = handleRequest(s, vmid, got, handlers, true);
  return { msg: h.msg, err: h.err, data: h.data, packetsIn: packets.length, packetsOut: h.packetsOut, notify: h.notify };
}

/** What the RM did with one request (an `RmRequestOutcome` without the packets that brought it). */
export interface HandledRequest {
  readonly msg: string;
  readonly err: string;
  readonly data: Uint8Array;
  readonly packetsOut: number;
  readonly notify: readonly RmNotificationOut[];
}

/**
 * The RM handles one reassembled request from `vmid`: the handler, its notifications, the reply on
 * the RM->client queue. `receiveNow`: the client's driver reads the reply at once (a blocking caller
 * in one event); otherwise it waits in the client's queue, VIRQ pending (the HLOS always reads at once).
 */
export function handleRequest(s: Machine, vmid: number, got: { seq: number; msgId: number; payload: Uint8Array }, handlers: { readonly [N in RmMessageName]?: RequestHandler }, receiveNow: boolean): HandledRequest {
  const ctx: RmCtx = { s, caller: vmid, notes: [] };
  const name = rmMessageName(got.msgId);
  const handler = name === undefined ? undefined : handlers[name as RmMessageName];
  const r = handler === undefined ? { err: "UNIMPLEMENTED" as const } : handler(ctx, got.payload);
  const data = r.data ?? new Uint8Array(0);
  const notify = deliverNotes(s, ctx.notes, vmid);
  const body = new ByteWriter().u32(RM_ERRORS[r.err]).bytes(data).done();
  // The reply goes to the client even if it is now gone (a VM that exited itself): skip if so.
  const out = s.rm.hv!.vms[vmid] === undefined ? 0 : rmSend(s, vmid, RM_MSG_TYPE.REPLY, got.seq, got.msgId, body, receiveNow);
  channel(s, vmid).packetsOut += out;
  return { msg: name ?? `0x${got.msgId.toString(16)}`, err: r.err, data, packetsOut: out, notify };
}
