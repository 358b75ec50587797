/**
 * SMMU room: stream binding and DMA transactions. A transaction goes through the stream's context
 * (a mirror of its VM's stage-2, kept in step by `smmuSyncVm`); a write leaves the device VM's
 * label on the pages, which is what leak checks look at.
 */
import { invalidEvent } from "../../core/errors.ts";
import { findRange, sliceRanges } from "../rm/ranges.ts";
import { setLabel, type VmMemState } from "../rm/vmmem.ts";
import type { SmmuState } from "./state.ts";
import type { SmmuBindEvent, SmmuTxnEvent } from "./events.ts";
import { smmuSyncVm } from "./sync.ts";

type S = { smmu: SmmuState; vmmem: VmMemState };
const RIGHT = { read: 4, write: 2 } as const;

export function onSmmuBind(s: S, ev: SmmuBindEvent) {
  if (!Number.isInteger(ev.stream) || ev.stream < 0 || ev.stream > 0xffff) invalidEvent(ev.seq, ev.kind, "stream IDs are 16-bit");
  const streams = s.smmu.streams;
  if (!streams.ids.includes(ev.stream)) streams.ids.push(ev.stream);
  streams.byId[ev.stream] = { sid: ev.stream, vmid: ev.vm, context: [] };
  smmuSyncVm(s, ev.vm);
  return { bound: ev.stream, vm: ev.vm };
}

function fault(s: S, ev: SmmuTxnEvent, reason: string) {
  s.smmu.faults += 1;
  s.smmu.lastFault = { sid: ev.stream, iova: ev.iova, access: ev.access };
  return { result: "fault", reason };
}

export function onSmmuTxn(s: S, ev: SmmuTxnEvent) {
  if (!Number.isSafeInteger(ev.iova) || ev.iova < 0 || !Number.isInteger(ev.sizeBytes) || ev.sizeBytes < 1 || ev.sizeBytes > 0x10000) {
    invalidEvent(ev.seq, ev.kind, "iova must be a non-negative integer and sizeBytes 1..65536");
  }
  s.smmu.txns += 1;
  const st = s.smmu.streams.byId[ev.stream];
  if (st === undefined) return fault(s, ev, "stream not bound");
  const shift = (v: { pa: number; rights: number }, d: number) => ({ pa: v.pa + d, rights: v.rights });
  const pieces = sliceRanges(st.context, ev.iova, ev.sizeBytes, shift);
  for (const p of pieces) {
    if (p.value === null) return fault(s, ev, "translation");
    if ((p.value.rights & RIGHT[ev.access]) === 0) return fault(s, ev, "permission");
  }
  if (ev.access === "write") for (const p of pieces) setLabel(s, p.value!.pa, p.size, `vm${st.vmid}`);
  const first = findRange(st.context, ev.iova)!;
  return { result: "ok", pa: first.value.pa + (ev.iova - first.base) };
}
