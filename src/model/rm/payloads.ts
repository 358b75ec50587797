/**
 * RM message payloads: typed forms, encoders (the client side: Linux driver, guest) and decoders
 * (the RM side; never throws, `null` means the RM answers MSG_INVALID). Layouts from reference
 * gunyah-rm-and-host.md §2 and §4.2 (RM:include/memparcel_msg.h, irq_message.h,
 * vm_creation_message.h, vm_mgnt.h).
 */
import { ByteReader, ByteWriter } from "./bytes.ts";
import { MEM_LIST_ENTRIES_MAX } from "../abi/rm.ts";

export interface AclEntry {
  readonly vmid: number;
  readonly rights: number;
}
export interface SglEntry {
  readonly ipa: number;
  readonly size: number;
}
export interface AttrEntry {
  readonly attr: number;
  readonly vmid: number;
}

/**
 * One field of a fixed-size payload, in wire order: its name in the typed form (null: reserved,
 * sent as zero and skipped on receive) and its width in bytes, little-endian unsigned (§1.6).
 */
type Field<T> = readonly [name: (keyof T & string) | null, width: Width];
type Width = 1 | 2 | 4 | 8;

/** The encoder and decoder of a fixed-size payload, both read off its field list. */
interface Fixed<T> {
  readonly encode: (m: T) => Uint8Array;
  /** Null if the payload is short (the RM answers MSG_INVALID); extra bytes are ignored. */
  readonly decode: (b: Uint8Array) => T | null;
}

function fixed<T extends object>(fields: readonly Field<T>[]): Fixed<T> {
  return {
    encode: (m) => {
      const w = new ByteWriter();
      for (const [name, width] of fields) writeField(w, width, name === null ? 0 : (m[name] as number));
      return w.done();
    },
    decode: (b) => {
      const r = new ByteReader(b);
      const m: Record<string, number> = {};
      for (const [name, width] of fields) {
        const v = readField(r, width);
        if (name !== null) m[name] = v;
      }
      return r.short ? null : (m as T);
    },
  };
}

function writeField(w: ByteWriter, width: Width, v: number): void {
  if (width === 1) w.u8(v);
  else if (width === 2) w.u16(v);
  else if (width === 4) w.u32(v);
  else w.u64(v);
}

function readField(r: ByteReader, width: Width): number {
  if (width === 1) return r.u8();
  if (width === 2) return r.u16();
  if (width === 4) return r.u32();
  return r.u64();
}

/** {vmid u16, pad u16}: the body of ALLOCATE, DEALLOCATE, START, RESET, INIT, GET_STATE... */
const VMID_BODY = fixed<{ vmid: number; res0: number }>([["vmid", 2], ["res0", 2]]);
export const encodeVmid = (vmid: number): Uint8Array => VMID_BODY.encode({ vmid, res0: 0 });
export const decodeVmid = VMID_BODY.decode;

export interface VmStopReq {
  readonly vmid: number;
  readonly flags: number;
  readonly stopReason: number;
}
export const { encode: encodeVmStop, decode: decodeVmStop } = fixed<VmStopReq>([["vmid", 2], ["flags", 1], [null, 1], ["stopReason", 4]]);

export interface VmConfigImageReq {
  readonly vmid: number;
  readonly authType: number;
  readonly imageHandle: number;
  readonly imageOffset: number;
  readonly imageSize: number;
  readonly dtOffset: number;
  readonly dtSize: number;
}
export const { encode: encodeVmConfigImage, decode: decodeVmConfigImage } = fixed<VmConfigImageReq>([
  ["vmid", 2], ["authType", 2], ["imageHandle", 4], ["imageOffset", 8], ["imageSize", 8], ["dtOffset", 8], ["dtSize", 8],
]);

/** VM_EXIT from a guest: {exit_flags u16, exit_code u8, res0 u8}. */
export interface VmExitReq {
  readonly exitFlags: number;
  readonly exitCode: number;
  readonly res0: number;
}
export const { encode: encodeVmExit, decode: decodeVmExit } = fixed<VmExitReq>([["exitFlags", 2], ["exitCode", 1], ["res0", 1]]);

/** MEM_LEND / MEM_SHARE / MEM_DONATE. */
export interface MemCreateReq {
  readonly memType: number;
  readonly flags: number;
  readonly label: number;
  readonly acl: readonly AclEntry[];
  readonly sgl: readonly SglEntry[];
  readonly attrs: readonly AttrEntry[];
}
const wAcl = (w: ByteWriter, e: AclEntry): void => void w.u16(e.vmid).u8(e.rights).u8(0);
const wSgl = (w: ByteWriter, e: SglEntry): void => void w.u64(e.ipa).u64(e.size);
const wAttr = (w: ByteWriter, e: AttrEntry): void => void w.u16(e.attr).u16(e.vmid);
const rAcl = (r: ByteReader): AclEntry => {
  const vmid = r.u16();
  const rights = r.u8();
  r.u8();
  return { vmid, rights };
};
const rSgl = (r: ByteReader): SglEntry => ({ ipa: r.u64(), size: r.u64() });
const rAttr = (r: ByteReader): AttrEntry => ({ attr: r.u16(), vmid: r.u16() });

export function encodeMemCreate(m: MemCreateReq): Uint8Array {
  return new ByteWriter().u8(m.memType).u8(0).u8(m.flags).u8(0).u32(m.label).list(m.acl, wAcl).list(m.sgl, wSgl).list(m.attrs, wAttr).done();
}
/** `tooMany` lists become NORESOURCE at the RM (§1.6). */
export function decodeMemCreate(b: Uint8Array): (MemCreateReq & { tooMany: boolean }) | null {
  const r = new ByteReader(b);
  const memType = r.u8();
  r.u8();
  const flags = r.u8();
  r.u8();
  const label = r.u32();
  const acl = r.list(rAcl, MEM_LIST_ENTRIES_MAX);
  const sgl = r.list(rSgl, MEM_LIST_ENTRIES_MAX);
  const attrs = r.list(rAttr, MEM_LIST_ENTRIES_MAX);
  if (r.short) return null;
  return { memType, flags, label, acl: acl.items, sgl: sgl.items, attrs: attrs.items, tooMany: acl.tooMany || sgl.tooMany || attrs.tooMany };
}

/** The head MEM_ACCEPT and the MEM_SHARED notification share: {handle u32, mem_type u8, trans_type u8, flags u8, res u8}. */
interface ParcelHead {
  readonly handle: number;
  readonly memType: number;
  readonly transType: number;
  readonly flags: number;
}
const wParcelHead = (w: ByteWriter, h: ParcelHead): ByteWriter => w.u32(h.handle).u8(h.memType).u8(h.transType).u8(h.flags).u8(0);
function rParcelHead(r: ByteReader): ParcelHead {
  const head = { handle: r.u32(), memType: r.u8(), transType: r.u8(), flags: r.u8() };
  r.u8();
  return head;
}

export interface MemAcceptReq extends ParcelHead {
  readonly label: number;
  readonly acl: readonly AclEntry[];
  /** Empty: the RM chooses the IPAs. */
  readonly sgl: readonly SglEntry[];
  /** Carried in the SGL list's reserved u16; must be 0 (§4.2). */
  readonly mapVmid: number;
  readonly attrs: readonly AttrEntry[];
}
export function encodeMemAccept(m: MemAcceptReq): Uint8Array {
  return wParcelHead(new ByteWriter(), m)
    .u32(m.label)
    .list(m.acl, wAcl).list(m.sgl, wSgl, m.mapVmid).list(m.attrs, wAttr).done();
}
export function decodeMemAccept(b: Uint8Array): MemAcceptReq | null {
  const r = new ByteReader(b);
  const head = rParcelHead(r);
  const label = r.u32();
  const acl = r.list(rAcl, MEM_LIST_ENTRIES_MAX);
  const sgl = r.list(rSgl, MEM_LIST_ENTRIES_MAX);
  const attrs = r.list(rAttr, MEM_LIST_ENTRIES_MAX);
  if (r.short || acl.tooMany || sgl.tooMany || attrs.tooMany) return null;
  return { handle: head.handle, memType: head.memType, transType: head.transType, flags: head.flags, label, acl: acl.items, sgl: sgl.items, mapVmid: sgl.reserved, attrs: attrs.items };
}
/** MEM_ACCEPT reply data when the RM chose the IPAs: {sgl_count u16, flags u8 (bit0 INCOMPLETE), res u8, entries}. */
export const encodeAcceptSgl = (sgl: readonly SglEntry[], flags = 0): Uint8Array => {
  const w = new ByteWriter().u16(sgl.length).u8(flags).u8(0);
  for (const e of sgl) wSgl(w, e);
  return w.done();
};
export function decodeAcceptSgl(b: Uint8Array): SglEntry[] {
  const r = new ByteReader(b);
  const n = r.u16();
  r.u16();
  const out: SglEntry[] = [];
  for (let i = 0; i < n && !r.short && i < MEM_LIST_ENTRIES_MAX; i++) out.push(rSgl(r));
  return out;
}

/** MEM_RELEASE / MEM_RECLAIM: {handle u32, flags u8, res[3]}. */
export interface MemHandleReq {
  readonly handle: number;
  readonly flags: number;
}
export const { encode: encodeMemHandle, decode: decodeMemHandle } = fixed<MemHandleReq>([["handle", 4], ["flags", 1], [null, 1], [null, 2]]);

/** MEM_NOTIFY: {handle, flags u8, res[3], mem_info_tag u32} then, for SHARED/RECALL, a vmid list. */
export interface MemNotifyReq {
  readonly handle: number;
  readonly flags: number;
  readonly memInfoTag: number;
  readonly vmids: readonly number[];
}
export function encodeMemNotify(m: MemNotifyReq): Uint8Array {
  const w = new ByteWriter().u32(m.handle).u8(m.flags).u8(0).u16(0).u32(m.memInfoTag);
  if (m.vmids.length > 0) w.list(m.vmids, (ww, v) => void ww.u16(v).u16(0));
  return w.done();
}
export function decodeMemNotify(b: Uint8Array): MemNotifyReq | null {
  const r = new ByteReader(b);
  const handle = r.u32();
  const flags = r.u8();
  r.bytes(3);
  const memInfoTag = r.u32();
  if (r.short) return null;
  if (r.remaining === 0) return { handle, flags, memInfoTag, vmids: [] };
  const l = r.list((rr) => {
    const v = rr.u16();
    rr.u16();
    return v;
  }, MEM_LIST_ENTRIES_MAX);
  return r.short || l.tooMany ? null : { handle, flags, memInfoTag, vmids: l.items };
}

/** VM_IRQ_LEND {borrower u16, pad, virq u32, label u32}. */
export interface IrqLendReq {
  readonly borrower: number;
  readonly virq: number;
  readonly label: number;
}
export const { encode: encodeIrqLend, decode: decodeIrqLend } = fixed<IrqLendReq>([["borrower", 2], [null, 2], ["virq", 4], ["label", 4]]);
/** Two u32 words: VM_IRQ_ACCEPT {handle, virq}, VM_IRQ_NOTIFY {handle, flags}; one for RELEASE/RECLAIM. */
export const encodeU32s = (...words: number[]): Uint8Array => {
  const w = new ByteWriter();
  for (const x of words) w.u32(x);
  return w.done();
};
export function decodeU32s(b: Uint8Array, n: number): number[] | null {
  const r = new ByteReader(b);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(r.u32());
  return r.short ? null : out;
}

// ---- notifications (RM -> client) ----

/** NOTIFY_VM_EXITED {vmid u16, exit_type u16, exit_reason_size u32, reason words} (§3.4). */
export interface VmExitedNotif {
  readonly vmid: number;
  readonly exitType: number;
  readonly reason: readonly number[];
}
export function encodeVmExited(n: VmExitedNotif): Uint8Array {
  const w = new ByteWriter().u16(n.vmid).u16(n.exitType).u32(n.reason.length * 4);
  for (const x of n.reason) w.u32(x);
  return w.done();
}
export function decodeVmExited(b: Uint8Array): VmExitedNotif | null {
  const r = new ByteReader(b);
  const vmid = r.u16();
  const exitType = r.u16();
  const size = r.u32();
  const reason: number[] = [];
  for (let i = 0; i < size / 4 && i < 16; i++) reason.push(r.u32());
  return r.short ? null : { vmid, exitType, reason };
}
/** Word 0 of exit_reason: exit_flags in 15:0, exit_code in 31:16. */
export const exitReasonWord0 = (exitFlags: number, exitCode: number): number => ((exitCode << 16) | (exitFlags & 0xffff)) >>> 0;

/** NOTIFY_VM_STATUS {vmid u16, res u16, vm_status u8, os_status u8, app_status u16}. */
export interface VmStatusNotif {
  readonly vmid: number;
  readonly vmStatus: number;
  readonly osStatus: number;
  readonly appStatus: number;
}
export const { encode: encodeVmStatus, decode: decodeVmStatus } = fixed<VmStatusNotif>([
  ["vmid", 2], [null, 2], ["vmStatus", 1], ["osStatus", 1], ["appStatus", 2],
]);

/** MEM_SHARED to borrowers: header, ACL, sizes only (no addresses), attrs (§4.2). */
export interface MemSharedNotif extends ParcelHead {
  readonly owner: number;
  readonly label: number;
  readonly memInfoTag: number;
  readonly acl: readonly AclEntry[];
  readonly sizes: readonly number[];
  readonly attrs: readonly AttrEntry[];
}
export function encodeMemShared(n: MemSharedNotif): Uint8Array {
  return wParcelHead(new ByteWriter(), n)
    .u16(n.owner).u16(0).u32(n.label).u32(n.memInfoTag)
    .list(n.acl, wAcl).list(n.sizes, (w, s) => void w.u64(s)).list(n.attrs, wAttr).done();
}
export function decodeMemShared(b: Uint8Array): MemSharedNotif | null {
  const r = new ByteReader(b);
  const head = rParcelHead(r);
  const owner = r.u16();
  r.u16();
  const label = r.u32();
  const memInfoTag = r.u32();
  const acl = r.list(rAcl, MEM_LIST_ENTRIES_MAX).items;
  const sizes = r.list((rr) => rr.u64(), MEM_LIST_ENTRIES_MAX).items;
  const attrs = r.list(rAttr, MEM_LIST_ENTRIES_MAX).items;
  return r.short ? null : { handle: head.handle, memType: head.memType, transType: head.transType, flags: head.flags, owner, label, memInfoTag, acl, sizes, attrs };
}
/** MEM_ACCEPTED / MEM_RELEASED to the owner: {handle u32, vmid u16, res[2], mem_info_tag u32}. */
export interface MemOwnerNotif {
  readonly handle: number;
  readonly vmid: number;
  readonly memInfoTag: number;
}
export const { encode: encodeMemOwnerNotif, decode: decodeMemOwnerNotif } = fixed<MemOwnerNotif>([
  ["handle", 4], ["vmid", 2], [null, 2], ["memInfoTag", 4],
]);
/** NOTIFY_VM_IRQ_LENT {owner u16, pad, handle u32, label u32}. */
const IRQ_LENT = fixed<{ owner: number; handle: number; label: number }>([["owner", 2], [null, 2], ["handle", 4], ["label", 4]]);
export const encodeIrqLent = (owner: number, handle: number, label: number): Uint8Array => IRQ_LENT.encode({ owner, handle, label });

/** MEM_APPEND {handle u32, flags u8 (DONE), res[3]} then an SGL list (RM:include/memparcel_msg.h). */
export function encodeMemAppend(m: { handle: number; flags: number; sgl: readonly SglEntry[] }): Uint8Array {
  return new ByteWriter().u32(m.handle).u8(m.flags).u8(0).u16(0).list(m.sgl, wSgl).done();
}
