/**
 * SMMU room: stream binding and DMA transactions. A transaction translates through the bound VM's
 * stage-2 (HYP's table, walked range by range) and needs the mapping's access; a write leaves the
 * device VM's label on the pages, which is what leak checks look at. A fault changes nothing but
 * the fault counters.
 */
import { invalidEvent } from "../../core/errors.ts";
import type { Machine } from "../machine.ts";
import { setLabel } from "../rm/content.ts";
import { smmuTranslate } from "../protected/iotlb.ts";
import type { SmmuBindEvent, SmmuTxnEvent } from "./events.ts";

const RIGHT = { read: 4, write: 2 } as const;

export function onSmmuBind(s: Machine, ev: SmmuBindEvent) {
  if (!Number.isInteger(ev.stream) || ev.stream < 0 || ev.stream > 0xffff) invalidEvent(ev.seq, ev.kind, "stream IDs are 16-bit");
  const streams = s.smmu.streams;
  if (!streams.ids.includes(ev.stream)) streams.ids.push(ev.stream);
  streams.byId[ev.stream] = { sid: ev.stream, vmid: ev.vm };
  return { bound: ev.stream, vm: ev.vm };
}

function fault(s: Machine, ev: SmmuTxnEvent, reason: string) {
  s.smmu.faults += 1;
  s.smmu.lastFault = { sid: ev.stream, iova: ev.iova, access: ev.access };
  return { result: "fault", reason };
}

export function onSmmuTxn(s: Machine, ev: SmmuTxnEvent) {
  if (!Number.isSafeInteger(ev.iova) || ev.iova < 0 || !Number.isInteger(ev.sizeBytes) || ev.sizeBytes < 1 || ev.sizeBytes > 0x10000) {
    invalidEvent(ev.seq, ev.kind, "iova must be a non-negative integer and sizeBytes 1..65536");
  }
  s.smmu.txns += 1;
  const st = s.smmu.streams.byId[ev.stream];
  if (st === undefined) return fault(s, ev, "stream not bound");
  // Through the SMMU's translation cache (issue #6, src/model/protected/iotlb.ts: the smmu-map-kept-after-reclaim defect).
  const pieces = smmuTranslate(s, ev.stream, st.vmid, ev.iova, ev.sizeBytes);
  if (pieces === null) return fault(s, ev, "translation");
  if (pieces.some((p) => (p.rights & RIGHT[ev.access]) === 0)) return fault(s, ev, "permission");
  if (ev.access === "write") for (const p of pieces) setLabel(s, p.pa, p.size, `vm${st.vmid}`);
  return { result: "ok", pa: pieces[0]!.pa };
}
