/**
 * VM_LOOKUP_NAME / VM_LOOKUP_URI / VM_LOOKUP_GUID (RM:src/vm_mgnt/vm_mgnt.c:1491-1660): every VM
 * the caller may query (itself, its owner, its peers) whose name, URI or GUID matches, in VMID
 * order; the reply is u32 count then one u32 (the VMID) per match. The RM's own vm_t ("RM") and
 * the HLOS's ("HLOS") are VMs too (vm_mgnt.c:417-437). A VM's name and URI come from its DT
 * (`image-name`, `vm-uri`) at VM_INIT and are cleared at its reset (vm_creation.c:338-345);
 * GUIDs are never set in the model (no `vm-guid`), so they are all zero.
 *
 * VM_GET_ID (vm_mgnt.c:1150-1236) answers the other way round: a VM's identities.
 */
import { VMID } from "../abi/rm.ts";
import { ByteWriter } from "./bytes.ts";
import { reply, type RequestHandler, type RmCtx, type RmReply } from "./context.ts";
import { isQueryAllowed } from "./peers.ts";
import { stateWord } from "./lifecycle.ts";
import { VM_STATUS } from "../abi/rm.ts";

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

/** VM_ID_TYPE_* (RM:include/rm_types.h:55-60). */
const ID_TYPE = { GUID: 0, URI: 1, NAME: 2, SIGN_AUTH: 3 } as const;
/** platform_get_sign_authority_string for VM_SIGN_INIT, the signer no open-RM path changes (RM:platform/qemu/src/vm_client.c:34-41). */
const SIGN_AUTHORITY = "N/A";

/**
 * VM_GET_ID {vmid u16, res u16} (0: the caller): the VM must exist (NORESOURCE), be READY,
 * RUNNING or PAUSED (VM_STATE), and be queryable by the caller (NORESOURCE, not DENIED). Reply:
 * u32 count, then entries {type u8, pad u8, size u16, bytes padded to 4}: the GUID, the name and
 * the URI when set, the signing authority.
 */
export const onVmGetId: RequestHandler = (ctx, p) => {
  if (p.length !== 4) return reply("MSG_INVALID");
  const vmid = (p[0]! | (p[1]! << 8)) || ctx.caller;
  const word = stateWord(ctx, vmid);
  const ident = idents(ctx).find((i) => i.vmid === vmid);
  if (word === null || ident === undefined) return reply("NORESOURCE");
  const st = word & 0xff;
  if (st !== VM_STATUS.READY && st !== VM_STATUS.RUNNING && st !== VM_STATUS.PAUSED) return reply("VM_STATE");
  if (!isQueryAllowed(ctx.s, vmid, ctx.caller)) return reply("NORESOURCE");
  const entries: [number, Uint8Array][] = [[ID_TYPE.GUID, new Uint8Array(GUID_BYTES)]];
  const text = (x: string) => Uint8Array.from(x, (c) => c.charCodeAt(0));
  if (ident.name !== "") entries.push([ID_TYPE.NAME, text(ident.name)]);
  if (ident.uri !== "") entries.push([ID_TYPE.URI, text(ident.uri)]);
  entries.push([ID_TYPE.SIGN_AUTH, text(SIGN_AUTHORITY)]);
  const w = new ByteWriter().u32(entries.length);
  for (const [type, bytes] of entries) {
    w.u8(type).u8(0).u16(bytes.length);
    for (const b of bytes) w.u8(b);
    w.align4();
  }
  return reply("OK", w.done());
};
