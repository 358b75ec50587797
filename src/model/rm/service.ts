/**
 * `rm_service`: the RM's side of a request a real guest sent fragment by fragment (rm/events.ts
 * RmServiceEvent), on the transport's own pieces (transport.ts `rmDrain`, `handleRequest`).
 */
import { invalidEvent } from "../../core/errors.ts";
import type { Machine } from "../machine.ts";
import { objectAs } from "../object/objects.ts";
import { channel } from "./context.ts";
import { REQUEST_HANDLERS } from "./handlers.ts";
import { handleRequest, rmDrain } from "./transport.ts";
import type { RmServiceEvent, RmServiceOutcome } from "./events.ts";

/** Is there a packet from `vmid` waiting in the RM's receive queue (its VIRQ raised)? What a driver checks before proposing `rm_service`. */
export function rmHasWork(s: Machine, vmid: number): boolean {
  const hv = s.rm.hv?.vms[vmid];
  const q = hv?.channel == null ? undefined : objectAs(s, hv.channel.c2r, "msgqueue");
  return q !== undefined && q.queue.length > 0;
}

/** See `RmServiceEvent`. */
export function onRmService(s: Machine, ev: RmServiceEvent): RmServiceOutcome {
  const hv = s.rm.hv?.vms[ev.vm];
  if (hv?.channel == null) invalidEvent(ev.seq, ev.kind, `VM ${ev.vm} has no RM channel`);
  if (!rmHasWork(s, ev.vm)) invalidEvent(ev.seq, ev.kind, `the RM's queue from VM ${ev.vm} is empty: nothing raised its receive VIRQ`);
  const messages: { seq: number; msgId: number; payload: Uint8Array }[] = [];
  const packetsIn = rmDrain(s, hv, hv.channel, (m) => messages.push(m));
  const ch = channel(s, ev.vm);
  ch.packetsIn += packetsIn;
  const handled: RmServiceOutcome["handled"][number][] = [];
  for (const m of messages) {
    ch.requests += 1;
    const h = handleRequest(s, ev.vm, m, REQUEST_HANDLERS, false);
    handled.push({ msg: h.msg, rpcSeq: m.seq, err: h.err, data: h.data, packetsOut: h.packetsOut, notify: h.notify });
    // A request that took the VM down (VM_EXIT) ends its channel: the rest is never read.
    if (s.rm.hv?.vms[ev.vm] === undefined) break;
  }
  return { packetsIn, handled, partial: (s.rm.rx[ev.vm] ?? null) !== null };
}
