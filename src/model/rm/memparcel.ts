/**
 * Memory parcels: LEND, SHARE, DONATE, ACCEPT, RELEASE, RECLAIM, NOTIFY, and the accepts the RM does
 * itself at VM_START. Who reaches a page after each step follows reference §4.3
 * (RM:src/memparcel/memparcel.c): a lend or donate takes the owner's access away at create; a share
 * keeps it; a borrower reaches the pages only between its accept and its release; reclaim needs every
 * borrower to have released, and zeroes the pages first when the parcel is marked for sanitising.
 */
import { MEM_ACCEPT_FLAG, MEM_CREATE_FLAG, MEM_NOTIFY_FLAG, MEM_RECLAIM_FLAG, MEM_RELEASE_FLAG, MEM_RIGHTS, MEM_TYPE, MEMPARCELS_PER_OWNER_MAX, TRANS_TYPE, VMID, AUTH_TYPE, type RmError, type TransType } from "../abi/rm.ts";
import { ByteWriter } from "./bytes.ts";
import { notify, reply, type RequestHandler, type RmCtx, type RmReply } from "./context.ts";
import * as P from "./payloads.ts";
import { defectOn } from "../faults.ts";
import { addId, dropId, type Parcel, type ParcelBorrower, type RmVm, type VmConfig } from "./state.ts";
import { PAGE, physPieces, zeroRange } from "./content.ts";
import { createParcelExtent, mapRegions, ownerExtent, returnAndDestroy, unmapVm } from "./hv.ts";
import { objectAs } from "../object/objects.ts";
import type { MemextentObject } from "../memory/state.ts";

const TRANS_NAME: Record<number, TransType> = { [TRANS_TYPE.DONATE]: "DONATE", [TRANS_TYPE.LEND]: "LEND", [TRANS_TYPE.SHARE]: "SHARE" };
const VALID_RIGHTS = new Set<number>([MEM_RIGHTS.R, MEM_RIGHTS.RX, MEM_RIGHTS.RW, MEM_RIGHTS.RWX]);
const sizeOf = (p: Parcel): number => p.regions.reduce((a, r) => a + r.size, 0);

/** A VMID the RM knows: HLOS, RM, a static secondary (< 64) or an allocated VM (§4.3 create errors). */
function knownVmid(ctx: RmCtx, vmid: number): boolean {
  return vmid === VMID.HLOS || vmid === VMID.RM || (vmid > 0 && vmid < 64) || ctx.s.rm.vms.byId[vmid] !== undefined;
}

function checkCreate(ctx: RmCtx, trans: TransType, m: P.MemCreateReq): RmError | null {
  if (m.memType !== MEM_TYPE.NORMAL && m.memType !== MEM_TYPE.IO) return "ARGUMENT_INVALID";
  if ((m.flags & MEM_CREATE_FLAG.SANITIZE) !== 0 && m.memType === MEM_TYPE.IO) return "ARGUMENT_INVALID";
  if ((m.flags & ~(MEM_CREATE_FLAG.SANITIZE | MEM_CREATE_FLAG.APPEND)) !== 0) return "ARGUMENT_INVALID";
  if (m.acl.length === 0 || m.sgl.length === 0) return "ARGUMENT_INVALID";
  const aclVmids = m.acl.map((e) => e.vmid);
  if (new Set(aclVmids).size !== aclVmids.length || new Set(m.attrs.map((a) => a.vmid)).size !== m.attrs.length) return "ARGUMENT_INVALID";
  for (const e of m.acl) {
    if (!knownVmid(ctx, e.vmid) || !VALID_RIGHTS.has(e.rights)) return "ARGUMENT_INVALID";
    if (m.memType === MEM_TYPE.IO && (e.rights & MEM_RIGHTS.X) !== 0) return "ARGUMENT_INVALID";
  }
  if (m.attrs.some((a) => !aclVmids.includes(a.vmid))) return "VMID_INVALID";
  const ownerListed = aclVmids.includes(ctx.caller);
  if (trans === "LEND" && ownerListed) return "ARGUMENT_INVALID";
  if (trans === "SHARE" && !ownerListed) return "ARGUMENT_INVALID";
  if (trans === "DONATE") {
    const full = m.memType === MEM_TYPE.IO ? MEM_RIGHTS.RW : MEM_RIGHTS.RWX;
    if (m.acl.length !== 1 || m.acl[0]!.rights !== full || m.attrs.length !== 0 || ownerListed) return "ARGUMENT_INVALID";
  }
  for (const e of m.sgl) if (e.ipa < 0 || e.size <= 0 || e.ipa % PAGE !== 0 || e.size % PAGE !== 0) return "ARGUMENT_INVALID";
  const owned = ctx.s.rm.parcels.ids.filter((h) => ctx.s.rm.parcels.byId[h]!.owner === ctx.caller).length;
  if (owned >= MEMPARCELS_PER_OWNER_MAX) return "NORESOURCE";
  return null;
}

/** MEM_LEND / MEM_SHARE / MEM_DONATE: the owner names its IPAs; the RM checks it owns them. */
export function makeOnMemCreate(trans: TransType): RequestHandler {
  return (ctx, p) => {
    const m = P.decodeMemCreate(p);
    if (m === null) return reply("MSG_INVALID");
    if (m.tooMany) return reply("NORESOURCE");
    if ((m.flags & MEM_CREATE_FLAG.APPEND) !== 0) return reply("UNIMPLEMENTED"); // MEM_APPEND is not modelled
    const bad = checkCreate(ctx, trans, m);
    if (bad !== null) return reply(bad);
    const regions: Parcel["regions"] = [];
    let source: MemextentObject | null = null;
    for (const e of m.sgl) {
      // The owner's IPAs, translated through its stage-2 (HYP's table); every page must be mapped
      // and owned (memdb) by one extent that belongs to the owner (reference §4.2).
      const pieces = physPieces(ctx.s, ctx.caller, e.ipa, e.size);
      if (pieces === null) return reply("MEM_INVALID");
      let ipa = e.ipa;
      for (const piece of pieces) {
        const ext = ownerExtent(ctx.s, ctx.caller, piece.pa, piece.size);
        if (ext === null || (source !== null && ext.id !== source.id)) return reply("MEM_INVALID");
        source = ext;
        regions.push({ pa: piece.pa, size: piece.size, ownerIpa: ipa });
        ipa += piece.size;
      }
    }
    if (regions.some((r, i) => regions.some((q, j) => j < i && q.pa < r.pa + r.size && r.pa < q.pa + q.size))) return reply("ARGUMENT_INVALID");
    const handle = allocHandle(ctx);
    const sanitized = (m.flags & MEM_CREATE_FLAG.SANITIZE) !== 0;
    // The memory moves into the parcel's own extent (donated from the owner's): the owner's
    // stage-2 loses it; for a share the owner maps it back through the parcel with its ACL rights (§4.3).
    const me = createParcelExtent(ctx.s, source!, regions);
    if (trans === "SHARE") {
      const own = m.acl.find((e) => e.vmid === ctx.caller)!;
      mapRegions(ctx.s, me, ctx.caller, regions, regions.map((r) => r.ownerIpa), own.rights);
    }
    // defect host-s2-kept-after-lend (src/model/faults.ts): the owner keeps its mapping of lent/donated memory.
    else if (trans === "LEND" && defectOn(ctx.s, "host-s2-kept-after-lend")) mapRegions(ctx.s, me, ctx.caller, regions, regions.map((r) => r.ownerIpa), MEM_RIGHTS.RWX);
    if (sanitized) for (const r of regions) zeroRange(ctx.s, r.pa, r.size);
    const borrowers: ParcelBorrower[] = m.acl.filter((e) => e.vmid !== ctx.caller).map((e) => ({ vmid: e.vmid, rights: e.rights, accepted: false, ipas: [] }));
    addId(ctx.s.rm.parcels, handle, {
      handle, owner: ctx.caller, transType: trans, memType: m.memType, label: m.label, memInfoTag: 0,
      sanitized, sanitizeOnReclaim: sanitized, state: "SHARING", memextent: me.id, source: source!.id,
      acl: m.acl.map((e) => ({ ...e })), attrs: m.attrs.map((a) => ({ ...a })), sgl: m.sgl.map((e) => ({ ...e })), regions, borrowers,
    });
    return reply("OK", new ByteWriter().u32(handle).done());
  };
}

/** Handles count up from 1, skipping ones in use and the invalid 0xFFFFFFFF. */
function allocHandle(ctx: RmCtx): number {
  const rm = ctx.s.rm;
  let h = rm.nextParcelHandle;
  while (rm.parcels.byId[h] !== undefined || h === 0xffffffff || h === 0) h = (h + 1) >>> 0;
  rm.nextParcelHandle = (h + 1) >>> 0;
  return h;
}

/** The borrower's IPA space: the RM places a parcel above everything the VM has mapped. */
function chooseIpa(ctx: RmCtx, vmid: number, size: number, contiguous: boolean): number {
  let top = 0x8000_0000;
  const as = objectAs(ctx.s, ctx.s.vms[vmid]?.addrspace ?? 0, "addrspace");
  const last = as?.s2[as.s2.length - 1];
  if (last !== undefined) top = Math.max(top, last.ipa + last.size);
  const align = contiguous && size >= 0x20_0000 ? 0x20_0000 : PAGE;
  return Math.ceil(top / align) * align;
}

const extentOf = (ctx: RmCtx, parcel: Parcel): MemextentObject => objectAs(ctx.s, parcel.memextent, "memextent")!;

/** Accept of a lend/share: the parcel's extent is mapped into the borrower's stage-2 with its ACL rights. */
function mapBorrower(ctx: RmCtx, parcel: Parcel, b: ParcelBorrower, ipas: number[]): boolean {
  if (!mapRegions(ctx.s, extentOf(ctx, parcel), b.vmid, parcel.regions, ipas, b.rights)) {
    unmapVm(ctx.s, extentOf(ctx, parcel), b.vmid);
    return false;
  }
  b.accepted = true;
  b.ipas = ipas;
  parcel.state = "SHARED";
  return true;
}

/**
 * Donate accepted: the parcel's extent becomes the borrower's own memory, mapped RWX at the IPAs;
 * the parcel is deleted (§4.3). Exported for the RM accepting a donation to itself (pvmfw, §6.2).
 */
export function acceptDonated(ctx: RmCtx, parcel: Parcel, vmid: number, ipas: number[]): boolean {
  const me = extentOf(ctx, parcel);
  if (!mapRegions(ctx.s, me, vmid, parcel.regions, ipas, MEM_RIGHTS.RWX)) {
    unmapVm(ctx.s, me, vmid);
    return false;
  }
  ctx.s.rm.hv!.vms[vmid]?.extents.push(me.id);
  dropId(ctx.s.rm.parcels, parcel.handle);
  return true;
}

function validateAccept(ctx: RmCtx, parcel: Parcel, m: P.MemAcceptReq): RmError | ParcelBorrower {
  if (ctx.caller === parcel.owner) return "DENIED";
  const b = parcel.borrowers.find((x) => x.vmid === ctx.caller);
  if (b === undefined) return "VMID_INVALID";
  if (b.accepted) return "DENIED";
  if (m.memType !== parcel.memType || TRANS_NAME[m.transType] !== parcel.transType) return "ARGUMENT_INVALID";
  if ((m.flags & MEM_ACCEPT_FLAG.MAP_OTHER) !== 0) return "DENIED";
  if (m.mapVmid !== 0) return "ARGUMENT_INVALID";
  if ((m.flags & MEM_ACCEPT_FLAG.VALIDATE_SANITIZED) !== 0 && !parcel.sanitized) return "VALIDATE_FAILED";
  if ((m.flags & MEM_ACCEPT_FLAG.VALIDATE_LABEL) !== 0 && m.label !== parcel.label) return "VALIDATE_FAILED";
  if ((m.flags & MEM_ACCEPT_FLAG.VALIDATE_ACL_ATTR) !== 0 && !sameLists(parcel, m)) return "VALIDATE_FAILED";
  if ((m.flags & MEM_ACCEPT_FLAG.MAP_CONTIGUOUS) !== 0 && parcel.memType !== MEM_TYPE.NORMAL) return "ARGUMENT_INVALID";
  if ((m.flags & MEM_ACCEPT_FLAG.SANITIZE) !== 0 && ((b.rights & MEM_RIGHTS.W) === 0 || parcel.memType === MEM_TYPE.IO)) return "ARGUMENT_INVALID";
  return b;
}

const sameLists = (parcel: Parcel, m: P.MemAcceptReq): boolean =>
  JSON.stringify(parcel.acl) === JSON.stringify(m.acl.map((e) => ({ vmid: e.vmid, rights: e.rights }))) &&
  JSON.stringify(parcel.attrs) === JSON.stringify(m.attrs.map((a) => ({ attr: a.attr, vmid: a.vmid })));

/** The IPAs to map at: the caller's SGL (sizes must match, or the total with MAP_CONTIGUOUS), or the RM's choice. */
function acceptIpas(ctx: RmCtx, parcel: Parcel, m: P.MemAcceptReq): number[] | null {
  const contiguous = (m.flags & MEM_ACCEPT_FLAG.MAP_CONTIGUOUS) !== 0;
  if (m.sgl.length === 0) {
    let at = chooseIpa(ctx, ctx.caller, sizeOf(parcel), contiguous);
    return parcel.regions.map((r) => ((at += r.size), at - r.size));
  }
  if (contiguous) {
    if (m.sgl.length !== 1 || m.sgl[0]!.size !== sizeOf(parcel) || m.sgl[0]!.ipa % PAGE !== 0) return null;
    let at = m.sgl[0]!.ipa;
    return parcel.regions.map((r) => ((at += r.size), at - r.size));
  }
  if (m.sgl.length !== parcel.regions.length) return null;
  if (m.sgl.some((e, i) => e.size !== parcel.regions[i]!.size || e.ipa % PAGE !== 0)) return null;
  return m.sgl.map((e) => e.ipa);
}

/** MEM_ACCEPT by a borrower. Only the single-step accept (flag DONE) is modelled. */
export const onMemAccept: RequestHandler = (ctx, p) => {
  const m = P.decodeMemAccept(p);
  if (m === null) return reply("MSG_INVALID");
  const parcel = ctx.s.rm.parcels.byId[m.handle];
  if (parcel === undefined) return reply("HANDLE_INVALID");
  const b = validateAccept(ctx, parcel, m);
  if (typeof b === "string") return reply(b);
  if ((m.flags & MEM_ACCEPT_FLAG.DONE) === 0) return reply("UNIMPLEMENTED");
  const ipas = acceptIpas(ctx, parcel, m);
  if (ipas === null) return reply("ARGUMENT_INVALID");
  if ((m.flags & MEM_ACCEPT_FLAG.SANITIZE) !== 0) parcel.sanitizeOnReclaim = true;
  const mapped = parcel.transType === "DONATE" ? acceptDonated(ctx, parcel, b.vmid, ipas) : mapBorrower(ctx, parcel, b, ipas);
  if (!mapped) return reply("MAP_FAILED");
  const chosen = m.sgl.length === 0 ? P.encodeAcceptSgl(parcel.regions.map((r, i) => ({ ipa: ipas[i]!, size: r.size }))) : undefined;
  return reply("OK", chosen);
};

function unmapBorrower(ctx: RmCtx, parcel: Parcel, b: ParcelBorrower): void {
  unmapVm(ctx.s, extentOf(ctx, parcel), b.vmid);
  b.accepted = false;
  b.ipas = [];
  if (!parcel.borrowers.some((x) => x.accepted)) parcel.state = "SHARING";
}

/** MEM_RELEASE by a borrower: owner DENIED; not accepted MEM_RELEASED. */
export const onMemRelease: RequestHandler = (ctx, p) => {
  const m = p.length === 8 ? P.decodeMemHandle(p) : null;
  if (m === null) return reply("MSG_INVALID");
  const parcel = ctx.s.rm.parcels.byId[m.handle];
  if (parcel === undefined) return reply("HANDLE_INVALID");
  if (ctx.caller === parcel.owner) return reply("DENIED");
  const b = parcel.borrowers.find((x) => x.vmid === ctx.caller);
  if (b === undefined || !b.accepted) return reply("MEM_RELEASED");
  if ((m.flags & MEM_RELEASE_FLAG.SANITIZE) !== 0) {
    if ((b.rights & MEM_RIGHTS.W) === 0 || parcel.memType === MEM_TYPE.IO) return reply("ARGUMENT_INVALID");
    parcel.sanitizeOnReclaim = true;
  }
  unmapBorrower(ctx, parcel, b);
  return reply("OK");
};

/** MEM_RECLAIM by the owner: MEM_INUSE while any borrower has it accepted; zeroes first if marked. */
export const onMemReclaim: RequestHandler = (ctx, p) => {
  const m = p.length === 8 ? P.decodeMemHandle(p) : null;
  if (m === null) return reply("MSG_INVALID");
  const parcel = ctx.s.rm.parcels.byId[m.handle];
  if (parcel === undefined) return reply("HANDLE_INVALID");
  if (ctx.caller !== parcel.owner) return reply("DENIED");
  if (parcel.borrowers.some((b) => b.accepted)) return reply("MEM_INUSE");
  const sanitize = parcel.sanitizeOnReclaim || (m.flags & MEM_RECLAIM_FLAG.SANITIZE) !== 0;
  // defect reclaim-without-sanitise (src/model/faults.ts): the zeroing is skipped.
  if (sanitize && !defectOn(ctx.s, "reclaim-without-sanitise")) for (const r of parcel.regions) zeroRange(ctx.s, r.pa, r.size);
  // The memory is donated back to the owner's extent (mapped again per its mappings) and the
  // parcel's extent is destroyed; a share's owner mapping goes with it.
  returnAndDestroy(ctx.s, extentOf(ctx, parcel), objectAs(ctx.s, parcel.source, "memextent")!);
  dropId(ctx.s.rm.parcels, parcel.handle);
  return reply("OK");
};

/** MEM_NOTIFY: exactly one flag. SHARED/RECALL by the owner to listed ACL VMs; RELEASED/ACCEPTED by a borrower to the owner. */
export const onMemNotify: RequestHandler = (ctx, p) => {
  const m = P.decodeMemNotify(p);
  if (m === null) return reply("MSG_INVALID");
  const parcel = ctx.s.rm.parcels.byId[m.handle];
  if (parcel === undefined) return reply("HANDLE_INVALID");
  if (![1, 2, 4, 8].includes(m.flags)) return reply("ARGUMENT_INVALID");
  if (parcel.memInfoTag !== 0 && m.memInfoTag !== parcel.memInfoTag) return reply("ARGUMENT_INVALID");
  parcel.memInfoTag = m.memInfoTag;
  if (m.flags === MEM_NOTIFY_FLAG.SHARED || m.flags === MEM_NOTIFY_FLAG.RECALL) return notifyBorrowers(ctx, parcel, m);
  const b = parcel.borrowers.find((x) => x.vmid === ctx.caller);
  if (b === undefined) return reply("DENIED");
  const accepted = m.flags === MEM_NOTIFY_FLAG.ACCEPTED;
  if (accepted !== b.accepted) return reply(accepted ? "MEM_RELEASED" : "MEM_INUSE");
  notify(ctx, parcel.owner, accepted ? "MEM_ACCEPTED" : "MEM_RELEASED", P.encodeMemOwnerNotif({ handle: parcel.handle, vmid: b.vmid, memInfoTag: parcel.memInfoTag }));
  return reply("OK");
};

function notifyBorrowers(ctx: RmCtx, parcel: Parcel, m: P.MemNotifyReq): RmReply {
  if (ctx.caller !== parcel.owner) return reply("DENIED");
  if (m.vmids.some((v) => !parcel.borrowers.some((b) => b.vmid === v))) return reply("VMID_INVALID");
  for (const v of m.vmids) {
    if (m.flags === MEM_NOTIFY_FLAG.RECALL) {
      notify(ctx, v, "MEM_RECALL", new ByteWriter().u32(parcel.handle).u32(parcel.memInfoTag).done());
      continue;
    }
    notify(ctx, v, "MEM_SHARED", P.encodeMemShared({
      handle: parcel.handle, memType: parcel.memType, transType: TRANS_TYPE[parcel.transType], flags: parcel.sanitized ? 1 : 0,
      owner: parcel.owner, label: parcel.label, memInfoTag: parcel.memInfoTag, acl: parcel.acl,
      sizes: parcel.regions.map((r) => r.size), attrs: parcel.attrs,
    }));
  }
  return reply("OK");
}

/**
 * At VM_START the RM accepts the image parcel as LEND with ACL exactly [{vm, RWX}] at
 * `base-address` (sanitised at reclaim unless auth NONE), then for each memory node of the config
 * the first parcel whose label matches it, at that node's base (§4.4). False: the image parcel is unusable.
 */
export function acceptForVmStart(ctx: RmCtx, vm: RmVm, config: VmConfig): boolean {
  const image = ctx.s.rm.parcels.byId[vm.imageHandle];
  if (image === undefined || image.owner !== vm.owner || image.transType !== "LEND") return false;
  if (image.acl.length !== 1 || image.acl[0]!.vmid !== vm.vmid || image.acl[0]!.rights !== MEM_RIGHTS.RWX) return false;
  const b = image.borrowers[0]!;
  if (!b.accepted) {
    if (vm.authType !== AUTH_TYPE.NONE) image.sanitizeOnReclaim = true;
    let at = config.baseAddress;
    if (!mapBorrower(ctx, image, b, image.regions.map((r) => ((at += r.size), at - r.size)))) return false;
  }
  // One parcel per memory node: the first with its label, as the RM's search stops at the first
  // (RM:src/vm_creation/vm_creation.c find_memparcel_for_resmem_node_by_label). A second parcel
  // lent with the same label stays unaccepted instead of being mapped over the first.
  const taken: number[] = [];
  // A protected VM's firmware parcel (VM_SET_FIRMWARE_MEM) is accepted by its handle, before any
  // labelled one (RM:src/vm_creation/vm_creation.c accepts fw_mp_handle itself and skips it in the
  // label pass): another parcel lent with its label cannot take its place.
  const fw = ctx.s.pvm.vms.byId[vm.vmid]?.fw?.handle;
  const order = fw === undefined || !ctx.s.rm.parcels.ids.includes(fw) ? ctx.s.rm.parcels.ids : [fw, ...ctx.s.rm.parcels.ids.filter((h) => h !== fw)];
  for (const h of [...order]) {
    const parcel = ctx.s.rm.parcels.byId[h]!;
    const node = config.memory.find((n) => n.label === parcel.label);
    const pb = parcel.borrowers.find((x) => x.vmid === vm.vmid);
    if (h === image.handle || parcel.owner !== vm.owner || node === undefined || pb === undefined || pb.accepted || taken.includes(node.label)) continue;
    taken.push(node.label);
    let at = node.base;
    const ipas = parcel.regions.map((r) => ((at += r.size), at - r.size));
    if (parcel.transType === "DONATE") acceptDonated(ctx, parcel, pb.vmid, ipas);
    else mapBorrower(ctx, parcel, pb, ipas);
  }
  return true;
}

/** Reset stage RELEASE_MEMPARCELS: release everything the VM accepted and tell each owner MEM_RELEASED. */
export function releaseAllAccepted(ctx: RmCtx, vmid: number): void {
  for (const h of ctx.s.rm.parcels.ids) {
    const parcel = ctx.s.rm.parcels.byId[h]!;
    const b = parcel.borrowers.find((x) => x.vmid === vmid && x.accepted);
    if (b === undefined) continue;
    unmapBorrower(ctx, parcel, b);
    notify(ctx, parcel.owner, "MEM_RELEASED", P.encodeMemOwnerNotif({ handle: h, vmid, memInfoTag: parcel.memInfoTag }));
  }
}
