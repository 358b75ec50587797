/**
 * VM_LOOKUP_NAME / VM_LOOKUP_URI / VM_LOOKUP_GUID (RM:src/vm_mgnt/vm_mgnt.c:1491-1660): every VM
 * the caller may query (itself, its owner, its peers) whose name, URI or GUID matches, in VMID
 * order; the reply is u32 count then one u32 (the VMID) per match. The RM's own vm_t ("RM") and
 * the HLOS's ("HLOS") are VMs too (vm_mgnt.c:448-472). A VM's name and URI come from its DT
 * (`image-name`, `vm-uri`) at VM_INIT and are cleared at its reset; GUIDs are never set in the
 * model (no `vm-guid`), so they are all zero.
 */
import { VMID } from "../abi/rm.ts";
import { ByteWriter } from "./bytes.ts";
import { reply, type RequestHandler, type RmCtx, type RmReply } from "./context.ts";
import { isQueryAllowed } from "./peers.ts";

/** VM_MAX_NAME_LEN / VM_MAX_URI_LEN: 80 bytes with the terminator (reference §6.3). */
const MAX_ID_LEN = 80;
const GUID_BYTES = 16;

interface Ident {
  vmid: number;
  name: string;
  uri: string;
}

function idents(ctx: RmCtx): Ident[] {
  const out: Ident[] = [{ vmid: VMID.HLOS, name: "HLOS", uri: "" }];
  for (const id of [...ctx.s.rm.vms.ids].sort((a, b) => a - b)) {
    const vm = ctx.s.rm.vms.byId[id]!;
    out.push({ vmid: id, name: vm.config?.name ?? "", uri: vm.config?.uri ?? "" });
  }
  out.push({ vmid: VMID.RM, name: "RM", uri: "" });
  return out.sort((a, b) => a.vmid - b.vmid);
}

function answer(ctx: RmCtx, match: (i: Ident) => boolean): RmReply {
  const hits = idents(ctx).filter((i) => isQueryAllowed(ctx.s, i.vmid, ctx.caller) && match(i));
  const w = new ByteWriter().u32(hits.length);
  for (const h of hits) w.u32(h.vmid);
  return reply("OK", w.done());
}

/** {len u16, pad u16, bytes padded to 4 with zeros}: the string, or an error reply. */
function stringArg(p: Uint8Array): string | RmReply {
  if (p.length < 4) return reply("MSG_INVALID");
  const len = p[0]! | (p[1]! << 8);
  if (len > MAX_ID_LEN - 1) return reply("ARGUMENT_INVALID");
  if (Math.ceil(len / 4) * 4 + 4 !== p.length) return reply("MSG_INVALID");
  for (let i = 4 + len; i < p.length; i++) if (p[i] !== 0) return reply("MSG_INVALID");
  return String.fromCharCode(...p.subarray(4, 4 + len));
}

export const onVmLookupName: RequestHandler = (ctx, p) => {
  const name = stringArg(p);
  return typeof name === "string" ? answer(ctx, (i) => i.name === name) : name;
};

export const onVmLookupUri: RequestHandler = (ctx, p) => {
  const uri = stringArg(p);
  return typeof uri === "string" ? answer(ctx, (i) => i.uri === uri) : uri;
};

export const onVmLookupGuid: RequestHandler = (ctx, p) => {
  if (p.length !== GUID_BYTES) return reply("MSG_INVALID");
  const zero = p.every((b) => b === 0);
  return answer(ctx, () => zero);
};
