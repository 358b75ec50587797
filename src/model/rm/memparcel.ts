/**
 * Memory parcels: LEND, SHARE, DONATE, APPEND, ACCEPT, RELEASE, RECLAIM, NOTIFY, and the accepts the
 * RM makes itself (at VM_START, and for a READY VM named by MEM_NOTIFY SHARED). Rules and check
 * order from RM:src/memparcel/memparcel.c (reference §4.3): a lend or donate takes the owner's
 * access away at create; a share keeps it; a borrower reaches the pages only between its DONE
 * accept and its release; reclaim needs every borrower to have released, and zeroes the pages first
 * only when an accept, release or the reclaim itself asked for it (sanitize_reclaim).
 */
import { MEM_ACCEPT_FLAG, MEM_APPEND_FLAG, MEM_ATTR, MEM_CREATE_FLAG, MEM_LIST_ENTRIES_MAX, MEM_NOTIFY_FLAG, MEM_RECLAIM_FLAG, MEM_RELEASE_FLAG, MEM_RIGHTS, MEM_TYPE, MEMPARCELS_PER_OWNER_MAX, TRANS_TYPE, VMID, AUTH_TYPE, type RmError, type TransType } from "../abi/rm.ts";
import { ByteReader, ByteWriter } from "./bytes.ts";
import { notify, reply, type RequestHandler, type RmCtx, type RmReply } from "./context.ts";
import * as P from "./payloads.ts";
import { defectOn } from "../faults.ts";
import { addId, dropId, type Parcel, type ParcelBorrower, type RmVm, type VmConfig } from "./state.ts";
import { PAGE, physPieces, zeroRange } from "./content.ts";
import { createParcelExtent, donateIntoParcel, mapRegions, ownerExtent, returnAndDestroy, unmapVm } from "./hv.ts";
import { ipaAllocAny, ipaFree, ipaTake } from "./ipa.ts";
import { objectAs } from "../object/objects.ts";
import type { Machine } from "../machine.ts";
import type { MemextentObject } from "../memory/state.ts";

const TRANS_NAME: Record<number, TransType> = { [TRANS_TYPE.DONATE]: "DONATE", [TRANS_TYPE.LEND]: "LEND", [TRANS_TYPE.SHARE]: "SHARE" };
const VALID_RIGHTS = new Set<number>([MEM_RIGHTS.R, MEM_RIGHTS.RX, MEM_RIGHTS.RW, MEM_RIGHTS.RWX]);
const VALID_ATTRS = new Set<number>([MEM_ATTR.NORMAL, MEM_ATTR.DEVICE, MEM_ATTR.UNCACHED, MEM_ATTR.CACHED]);
/** ADDR_LIMIT: addresses and sizes are page-aligned and below the 36-bit address limit (memparcel.c:219-223). */
const ADDR_LIMIT = 2 ** 36;
const addrValid = (a: number): boolean => a >= 0 && a < ADDR_LIMIT && a % PAGE === 0;

export const parcelSize = (p: Parcel): number => {
  let n = 0;
  for (const r of p.regions) n += r.size;
  return n;
};

/** memparcel_lookup_by_target_vmid: the parcel with this handle whose ACL names `vmid`. */
export function parcelForTarget(s: Machine, vmid: number, handle: number): Parcel | undefined {
  const p = s.rm.parcels.byId[handle];
  return p !== undefined && p.acl.some((e) => e.vmid === vmid) ? p : undefined;
}

/** A VMID the RM knows: HLOS, RM, a static secondary (< 64) or an allocated VM (vmid_valid, memparcel.c:191-197). */
function knownVmid(ctx: RmCtx, vmid: number): boolean {
  return vmid === VMID.HLOS || vmid === VMID.RM || (vmid > 0 && vmid < 64) || ctx.s.rm.vms.byId[vmid] !== undefined;
}

/** memparcel_construct's checks, in its order (memparcel.c:571-782). */
function checkCreate(ctx: RmCtx, trans: TransType, m: P.MemCreateReq): RmError | null {
  if (m.acl.length === 0 || m.sgl.length === 0) return "ARGUMENT_INVALID";
  if (trans === "DONATE" && m.acl.length > 1) return "ARGUMENT_INVALID";
  let owned = 0;
  for (const h of ctx.s.rm.parcels.ids) if (ctx.s.rm.parcels.byId[h]!.owner === ctx.caller) owned++;
  if (owned >= MEMPARCELS_PER_OWNER_MAX) return "DENIED"; // "Reached memparcel limit" (:587-591)
  if (m.memType !== MEM_TYPE.NORMAL && m.memType !== MEM_TYPE.IO) return "ARGUMENT_INVALID";
  const io = m.memType === MEM_TYPE.IO;
  if ((m.flags & MEM_CREATE_FLAG.SANITIZE) !== 0 && io) return "ARGUMENT_INVALID";
  const full = io ? MEM_RIGHTS.RW : MEM_RIGHTS.RWX;
  for (let i = 0; i < m.acl.length; i++) {
    const e = m.acl[i]!;
    for (let j = 0; j < i; j++) if (m.acl[j]!.vmid === e.vmid) return "ARGUMENT_INVALID";
    if (!knownVmid(ctx, e.vmid) || !VALID_RIGHTS.has(e.rights)) return "ARGUMENT_INVALID";
    if (io && (e.rights & MEM_RIGHTS.X) !== 0) return "ARGUMENT_INVALID";
    if (trans === "DONATE" && e.rights !== full) return "DENIED"; // "we must give the other VM full rights" (:705-709)
  }
  const ownerListed = m.acl.some((e) => e.vmid === ctx.caller);
  if ((trans === "SHARE") !== ownerListed) return "ARGUMENT_INVALID";
  const defaultAttr = io ? MEM_ATTR.DEVICE : MEM_ATTR.NORMAL;
  for (let i = 0; i < m.attrs.length; i++) {
    const a = m.attrs[i]!;
    for (let j = 0; j < i; j++) if (m.attrs[j]!.vmid === a.vmid) return "ARGUMENT_INVALID";
    if (!VALID_ATTRS.has(a.attr) || io !== (a.attr === MEM_ATTR.DEVICE)) return "ARGUMENT_INVALID";
    if (trans === "DONATE" && a.attr !== defaultAttr) return "ARGUMENT_INVALID";
    if (!m.acl.some((e) => e.vmid === a.vmid)) return "VMID_INVALID";
  }
  return null;
}

/**
 * add_sgl_to_mp (memparcel.c:420-554): each SGL entry is the owner's IPA range, translated through
 * its stage-2 and donated into the parcel's extent (a share first maps the owner back through the
 * parcel with its ACL rights); every page must belong to one extent of the owner (MEM_INVALID).
 * Pages are zeroed as they join when the parcel was created with SANITIZE. With `done` the parcel
 * is complete (SHARING). On error the entries of this call are undone.
 */
function addSgl(ctx: RmCtx, parcel: Parcel, source: MemextentObject | null, sgl: readonly P.SglEntry[], done: boolean): RmError | null {
  const regions: Parcel["regions"] = [];
  let src = source;
  for (const e of sgl) {
    if (!addrValid(e.ipa) || !addrValid(e.size) || e.size === 0) return "ARGUMENT_INVALID";
    const pieces = physPieces(ctx.s, parcel.owner, e.ipa, e.size);
    if (pieces === null) return "MEM_INVALID";
    let ipa = e.ipa;
    for (const piece of pieces) {
      const ext = ownerExtent(ctx.s, parcel.owner, piece.pa, piece.size);
      if (ext === null || (src !== null && ext.id !== src.id)) return "MEM_INVALID";
      src = ext;
      regions.push({ pa: piece.pa, size: piece.size, ownerIpa: ipa });
      ipa += piece.size;
    }
  }
  for (let i = 0; i < regions.length; i++) for (let j = 0; j < i; j++) {
    const r = regions[i]!;
    const q = regions[j]!;
    if (q.pa < r.pa + r.size && r.pa < q.pa + q.size) return "MEM_INVALID"; // the second donation finds the pages gone
  }
  if (parcel.memextent === 0) parcel.memextent = createParcelExtent(ctx.s, src!).id;
  parcel.source = src!.id;
  const me = objectAs(ctx.s, parcel.memextent, "memextent")!;
  donateIntoParcel(ctx.s, src!, me, regions);
  if (parcel.transType === "SHARE") {
    const own = parcel.acl.find((e) => e.vmid === parcel.owner)!;
    mapRegions(ctx.s, me, parcel.owner, regions, regions.map((r) => r.ownerIpa), own.rights, memtypeOf(attrFor(parcel, parcel.owner)));
  }
  // defect host-s2-kept-after-lend (src/model/faults.ts): the owner keeps its mapping of lent/donated memory.
  else if (parcel.transType === "LEND" && defectOn(ctx.s, "host-s2-kept-after-lend")) mapRegions(ctx.s, me, parcel.owner, regions, regions.map((r) => r.ownerIpa), MEM_RIGHTS.RWX, memtypeOf(MEM_ATTR.NORMAL));
  if (parcel.sanitized) for (const r of regions) zeroRange(ctx.s, r.pa, r.size);
  for (const r of regions) parcel.regions.push(r);
  if (done) parcel.state = "SHARING";
  return null;
}

const attrFor = (p: Parcel, vmid: number): number => p.attrs.find((a) => a.vmid === vmid)?.attr ?? (p.memType === MEM_TYPE.IO ? MEM_ATTR.DEVICE : MEM_ATTR.NORMAL);
/** mem_attr_to_map_memtype (memparcel.c:270-289): DEVICE nGnRE, UNCACHED Normal-NC, others Normal-WB. */
const memtypeOf = (attr: number): number => (attr === MEM_ATTR.DEVICE ? 1 : attr === MEM_ATTR.UNCACHED ? 5 : 15);

/**
 * MEM_LEND / MEM_SHARE / MEM_DONATE (memparcel_create, memparcel.c:828-899): the owner names its
 * IPAs. With flag APPEND the parcel stays INIT until MEM_APPEND completes its SGL.
 */
export function makeOnMemCreate(trans: TransType): RequestHandler {
  return (ctx, p) => {
    const m = P.decodeMemCreate(p);
    if (m === null) return reply("MSG_INVALID");
    if (m.tooMany) return reply("NORESOURCE");
    const bad = checkCreate(ctx, trans, m);
    if (bad !== null) return reply(bad);
    const handle = allocHandle(ctx);
    const parcel: Parcel = {
      handle, owner: ctx.caller, transType: trans, memType: m.memType, label: m.label, memInfoTag: 0, memInfoTagSet: false,
      sanitized: (m.flags & MEM_CREATE_FLAG.SANITIZE) !== 0, sanitizeOnReclaim: false, locked: false, state: "INIT", memextent: 0, source: 0,
      acl: m.acl.map((e) => ({ vmid: e.vmid, rights: e.rights })), attrs: m.attrs.map((a) => ({ attr: a.attr, vmid: a.vmid })), sgl: m.sgl.map((e) => ({ ipa: e.ipa, size: e.size })), regions: [],
      borrowers: [],
    };
    parcel.borrowers = parcel.acl.filter((e) => e.vmid !== ctx.caller).map((e) => newBorrower(parcel, e.vmid, e.rights));
    const e = addSgl(ctx, parcel, null, m.sgl, (m.flags & MEM_CREATE_FLAG.APPEND) === 0);
    if (e !== null) return reply(e);
    addId(ctx.s.rm.parcels, handle, parcel);
    return reply("OK", new ByteWriter().u32(handle).done());
  };
}

const newBorrower = (p: Parcel, vmid: number, rights: number): ParcelBorrower => ({ vmid, rights, attr: attrFor(p, vmid), accepted: false, mapped: false, contiguous: false, alloc: [], ipas: [] });

/**
 * MEM_APPEND {handle u32, flags u8 (DONE), res[3]} + SGL list (memparcel.c:901-980): more of the
 * owner's memory for a parcel created with APPEND; owner only (DENIED), INIT only (DENIED); the
 * Linux driver sends the entries beyond its first 512 this way, DONE on the last chunk.
 */
export const onMemAppend: RequestHandler = (ctx, p) => {
  const r = new ByteReader(p);
  const handle = r.u32();
  const flags = r.u8();
  r.bytes(3);
  const sgl = r.list((rr) => ({ ipa: rr.u64(), size: rr.u64() }), MEM_LIST_ENTRIES_MAX);
  if (r.short || r.remaining !== 0) return reply("MSG_INVALID");
  if (sgl.tooMany) return reply("NORESOURCE");
  if (sgl.items.length === 0) return reply("ARGUMENT_INVALID");
  const parcel = ctx.s.rm.parcels.byId[handle];
  if (parcel === undefined) return reply("HANDLE_INVALID");
  if (ctx.caller !== parcel.owner || parcel.state !== "INIT") return reply("DENIED");
  const source = objectAs(ctx.s, parcel.source, "memextent") ?? null;
  const e = addSgl(ctx, parcel, source, sgl.items, (flags & MEM_APPEND_FLAG.DONE) !== 0);
  return reply(e ?? "OK");
};

/** Handles count up from 1, skipping ones in use and the invalid 0xFFFFFFFF (allocate_handle, memparcel.c:321-334). */
function allocHandle(ctx: RmCtx): number {
  const rm = ctx.s.rm;
  let h = rm.nextParcelHandle;
  while (rm.parcels.byId[h] !== undefined || h === 0xffffffff || h === 0) h = (h + 1) >>> 0;
  rm.nextParcelHandle = (h + 1) >>> 0;
  return h;
}

const extentOf = (ctx: RmCtx, parcel: Parcel): MemextentObject => objectAs(ctx.s, parcel.memextent, "memextent")!;

/** The accept request as memparcel_do_accept takes it. */
export type AcceptReq = Pick<P.MemAcceptReq, "handle" | "memType" | "transType" | "flags" | "label" | "acl" | "sgl" | "mapVmid" | "attrs">;
export interface AcceptResult {
  readonly err: RmError;
  /** The IPAs chosen when the request named none (the reply's SGL), and whether more remain. */
  readonly chosen?: readonly P.SglEntry[];
  readonly incomplete?: boolean;
}

/** The HLOS maps normal memory directly, IPA = PA (is_mapped_direct, RM:platform/qemu/src/vm_memory.c:57-77). */
const mappedDirect = (vmid: number, memType: number): boolean => vmid === VMID.HLOS || memType === MEM_TYPE.IO;

/** One IPA range for a borrower (alloc_as_range): fixed (`at`) or chosen; null is NORESOURCE. */
function allocIpa(ctx: RmCtx, vmid: number, memType: number, at: number | null, pa: number | null, size: number): number | null {
  if (mappedDirect(vmid, memType)) return pa !== null && (at === null || at === pa) ? pa : null;
  const vm = ctx.s.rm.vms.byId[vmid];
  if (vm === undefined) return at; // a VM the RM has no allocator for (a static secondary): as given
  if (at !== null) return ipaTake(vm, at, size) ? at : null;
  return ipaAllocAny(vm, size);
}
function freeIpa(ctx: RmCtx, vmid: number, memType: number, base: number, size: number): void {
  if (mappedDirect(vmid, memType)) return;
  const vm = ctx.s.rm.vms.byId[vmid];
  if (vm !== undefined) ipaFree(vm, base, size);
}

/**
 * memparcel_do_accept (memparcel.c:1235-1678), in its order: the parcel (HANDLE_INVALID); its mem
 * and transaction types (ARGUMENT_INVALID); VALIDATE_SANITIZED, VALIDATE_LABEL, VALIDATE_ACL_ATTR
 * (VALIDATE_FAILED); MAP_OTHER (DENIED) and map_vmid (ARGUMENT_INVALID); the caller in the ACL
 * (VMID_INVALID); owner or already mapped (DENIED); MAP_CONTIGUOUS (NORMAL only); SANITIZE (W rights,
 * not IO; marks the parcel at once). Up to 512 IPAs are allocated per call (RM-chosen when the SGL is
 * empty, INCOMPLETE if more remain; else the SGL's, sizes matching); the call with DONE maps them all
 * (every IPA must be allocated: ARGUMENT_INVALID). The first accept makes the borrower `accepted`
 * and the parcel SHARED, DONE or not. An accepted donation makes the memory the borrower's own and
 * deletes the parcel.
 */
export function doAccept(ctx: RmCtx, vmid: number, m: AcceptReq): AcceptResult {
  const checked = acceptable(ctx, vmid, m);
  if ("err" in checked) return checked;
  const { parcel, b, contiguous } = checked;
  const f = m.flags;
  const useContig = b.alloc.length > 0 ? b.contiguous : contiguous;
  const mappings = useContig ? 1 : parcel.regions.length;
  let n = Math.min(mappings - b.alloc.length, MEM_LIST_ENTRIES_MAX);
  const incomplete = m.sgl.length === 0 && b.alloc.length + n < mappings;
  if (m.sgl.length !== 0) {
    if (m.sgl.length > n) return { err: "ARGUMENT_INVALID" };
    n = m.sgl.length;
  }
  const total = parcelSize(parcel);
  const fresh: number[] = [];
  const undo = (err: RmError): AcceptResult => {
    for (let i = 0; i < fresh.length; i++) freeIpa(ctx, vmid, parcel.memType, fresh[i]!, useContig ? total : parcel.regions[b.alloc.length + i]!.size);
    return { err };
  };
  if (n > 0 && useContig) {
    if (m.sgl.length === 1 && (!addrValid(m.sgl[0]!.ipa) || m.sgl[0]!.size !== total)) return { err: "ARGUMENT_INVALID" };
    const at = allocIpa(ctx, vmid, parcel.memType, m.sgl.length === 1 ? m.sgl[0]!.ipa : null, null, total);
    if (at === null) return { err: "NORESOURCE" };
    fresh.push(at);
  } else {
    for (let j = 0; j < n; j++) {
      const r = parcel.regions[b.alloc.length + j]!;
      const want = m.sgl[j];
      if (want !== undefined && (!addrValid(want.ipa) || want.size !== r.size)) return undo("ARGUMENT_INVALID");
      const at = allocIpa(ctx, vmid, parcel.memType, want?.ipa ?? null, r.pa, r.size);
      if (at === null) return undo("NORESOURCE");
      fresh.push(at);
    }
  }
  const chosen: P.SglEntry[] | undefined = m.sgl.length !== 0 ? undefined : fresh.map((ipa, i) => ({ ipa, size: useContig ? total : parcel.regions[b.alloc.length + i]!.size }));
  if ((f & MEM_ACCEPT_FLAG.DONE) !== 0) {
    if (b.alloc.length + fresh.length !== mappings) return undo("ARGUMENT_INVALID");
    const all = [...b.alloc, ...fresh];
    let at = all[0] ?? 0;
    const ipas = useContig ? parcel.regions.map((r) => ((at += r.size), at - r.size)) : all;
    if (parcel.transType === "DONATE") {
      if (!acceptDonated(ctx, parcel, vmid, ipas)) return undo("MAP_FAILED");
      return { err: "OK", ...(chosen === undefined ? {} : { chosen, incomplete }) };
    }
    if (!mapRegions(ctx.s, extentOf(ctx, parcel), vmid, parcel.regions, ipas, b.rights, memtypeOf(b.attr))) {
      unmapVm(ctx.s, extentOf(ctx, parcel), vmid);
      return undo("MAP_FAILED");
    }
    b.mapped = true;
    b.ipas = ipas;
  }
  b.alloc.push(...fresh);
  b.contiguous = useContig;
  if (!b.accepted) {
    b.accepted = true;
    parcel.state = "SHARED";
    ctx.s.rm.vms.byId[vmid]?.accepted.push(parcel.handle);
  }
  return { err: "OK", ...(chosen === undefined ? {} : { chosen, incomplete }) };
}

/** The request's checks, in the RM's order (see doAccept), and SANITIZE marked on the parcel once they pass. */
function acceptable(ctx: RmCtx, vmid: number, m: AcceptReq): { err: RmError } | { parcel: Parcel; b: ParcelBorrower; contiguous: boolean } {
  const parcel = ctx.s.rm.parcels.byId[m.handle];
  if (parcel === undefined) return { err: "HANDLE_INVALID" };
  if (m.memType !== parcel.memType || TRANS_NAME[m.transType] !== parcel.transType) return { err: "ARGUMENT_INVALID" };
  const f = m.flags;
  if ((f & MEM_ACCEPT_FLAG.VALIDATE_SANITIZED) !== 0 && !parcel.sanitized) return { err: "VALIDATE_FAILED" };
  if ((f & MEM_ACCEPT_FLAG.VALIDATE_LABEL) !== 0 && m.label !== parcel.label) return { err: "VALIDATE_FAILED" };
  if ((f & MEM_ACCEPT_FLAG.VALIDATE_ACL_ATTR) !== 0 && !sameLists(parcel, m)) return { err: "VALIDATE_FAILED" };
  if ((f & MEM_ACCEPT_FLAG.MAP_OTHER) !== 0) return { err: "DENIED" };
  if (m.mapVmid !== 0) return { err: "ARGUMENT_INVALID" };
  const b = parcel.borrowers.find((x) => x.vmid === vmid);
  // Not in the ACL: VMID_INVALID; the owner (in a share's ACL) or an already mapped borrower: DENIED (:1327-1337).
  if (b === undefined) return { err: parcel.acl.some((e) => e.vmid === vmid) ? "DENIED" : "VMID_INVALID" };
  if (b.mapped) return { err: "DENIED" };
  const contiguous = (f & MEM_ACCEPT_FLAG.MAP_CONTIGUOUS) !== 0;
  if (contiguous && (parcel.memType !== MEM_TYPE.NORMAL || (b.alloc.length > 0 && !b.contiguous))) return { err: "ARGUMENT_INVALID" };
  if ((f & MEM_ACCEPT_FLAG.SANITIZE) !== 0) {
    if (parcel.memType === MEM_TYPE.IO || (b.rights & MEM_RIGHTS.W) === 0) return { err: "ARGUMENT_INVALID" };
    parcel.sanitizeOnReclaim = true;
  }
  return { parcel, b, contiguous };
}

/**
 * Donate accepted: the parcel's extent becomes the borrower's own memory, mapped RWX at the IPAs;
 * the parcel is deleted (§4.3). Exported for the RM accepting a donation to itself (pvmfw, §6.2).
 */
export function acceptDonated(ctx: RmCtx, parcel: Parcel, vmid: number, ipas: number[]): boolean {
  const me = extentOf(ctx, parcel);
  if (!mapRegions(ctx.s, me, vmid, parcel.regions, ipas, MEM_RIGHTS.RWX, memtypeOf(MEM_ATTR.NORMAL))) {
    unmapVm(ctx.s, me, vmid);
    return false;
  }
  ctx.s.rm.hv!.vms[vmid]?.extents.push(me.id);
  dropId(ctx.s.rm.parcels, parcel.handle);
  return true;
}

/** VALIDATE_ACL_ATTR: the same ACL and attr lists, in order (memparcel.c:1279-1309). */
function sameLists(parcel: Parcel, m: AcceptReq): boolean {
  if (m.acl.length !== parcel.acl.length || m.attrs.length !== parcel.attrs.length) return false;
  for (let i = 0; i < m.acl.length; i++) if (m.acl[i]!.vmid !== parcel.acl[i]!.vmid || m.acl[i]!.rights !== parcel.acl[i]!.rights) return false;
  for (let i = 0; i < m.attrs.length; i++) if (m.attrs[i]!.attr !== parcel.attrs[i]!.attr || m.attrs[i]!.vmid !== parcel.attrs[i]!.vmid) return false;
  return true;
}

/** MEM_ACCEPT by a borrower; with an empty SGL the reply lists the IPAs chosen {count u16, flags u8 (INCOMPLETE), res u8, entries}. */
export const onMemAccept: RequestHandler = (ctx, p) => {
  const m = P.decodeMemAccept(p);
  if (m === null) return reply("MSG_INVALID");
  const r = doAccept(ctx, ctx.caller, m);
  if (r.err !== "OK" || r.chosen === undefined) return reply(r.err);
  return reply("OK", P.encodeAcceptSgl(r.chosen, r.incomplete === true ? 1 : 0));
};

/** A borrower lets go: unmapped if mapped, its IPAs freed, no longer accepted (memparcel.c:1737-1814). */
function releaseBorrower(ctx: RmCtx, parcel: Parcel, b: ParcelBorrower): void {
  if (b.mapped) unmapVm(ctx.s, extentOf(ctx, parcel), b.vmid);
  const total = parcelSize(parcel);
  for (let i = 0; i < b.alloc.length; i++) freeIpa(ctx, b.vmid, parcel.memType, b.alloc[i]!, b.contiguous ? total : parcel.regions[i]!.size);
  Object.assign(b, { accepted: false, mapped: false, contiguous: false, alloc: [], ipas: [] });
  if (!parcel.borrowers.some((x) => x.accepted)) parcel.state = "SHARING";
  const vm = ctx.s.rm.vms.byId[b.vmid];
  if (vm !== undefined) {
    const k = vm.accepted.indexOf(parcel.handle);
    if (k >= 0) vm.accepted.splice(k, 1);
  }
}

/**
 * memparcel_do_release (memparcel.c:1680-1816): a locked parcel DENIED; a VM not in the ACL
 * HANDLE_INVALID; the owner DENIED; one that has not accepted it MEM_RELEASED; SANITIZE needs W
 * rights and normal memory (ARGUMENT_INVALID) and marks the parcel for sanitising at reclaim.
 */
export function doRelease(ctx: RmCtx, vmid: number, handle: number, flags: number): RmError {
  const parcel = ctx.s.rm.parcels.byId[handle];
  if (parcel === undefined) return "HANDLE_INVALID";
  if (parcel.locked) return "DENIED";
  const inAcl = parcel.acl.some((e) => e.vmid === vmid);
  if (!inAcl) return "HANDLE_INVALID";
  if (vmid === parcel.owner) return "DENIED";
  const b = parcel.borrowers.find((x) => x.vmid === vmid)!;
  if (!b.accepted) return "MEM_RELEASED";
  if ((flags & MEM_RELEASE_FLAG.SANITIZE) !== 0) {
    if (parcel.memType === MEM_TYPE.IO || (b.rights & MEM_RIGHTS.W) === 0) return "ARGUMENT_INVALID";
    parcel.sanitizeOnReclaim = true;
  }
  releaseBorrower(ctx, parcel, b);
  return "OK";
}

export const onMemRelease: RequestHandler = (ctx, p) => {
  const m = p.length >= 8 ? P.decodeMemHandle(p) : null;
  if (m === null) return reply("MSG_INVALID");
  return reply(doRelease(ctx, ctx.caller, m.handle, m.flags));
};

/**
 * MEM_RECLAIM by the owner (memparcel_do_reclaim, memparcel.c:1840-1889): non-owner DENIED; still
 * accepted by someone MEM_INUSE; locked DENIED; SANITIZE of IO memory ARGUMENT_INVALID, otherwise it
 * marks the parcel. The pages go back to the owner's extent, zeroed first if marked.
 */
export const onMemReclaim: RequestHandler = (ctx, p) => {
  const m = p.length >= 8 ? P.decodeMemHandle(p) : null;
  if (m === null) return reply("MSG_INVALID");
  const parcel = ctx.s.rm.parcels.byId[m.handle];
  if (parcel === undefined) return reply("HANDLE_INVALID");
  if (ctx.caller !== parcel.owner) return reply("DENIED");
  if (parcel.state === "SHARED") return reply("MEM_INUSE");
  if (parcel.locked) return reply("DENIED");
  if ((m.flags & MEM_RECLAIM_FLAG.SANITIZE) !== 0) {
    if (parcel.memType === MEM_TYPE.IO) return reply("ARGUMENT_INVALID");
    parcel.sanitizeOnReclaim = true;
  }
  // defect reclaim-without-sanitise (src/model/faults.ts): the zeroing is skipped.
  if (parcel.sanitizeOnReclaim && !defectOn(ctx.s, "reclaim-without-sanitise")) for (const r of parcel.regions) zeroRange(ctx.s, r.pa, r.size);
  if (parcel.memextent !== 0) returnAndDestroy(ctx.s, extentOf(ctx, parcel), objectAs(ctx.s, parcel.source, "memextent")!);
  dropId(ctx.s.rm.parcels, parcel.handle);
  return reply("OK");
};

/**
 * MEM_NOTIFY (memparcel.c:2138-2185): a tag that differs from the one set is ARGUMENT_INVALID;
 * exactly one flag. SHARED/RECALL by the owner to a list of ACL VMs; RELEASED/ACCEPTED by a
 * borrower about itself, forwarded to the owner when they match its state.
 */
export const onMemNotify: RequestHandler = (ctx, p) => {
  const m = P.decodeMemNotify(p);
  if (m === null) return reply("MSG_INVALID");
  const parcel = ctx.s.rm.parcels.byId[m.handle];
  if (parcel === undefined) return reply("HANDLE_INVALID");
  if (parcel.memInfoTagSet && m.memInfoTag !== parcel.memInfoTag) return reply("ARGUMENT_INVALID");
  if (m.flags === MEM_NOTIFY_FLAG.SHARED || m.flags === MEM_NOTIFY_FLAG.RECALL) return notifyBorrowers(ctx, parcel, m);
  if (m.flags === MEM_NOTIFY_FLAG.RELEASED || m.flags === MEM_NOTIFY_FLAG.ACCEPTED) return reply(notifyOwner(ctx, parcel, ctx.caller, m.flags === MEM_NOTIFY_FLAG.ACCEPTED));
  return reply("ARGUMENT_INVALID");
};

/** memparcel_notify_owner (memparcel.c:2076-2105): MEM_ACCEPTED / MEM_RELEASED to the owner when it matches the VM's state. */
function notifyOwner(ctx: RmCtx, parcel: Parcel, vmid: number, accepted: boolean): RmError {
  const inAcl = parcel.acl.some((e) => e.vmid === vmid);
  if (!inAcl) return "HANDLE_INVALID";
  const shared = parcel.borrowers.find((x) => x.vmid === vmid)?.accepted ?? false;
  if (accepted !== shared) return shared ? "MEM_INUSE" : "MEM_RELEASED";
  notify(ctx, parcel.owner, accepted ? "MEM_ACCEPTED" : "MEM_RELEASED", P.encodeMemOwnerNotif({ handle: parcel.handle, vmid, memInfoTag: parcel.memInfoTag }));
  return "OK";
}

/**
 * SHARED and RECALL (memparcel.c:1916-2074, 2107-2136): owner only (DENIED); the VMID list must be
 * non-empty and no longer than the ACL (ARGUMENT_INVALID), name known VMs (VMID_INVALID) in the
 * ACL (ARGUMENT_INVALID). SHARED sets the tag if unset and sends MEM_SHARED, except to a VM still
 * READY: the RM accepts the parcel for it, as its config asks (vm_creation_process_memparcel), and
 * tells the owner MEM_ACCEPTED or MEM_RELEASED instead.
 */
function notifyBorrowers(ctx: RmCtx, parcel: Parcel, m: P.MemNotifyReq): RmReply {
  if (ctx.caller !== parcel.owner) return reply("DENIED");
  if (m.vmids.length === 0 || m.vmids.length > parcel.acl.length) return reply("ARGUMENT_INVALID");
  for (const v of m.vmids) {
    if (!knownVmid(ctx, v)) return reply("VMID_INVALID");
    if (!parcel.acl.some((e) => e.vmid === v)) return reply("ARGUMENT_INVALID");
  }
  if (m.flags === MEM_NOTIFY_FLAG.RECALL) {
    for (const v of m.vmids) notify(ctx, v, "MEM_RECALL", new ByteWriter().u32(parcel.handle).u32(parcel.memInfoTag).done());
    return reply("OK");
  }
  if (!parcel.memInfoTagSet) {
    parcel.memInfoTag = m.memInfoTag;
    parcel.memInfoTagSet = true;
  }
  let err: RmError = "OK";
  for (const v of m.vmids) {
    const target = ctx.s.rm.vms.byId[v];
    if (target?.status === "READY" && target.config !== null) {
      const ok = processMemparcel(ctx, target, parcel);
      err = notifyOwner(ctx, parcel, v, ok);
      continue;
    }
    notify(ctx, v, "MEM_SHARED", P.encodeMemShared({
      handle: parcel.handle, memType: parcel.memType, transType: TRANS_TYPE[parcel.transType], flags: parcel.sanitized ? 1 : 0,
      owner: parcel.owner, label: parcel.label, memInfoTag: parcel.memInfoTag, acl: parcel.acl,
      sizes: parcel.regions.slice(0, MEM_LIST_ENTRIES_MAX).map((r) => r.size), attrs: parcel.attrs,
    }));
  }
  return reply(err);
}

/** A sensitive VM (auth ANDROID, vm_mgnt_is_vm_sensitive; the RM itself counts as one). */
const sensitive = (s: Machine, vmid: number): boolean => vmid === VMID.RM || s.rm.vms.byId[vmid]?.authType === AUTH_TYPE.ANDROID;

/**
 * The SANITIZE rule of the RM's own accepts of shared buffers (accept_memparcel_fixed,
 * vm_creation.c:2262-2327): for a sensitive VM that can write the parcel, when its owner cannot
 * read it or is itself sensitive.
 */
function sanitizeFor(s: Machine, parcel: Parcel, vmid: number): boolean {
  const vmRights = parcel.acl.find((e) => e.vmid === vmid)?.rights ?? 0;
  const ownerRights = parcel.acl.find((e) => e.vmid === parcel.owner)?.rights ?? 0;
  return sensitive(s, vmid) && (vmRights & MEM_RIGHTS.W) !== 0 && ((ownerRights & MEM_RIGHTS.R) === 0 || sensitive(s, parcel.owner));
}

/**
 * vm_creation_process_memparcel (vm_creation.c:1825-1905): a parcel whose label matches one of
 * the VM's memory (shm) nodes is accepted at that node's base, contiguous, DONE (RW asked for, the
 * ACL's rights used). False only when that accept failed: no matching node, or one already
 * accepted, is OK (ret starts OK, :1827), so MEM_NOTIFY then answers MEM_RELEASED to the owner
 * for a READY VM that did not take it (memparcel_notify_owner's accepted != shared, :2087-2090).
 */
function processMemparcel(ctx: RmCtx, vm: RmVm, parcel: Parcel): boolean {
  const b = parcel.borrowers.find((x) => x.vmid === vm.vmid);
  if (b?.accepted === true) return true;
  const node = vm.config?.memory.find((n) => n.label === parcel.label);
  if (node === undefined) return true;
  const flags = MEM_ACCEPT_FLAG.DONE | MEM_ACCEPT_FLAG.MAP_CONTIGUOUS | (sanitizeFor(ctx.s, parcel, vm.vmid) ? MEM_ACCEPT_FLAG.SANITIZE : 0);
  return doAccept(ctx, vm.vmid, { handle: parcel.handle, memType: parcel.memType, transType: TRANS_TYPE[parcel.transType], flags, label: 0, acl: [{ vmid: vm.vmid, rights: MEM_RIGHTS.RW }], sgl: [{ ipa: node.base, size: parcelSize(parcel) }], mapVmid: 0, attrs: [] }).err === "OK";
}

/** memparcel_is_private (memparcel.c:2910-2928): normal memory, label 0, the VM the only ACL entry, RWX and NORMAL. */
const isPrivate = (p: Parcel, vmid: number): boolean =>
  p.memType === MEM_TYPE.NORMAL && p.label === 0 && p.acl.length === 1 && p.acl[0]!.vmid === vmid && p.acl[0]!.rights === MEM_RIGHTS.RWX && attrFor(p, vmid) === MEM_ATTR.NORMAL;

/**
 * process_memparcels at VM_START (vm_creation.c:2035-2099): the image parcel is accepted as LEND
 * with ACL [{vm, RWX}] validated, contiguous at `base-address`, SANITIZE unless the auth type is
 * NONE (process_image_memparcel, :1908-1969; a failure fails the start); then, in parcel order, every
 * parcel naming the VM whose label matches a memory node (at its base: processMemparcel), then every
 * other private parcel, after the memory so far (accept_memparcel_private, :2329-2387; SANITIZE
 * unless NONE; failures only warn). False: the image could not be accepted.
 */
export function acceptForVmStart(ctx: RmCtx, vm: RmVm, config: VmConfig): boolean {
  const unsanitized = vm.authType === AUTH_TYPE.NONE;
  const flags = MEM_ACCEPT_FLAG.DONE | MEM_ACCEPT_FLAG.VALIDATE_ACL_ATTR | MEM_ACCEPT_FLAG.MAP_CONTIGUOUS | (unsanitized ? 0 : MEM_ACCEPT_FLAG.SANITIZE);
  const acl = [{ vmid: vm.vmid, rights: MEM_RIGHTS.RWX }];
  const image = doAccept(ctx, vm.vmid, { handle: vm.imageHandle, memType: MEM_TYPE.NORMAL, transType: TRANS_TYPE.LEND, flags, label: 0, acl, sgl: [{ ipa: config.baseAddress, size: vm.memSize }], mapVmid: 0, attrs: [] });
  if (image.err !== "OK") return false;
  // protected VMs: the firmware region of VM_SET_FIRMWARE_MEM, lent RWX, validated, sanitised, at
  // the DT's firmware address (process_firmware_memparcel, vm_creation.c:1971-2033; the model's
  // config names that address as the memory node of the firmware parcel's label).
  const fw = ctx.s.pvm.vms.byId[vm.vmid]?.fw ?? null;
  if (fw !== null && fw.size > 0 && fw.handle !== vm.imageHandle) {
    const fp = ctx.s.rm.parcels.byId[fw.handle];
    const node = fp === undefined ? undefined : config.memory.find((n) => n.label === fp.label);
    if (node === undefined) return false;
    const fwFlags = MEM_ACCEPT_FLAG.DONE | MEM_ACCEPT_FLAG.VALIDATE_ACL_ATTR | MEM_ACCEPT_FLAG.SANITIZE | MEM_ACCEPT_FLAG.MAP_CONTIGUOUS;
    if (doAccept(ctx, vm.vmid, { handle: fw.handle, memType: MEM_TYPE.NORMAL, transType: TRANS_TYPE.LEND, flags: fwFlags, label: 0, acl, sgl: [{ ipa: node.base, size: fw.size }], mapVmid: 0, attrs: [] }).err !== "OK") return false;
  }
  const mine = ctx.s.rm.parcels.ids.filter((h) => ctx.s.rm.parcels.byId[h]!.acl.some((e) => e.vmid === vm.vmid));
  for (const h of mine) {
    const parcel = ctx.s.rm.parcels.byId[h];
    if (parcel !== undefined && h !== vm.imageHandle) processMemparcel(ctx, vm, parcel);
  }
  for (const h of mine) {
    const parcel = ctx.s.rm.parcels.byId[h];
    if (parcel === undefined || !isPrivate(parcel, vm.vmid) || parcel.borrowers[0]?.accepted === true) continue;
    const size = parcelSize(parcel);
    const r = doAccept(ctx, vm.vmid, { handle: h, memType: MEM_TYPE.NORMAL, transType: TRANS_TYPE.LEND, flags, label: 0, acl, sgl: [{ ipa: config.baseAddress + vm.memSize, size }], mapVmid: 0, attrs: [] });
    if (r.err === "OK") vm.memSize += size;
  }
  return true;
}

/**
 * Reset stage RELEASE_MEMPARCELS (vm_reset_handle_release_memparcels, memparcel.c:2978-3011): the
 * VM's accepted parcels are released last first, each followed by MEM_RELEASED to its owner.
 */
export function releaseAllAccepted(ctx: RmCtx, vm: RmVm): void {
  while (vm.accepted.length > 0) {
    const h = vm.accepted[vm.accepted.length - 1]!;
    const parcel = ctx.s.rm.parcels.byId[h];
    if (parcel === undefined || doRelease(ctx, vm.vmid, h, 0) !== "OK") {
      vm.accepted.pop();
      continue;
    }
    notifyOwner(ctx, parcel, vm.vmid, false);
  }
}
