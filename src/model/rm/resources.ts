/**
 * VM_GET_HYP_RESOURCES (reference §6.5; RM:src/vm_config/vm_config.c): the owner receives one
 * VIRTUAL_CPU entry per vCPU (label = vCPU index) and, for each guest receive doorbell with
 * peer-default, the opposite end (DOORBELL_SRC, same label) that Linux irqfds claim. Entries are 44
 * bytes. Cap IDs are the caps the RM granted the owner in its cspace (src/model/rm/hv.ts).
 */
import { RESOURCE_TYPE } from "../abi/rm.ts";
import { ByteWriter } from "./bytes.ts";
import { reply, type RequestHandler } from "./context.ts";
import { decodeVmid } from "./payloads.ts";

interface Entry { type: number; partner: number; label: number; capid: number; virq: number }

function write(w: ByteWriter, e: Entry): void {
  w.u8(e.type).u8(0).u16(e.partner).u32(0).u32(e.label).u64(e.capid).u32(0).u32(e.virq).u64(0).u64(0);
}

export const onVmGetHypResources: RequestHandler = (ctx, p) => {
  const m = p.length === 4 ? decodeVmid(p) : null;
  if (m === null) return reply("MSG_INVALID");
  const vm = ctx.s.rm.vms.byId[m.vmid === 0 ? ctx.caller : m.vmid];
  if (vm === undefined) return reply("VMID_INVALID");
  if (ctx.caller !== vm.owner && ctx.caller !== vm.vmid) return reply("DENIED");
  const entries: Entry[] = [];
  const hv = ctx.s.rm.hv?.vms[vm.vmid];
  if (ctx.caller === vm.owner && hv !== undefined) {
    // The caps the RM granted the owner in its cspace (hv.ts): the proxy-scheduling vCPU caps, the BELL_TX ends.
    for (const id of vm.vcpus.ids) entries.push({ type: RESOURCE_TYPE.VIRTUAL_CPU, partner: vm.vmid, label: id, capid: hv.hostVcpuCaps[id] ?? 0, virq: 0 });
    for (const b of hv.bells) entries.push({ type: RESOURCE_TYPE.DOORBELL_SRC, partner: vm.vmid, label: b.label, capid: b.hostCap, virq: 0 });
  }
  const w = new ByteWriter().u32(entries.length);
  for (const e of entries) write(w, e);
  return reply("OK", w.done());
};

/** Decodes the reply data: {type, label} per entry (what the VMM claims). */
export function decodeHypResources(b: Uint8Array): { type: number; label: number; capid: number }[] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = b.length >= 4 ? v.getUint32(0, true) : 0;
  const out: { type: number; label: number; capid: number }[] = [];
  for (let i = 0; i < n && 4 + (i + 1) * 44 <= b.length; i++) {
    const o = 4 + i * 44;
    out.push({ type: b[o]!, label: v.getUint32(o + 8, true), capid: Number(v.getBigUint64(o + 12, true)) });
  }
  return out;
}
