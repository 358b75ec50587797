import type { HvError } from "../abi/errors.ts";
import { ACCESS, ME_MEMTYPE, MEMEXTENT_MAX_MAPS, PAGE_SIZE, isDeviceMemtype } from "../abi/constants.ts";
import type { Machine } from "../machine.ts";
import { mustObject } from "../object/objects.ts";
import { memdbUpdate, ownedPieces, type MemdbOwner } from "./memdb.ts";
import { s2Map, s2SetAccess, s2UnmapMatching } from "./stage2.ts";
import type { AddrspaceObject, MeMapRange, MemextentObject } from "./state.ts";

/**
 * Memory extents (reference §5.2; GH:hyp/mem/memextent/src/memextent.c, memextent_basic.c and
 * GH:hyp/mem/memextent_sparse). A mapping slot records what the extent wants mapped; the stage-2
 * holds the part of it the extent actually owns (memdb), so mappings follow ownership.
 */

const aligned = (v: number): boolean => v % PAGE_SIZE === 0;
/** pgtable_access_check(allowed, requested): requested ⊆ allowed. */
export const accessSubset = (allowed: number, requested: number): boolean => (requested & ~allowed) === 0;
const VALID_ACCESS = new Set<number>([ACCESS.X, ACCESS.W, ACCESS.R, ACCESS.RX, ACCESS.RW, ACCESS.RWX]);

export interface MeAttrs {
  readonly access: number;
  readonly memtype: number;
  readonly kind: "BASIC" | "SPARSE";
}

/** Decodes memextent_attrs: 2:0 access, 9:8 memtype, 17:16 type, 31 append; other bits reserved. */
export function decodeMeAttrs(attrs: number): MeAttrs | HvError {
  const reserved = attrs & ~(0x7 | 0x300 | 0x3_0000 | 0x8000_0000);
  if (reserved !== 0 || (attrs & 0x8000_0000) !== 0) return "ARGUMENT_INVALID";
  const type = (attrs >>> 16) & 0x3;
  const memtype = (attrs >>> 8) & 0x3;
  const access = attrs & 0x7;
  // CACHED needs stage-2 forced write-back, which the modelled QEMU build does not use.
  if (type > 1 || memtype === ME_MEMTYPE.CACHED || !VALID_ACCESS.has(access)) return "ARGUMENT_INVALID";
  return { access, memtype, kind: type === 0 ? "BASIC" : "SPARSE" };
}

/** memextent_configure, in the source's check order. */
export function configureExtent(me: MemextentObject, base: number, size: number, attrs: number): HvError | null {
  if (size === 0 || base + size - 1 > Number.MAX_SAFE_INTEGER) return "ARGUMENT_INVALID";
  if (!aligned(base) || !aligned(size)) return "ARGUMENT_ALIGNMENT";
  const a = decodeMeAttrs(attrs);
  if (typeof a === "string") return a;
  Object.assign(me, { base, size, access: a.access, memtype: a.memtype, kind: a.kind, parent: 0 });
  return null;
}

/** memextent_configure_derive, in the source's check order. */
export function configureDerive(me: MemextentObject, parent: MemextentObject, offset: number, size: number, attrs: number): HvError | null {
  if (size === 0) return "ARGUMENT_INVALID";
  if (offset >= parent.size || offset + size > parent.size) return "ADDR_INVALID";
  if (!aligned(offset) || !aligned(size)) return "ARGUMENT_ALIGNMENT";
  const a = decodeMeAttrs(attrs);
  if (typeof a === "string") return a;
  if (!accessSubset(parent.access, a.access)) return "ARGUMENT_INVALID";
  if (parent.memtype !== ME_MEMTYPE.ANY && parent.memtype !== a.memtype) return "ARGUMENT_INVALID";
  Object.assign(me, { base: parent.base + offset, size, access: a.access, memtype: a.memtype, kind: a.kind, parent: parent.id });
  return null;
}

const extentOwner = (me: MemextentObject): MemdbOwner => ({ type: "EXTENT", id: me.id });
/** Who hands memory to this extent: its parent extent, or its partition for a top-level extent. */
export const parentOwner = (me: MemextentObject): MemdbOwner =>
  me.parent !== 0 ? { type: "EXTENT", id: me.parent } : { type: "PARTITION", id: me.partition };

/** Activation (reference §4.2 table): takes ownership and inherits the parent's mappings. */
export function activateExtent(s: Machine, me: MemextentObject): HvError | null {
  if (me.parent === 0) {
    if (me.size === 0) return "OBJECT_CONFIG";
    if (me.kind === "SPARSE") return null; // a top-level sparse extent starts empty; memory arrives by donation
    const r = memdbUpdate(s, me.base, me.size, extentOwner(me), parentOwner(me));
    return r.ok ? null : r.error;
  }
  const parent = mustObject(s, me.parent, "memextent");
  if (parent.memtype !== ME_MEMTYPE.ANY && me.memtype !== parent.memtype) return "ARGUMENT_INVALID";
  if (me.kind === "SPARSE" && parent.kind === "SPARSE") return null; // starts empty, receives by donation
  if (parent.attached) return "BUSY";
  unmapSpan(s, parent, me.base, me.size);
  const r = memdbUpdate(s, me.base, me.size, extentOwner(me), parentOwner(me));
  if (!r.ok) {
    mapSpan(s, parent, me.base, me.size);
    return r.error;
  }
  inheritMappings(s, me, parent);
  return null;
}

/** A derived extent takes the parent's mappings of its range, access reduced to its own. */
function inheritMappings(s: Machine, me: MemextentObject, parent: MemextentObject): void {
  const delta = me.base - parent.base;
  me.mappings = [];
  for (const m of parent.mappings) {
    const ranges: MeMapRange[] = [];
    for (const r of m.ranges) {
      const b = Math.max(r.offset, delta);
      const e = Math.min(r.offset + r.size, delta + me.size);
      if (e <= b) continue;
      ranges.push({ ...r, vbase: r.vbase + (b - r.offset), offset: b - delta, size: e - b, userAccess: r.userAccess & me.access, kernelAccess: r.kernelAccess & me.access });
    }
    if (ranges.length > 0) me.mappings.push({ addrspace: m.addrspace, ranges });
  }
  mapSpan(s, me, me.base, me.size);
}

/**
 * Calls `fn` for every mapped range of this extent's slots (or one addrspace's) that overlaps
 * [pa, pa+size), with the overlap [b, e) in physical addresses and the range's PA base.
 */
function forEachOverlap(
  s: Machine,
  me: MemextentObject,
  pa: number,
  size: number,
  asOnly: number,
  fn: (as: AddrspaceObject, r: MeMapRange, rBase: number, b: number, e: number) => void,
): void {
  for (const slot of me.mappings) {
    if (asOnly !== 0 && slot.addrspace !== asOnly) continue;
    const as = mustObject(s, slot.addrspace, "addrspace");
    for (const r of slot.ranges) {
      const rBase = me.base + r.offset;
      const b = Math.max(rBase, pa);
      const e = Math.min(rBase + r.size, pa + size);
      if (e > b) fn(as, r, rBase, b, e);
    }
  }
}

/** Installs the stage-2 translations of owned memory inside [pa, pa+size), for every slot (or one addrspace). */
export function mapSpan(s: Machine, me: MemextentObject, pa: number, size: number, asOnly = 0): void {
  forEachOverlap(s, me, pa, size, asOnly, (as, r, rBase, b, e) => {
    for (const p of ownedPieces(s, b, e - b, me.id)) {
      s2Map(as, { ipa: r.vbase + (p.base - rBase), size: p.size, pa: p.base, access: r.kernelAccess, userAccess: r.userAccess, memtype: r.memtype, memextent: me.id });
    }
  });
}

/** Removes the stage-2 translations of [pa, pa+size) installed by this extent's slots (or one addrspace's). */
export function unmapSpan(s: Machine, me: MemextentObject, pa: number, size: number, asOnly = 0): void {
  forEachOverlap(s, me, pa, size, asOnly, (as, r, rBase, b, e) => s2UnmapMatching(as, r.vbase + (b - rBase), e - b, b));
}

/** Decoded map_attrs (32-bit): 2:0 user access, 6:4 kernel access, 23:16 memtype; rest reserved. */
export function decodeMapAttrs(v: number): { userAccess: number; kernelAccess: number; memtype: number } | null {
  if ((v & ~(0x7 | 0x70 | 0xff_0000)) !== 0) return null;
  return { userAccess: v & 7, kernelAccess: (v >>> 4) & 7, memtype: (v >>> 16) & 0xff };
}

/**
 * memextent_check_memtype (GH:hyp/mem/memextent/src/memextent.c:745-790, built without S2FWB):
 * device types need an ANY, DEVICE or UNCACHED extent; NORMAL_NC an ANY or UNCACHED one; NORMAL_WB
 * and the other normal types an ANY one (so a CACHED extent maps nothing); any other memtype value
 * is refused whatever the extent.
 */
export function memtypeAllowed(policy: number, memtype: number): boolean {
  if (isDeviceMemtype(memtype)) return policy === ME_MEMTYPE.ANY || policy === ME_MEMTYPE.DEVICE || policy === ME_MEMTYPE.UNCACHED;
  if (memtype === 5) return policy === ME_MEMTYPE.ANY || policy === ME_MEMTYPE.UNCACHED;
  if (NORMAL_MEMTYPES.has(memtype)) return policy === ME_MEMTYPE.ANY;
  return false;
}
/** NORMAL_ONC_IWT 6 .. NORMAL_WB 15 (pgtable_vm_memtype, GH:hyp/mem/pgtable/armv8/pgtable.tc). */
const NORMAL_MEMTYPES: ReadonlySet<number> = new Set([6, 7, 9, 10, 11, 13, 14, 15]);

/** Adds a mapping range to the slot for `asId` (a new slot if needed: MAPPINGS_FULL past 4). */
export function addMapping(s: Machine, me: MemextentObject, asId: number, range: MeMapRange): HvError | null {
  let slot = me.mappings.find((m) => m.addrspace === asId);
  if (slot === undefined) {
    if (me.mappings.length >= MEMEXTENT_MAX_MAPS) return "MEMEXTENT_MAPPINGS_FULL";
    slot = { addrspace: asId, ranges: [] };
    me.mappings.push(slot);
  } else if (me.kind === "BASIC") {
    // A BASIC extent maps whole, once per slot; mapping it again into the same addrspace takes a new slot.
    if (me.mappings.length >= MEMEXTENT_MAX_MAPS) return "MEMEXTENT_MAPPINGS_FULL";
    slot = { addrspace: asId, ranges: [] };
    me.mappings.push(slot);
  }
  slot.ranges.push(range);
  mapSpan(s, me, me.base + range.offset, range.size, asId);
  return null;
}

/** Removes mapping ranges of [offset, offset+size) at `vbase` from the slot for `asId`. */
export function removeMapping(s: Machine, me: MemextentObject, asId: number, vbase: number, offset: number, size: number): HvError | null {
  const si = me.mappings.findIndex((m) => m.addrspace === asId && m.ranges.some((r) => r.vbase - r.offset === vbase - offset));
  if (si < 0) return "ADDR_INVALID";
  const slot = me.mappings[si]!;
  unmapSpan(s, me, me.base + offset, size, asId);
  const kept: MeMapRange[] = [];
  for (const r of slot.ranges) {
    const e = Math.min(r.offset + r.size, offset + size);
    const b = Math.max(r.offset, offset);
    if (e <= b || r.vbase - r.offset !== vbase - offset) {
      kept.push(r);
      continue;
    }
    if (r.offset < b) kept.push({ ...r, size: b - r.offset });
    if (r.offset + r.size > e) kept.push({ ...r, vbase: r.vbase + (e - r.offset), offset: e, size: r.offset + r.size - e });
  }
  slot.ranges = kept;
  if (kept.length === 0) me.mappings.splice(si, 1);
  // Other slots of the same addrspace may still map parts of this range: reinstall them.
  mapSpan(s, me, me.base + offset, size, asId);
  return null;
}

/** Changes the access of the mapping ranges of [offset, offset+size) at vbase. */
export function updateAccess(s: Machine, me: MemextentObject, asId: number, vbase: number, offset: number, size: number, user: number, kernel: number): HvError | null {
  const slot = me.mappings.find((m) => m.addrspace === asId && m.ranges.some((r) => r.vbase - r.offset === vbase - offset));
  if (slot === undefined) return "ADDR_INVALID";
  const as = mustObject(s, asId, "addrspace");
  for (const r of slot.ranges) {
    if (r.vbase - r.offset !== vbase - offset || r.offset >= offset + size || r.offset + r.size <= offset) continue;
    r.userAccess = user & me.access;
    r.kernelAccess = kernel & me.access;
    const b = Math.max(r.offset, offset);
    const e = Math.min(r.offset + r.size, offset + size);
    s2SetAccess(as, r.vbase + (b - r.offset), e - b, me.base + b, r.kernelAccess, r.userAccess);
  }
  return null;
}

/** Moves [pa, pa+size) from `from` to `to`: unmapped from the donor's mappings, mapped per the recipient's. */
export function donateRange(s: Machine, pa: number, size: number, from: MemextentObject | null, to: MemextentObject | null, fromOwner: MemdbOwner, toOwner: MemdbOwner): HvError | null {
  if (!ownedBy(s, pa, size, fromOwner)) return "MEMDB_NOT_OWNER";
  if (from !== null) unmapSpan(s, from, pa, size);
  const r = memdbUpdate(s, pa, size, toOwner, fromOwner);
  if (!r.ok) return r.error;
  if (to !== null) mapSpan(s, to, pa, size);
  return null;
}

function ownedBy(s: Machine, pa: number, size: number, owner: MemdbOwner): boolean {
  const pieces = ownedPieces(s, pa, size, owner.id);
  return pieces.length === 1 && pieces[0]!.base === pa && pieces[0]!.size === size;
}

/** Unmaps every mapping of the extent (memextent_modify UNMAP_ALL, and deletion). */
export function unmapAll(s: Machine, me: MemextentObject): void {
  unmapSpan(s, me, me.base, me.size);
  me.mappings = [];
}

/** Deletion: mappings removed, owned memory back to the parent (whose mappings return) or partition. */
export function destroyExtent(s: Machine, me: MemextentObject): void {
  unmapAll(s, me);
  const parent = me.parent !== 0 ? mustObject(s, me.parent, "memextent") : null;
  for (const p of ownedPieces(s, me.base, me.size, me.id)) {
    memdbUpdate(s, p.base, p.size, parentOwner(me), { type: "EXTENT", id: me.id });
    if (parent !== null) mapSpan(s, parent, p.base, p.size);
  }
}
