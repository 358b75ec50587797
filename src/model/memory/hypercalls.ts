import { IPA_BITS, PAGE_SIZE, VMMIO_RANGES_MAX, GIC } from "../abi/constants.ts";
import { RIGHTS } from "../abi/rights.ts";
import type { Machine } from "../machine.ts";
import { lookup, lookupAny, lookupInit } from "../object/cspace.ts";
import { OK, arg32, argAddr, arg16, fail, okWith, type Caller, type HypercallTable, type HvReturn } from "../hyp/calls.ts";
import { accessSubset, addMapping, decodeMapAttrs, memtypeAllowed, removeMapping, updateAccess } from "./memextent.ts";
import { ownerOf } from "./memdb.ts";
import { s2Lookup } from "./stage2.ts";
import type { AddrspaceObject, MemextentObject } from "./state.ts";

/**
 * Address-space hypercalls (reference §2.5; GH:hyp/interfaces/addrspace/addrspace.hvc,
 * GH:hyp/mem/addrspace/src/hypercalls.c, and the checks of GH:hyp/mem/memextent/src/memextent.c).
 */

const IPA_LIMIT = 2 ** IPA_BITS;
const aligned = (v: number): boolean => v >= 0 && v % PAGE_SIZE === 0;
const MAP_FLAG_PARTIAL = 0x1;
const MAP_FLAGS_KNOWN = 0x8000_0001;

type Pair = { as: AddrspaceObject; me: MemextentObject } | HvReturn;

/** ADDRSPACE.MAP on the addrspace then MEMEXTENT.MAP on the extent, both active. */
function lookupPair(s: Machine, c: Caller, asCap: bigint, meCap: bigint, asRight: number, meRight: number): Pair {
  const as = lookup(s, c.cspace, asCap, "addrspace", asRight);
  if (!as.ok) return fail(as.error);
  const me = lookup(s, c.cspace, meCap, "memextent", meRight);
  if (!me.ok) return fail(me.error);
  return { as: as.value, me: me.value };
}
const isFail = (p: Pair): p is HvReturn => "error" in p;

/** Partial-range checks shared by map/unmap/update (memextent_map_partial etc.). */
function partialCheck(me: MemextentObject, vbase: number, offset: number, size: number): HvReturn | null {
  if (!aligned(vbase) || !aligned(offset) || !aligned(size)) return fail("ARGUMENT_ALIGNMENT");
  if (size === 0 || vbase + size > IPA_LIMIT) return fail("ARGUMENT_SIZE");
  if (offset + size - 1 >= me.size) return fail("ARGUMENT_SIZE");
  return null;
}

/**
 * addrspace_map: reserved attribute and flag bits are checked before either lookup
 * (GH:hyp/mem/addrspace/src/hypercalls.c:127-131); then alignment, the access/memtype policy
 * (memextent.c:375-388, 745-790), a read-only addrspace DENIED (memextent.c:406-407, 447-448).
 */
function addrspaceMap(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const attrs = decodeMapAttrs(arg32(a, 3));
  const flags = arg32(a, 4);
  if ((flags & ~MAP_FLAGS_KNOWN) !== 0 || attrs === null) return fail("ARGUMENT_INVALID");
  const p = lookupPair(s, c, a[0] ?? 0n, a[1] ?? 0n, RIGHTS.addrspace.MAP, RIGHTS.memextent.MAP);
  if (isFail(p)) return p;
  const vbase = argAddr(a, 2);
  const partial = (flags & MAP_FLAG_PARTIAL) !== 0;
  let offset = 0;
  let size = p.me.size;
  if (partial) {
    offset = argAddr(a, 5);
    size = argAddr(a, 6);
    const bad = partialCheck(p.me, vbase, offset, size);
    if (bad !== null) return bad;
  } else if (!aligned(vbase)) return fail("ARGUMENT_ALIGNMENT");
  const ok =
    accessSubset(p.me.access, attrs.userAccess) && accessSubset(p.me.access, attrs.kernelAccess) && memtypeAllowed(p.me.memtype, attrs.memtype);
  if (!ok) return fail("ARGUMENT_INVALID");
  if (p.as.readOnly) return fail("DENIED");
  if (partial && p.me.kind === "BASIC") return fail("MEMEXTENT_TYPE");
  if (vbase + size > IPA_LIMIT) return fail("ADDR_OVERFLOW");
  const e = addMapping(s, p.me, p.as.id, { vbase, offset, size, userAccess: attrs.userAccess & p.me.access, kernelAccess: attrs.kernelAccess & p.me.access, memtype: attrs.memtype });
  return e === null ? OK : fail(e);
}

/** addrspace_unmap: reserved flag bits before the lookups (GH:hyp/mem/addrspace/src/hypercalls.c:178-181). */
function addrspaceUnmap(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const flags = arg32(a, 3);
  if ((flags & ~MAP_FLAGS_KNOWN) !== 0) return fail("ARGUMENT_INVALID");
  const p = lookupPair(s, c, a[0] ?? 0n, a[1] ?? 0n, RIGHTS.addrspace.MAP, RIGHTS.memextent.MAP);
  if (isFail(p)) return p;
  const vbase = argAddr(a, 2);
  if ((flags & MAP_FLAG_PARTIAL) === 0) {
    if (!aligned(vbase)) return fail("ARGUMENT_ALIGNMENT");
    if (p.as.readOnly) return fail("DENIED");
    const e = removeMapping(s, p.me, p.as.id, vbase, 0, p.me.size);
    return e === null ? OK : fail(e);
  }
  const offset = argAddr(a, 4);
  const size = argAddr(a, 5);
  const bad = partialCheck(p.me, vbase, offset, size);
  if (bad !== null) return bad;
  if (p.as.readOnly) return fail("DENIED");
  if (p.me.kind === "BASIC") return fail("MEMEXTENT_TYPE");
  const e = removeMapping(s, p.me, p.as.id, vbase, offset, size);
  return e === null ? OK : fail(e);
}

/** addrspace_update_access: reserved bits before the lookups (GH:hyp/mem/addrspace/src/hypercalls.c:229-233). */
function addrspaceUpdateAccess(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const access = arg32(a, 3);
  const flags = arg32(a, 4);
  if ((access & ~0x77) !== 0 || (flags & ~MAP_FLAGS_KNOWN) !== 0) return fail("ARGUMENT_INVALID");
  const p = lookupPair(s, c, a[0] ?? 0n, a[1] ?? 0n, RIGHTS.addrspace.MAP, RIGHTS.memextent.MAP);
  if (isFail(p)) return p;
  const vbase = argAddr(a, 2);
  const user = access & 7;
  const kernel = (access >>> 4) & 7;
  if (!accessSubset(p.me.access, user) || !accessSubset(p.me.access, kernel)) return fail("ARGUMENT_INVALID");
  let offset = 0;
  let size = p.me.size;
  if ((flags & MAP_FLAG_PARTIAL) !== 0) {
    offset = argAddr(a, 5);
    size = argAddr(a, 6);
    const bad = partialCheck(p.me, vbase, offset, size);
    if (bad !== null) return bad;
    if (p.me.kind === "BASIC") return fail("MEMEXTENT_TYPE");
  } else if (!aligned(vbase)) return fail("ARGUMENT_ALIGNMENT");
  const e = updateAccess(s, p.me, p.as.id, vbase, offset, size, user, kernel);
  return e === null ? OK : fail(e);
}

function addrspaceConfigure(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const as = lookupInit(s, c.cspace, a[0] ?? 0n, "addrspace");
  if (!as.ok) return fail(as.error);
  const vmid = arg16(a, 1);
  if (vmid === 0 || vmid > 255) return fail("ARGUMENT_INVALID");
  as.value.vmid = vmid;
  return OK;
}

/** No object type implements a vDMA port in this tree (reference §8). */
function addrspaceAttachVdma(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const as = lookup(s, c.cspace, a[0] ?? 0n, "addrspace", RIGHTS.addrspace.ATTACH);
  if (!as.ok) return fail(as.error);
  const o = lookupAny(s, c.cspace, a[1] ?? 0n, 0);
  return fail(o.ok ? "CSPACE_WRONG_OBJECT_TYPE" : o.error);
}

/** Returns (offset within the extent, contiguous mapped size, map_attrs) of the mapping at vbase. */
function addrspaceLookup(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const p = lookupPair(s, c, a[0] ?? 0n, a[1] ?? 0n, RIGHTS.addrspace.LOOKUP, RIGHTS.memextent.LOOKUP);
  if (isFail(p)) return p;
  const vbase = argAddr(a, 2);
  const size = argAddr(a, 3);
  if (!aligned(vbase) || !aligned(size)) return fail("ARGUMENT_ALIGNMENT");
  if (size === 0) return fail("ARGUMENT_SIZE");
  const r = s2Lookup(p.as, vbase);
  if (r === undefined) return fail("ADDR_INVALID");
  const pa = r.pa + (vbase - r.ipa);
  const owner = ownerOf(s, pa);
  if (owner === null || owner.id !== p.me.id) return fail("MEMDB_NOT_OWNER");
  const mapped = Math.min(size, r.ipa + r.size - vbase);
  const attrs = r.userAccess | (r.access << 4) | (r.memtype << 16);
  return okWith(BigInt(pa - p.me.base), BigInt(mapped), BigInt(attrs));
}

function addrspaceConfigureInfoArea(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const as = lookupInit(s, c.cspace, a[0] ?? 0n, "addrspace");
  if (!as.ok) return fail(as.error);
  const me = lookup(s, c.cspace, a[1] ?? 0n, "memextent", RIGHTS.memextent.ATTACH);
  if (!me.ok) return fail(me.error);
  const ipa = argAddr(a, 2);
  if (!aligned(ipa)) return fail("ARGUMENT_ALIGNMENT");
  if (me.value.size !== PAGE_SIZE) return fail("ARGUMENT_SIZE"); // a one-page extent ⚠
  if (ipa + PAGE_SIZE > IPA_LIMIT) return fail("ADDR_INVALID");
  as.value.infoArea = { memextent: me.value.id, ipa };
  me.value.attached = true;
  return OK;
}

/** Adds (op 0) or removes (op 1, exact match) a range forwarded to the proxy VMM (reference §2.5, §5.4). */
function addrspaceConfigureVmmio(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const r = lookup(s, c.cspace, a[0] ?? 0n, "addrspace", RIGHTS.addrspace.ADD_VMMIO_RANGE, false);
  if (!r.ok) return fail(r.error);
  const as = r.value;
  if (as.state === "FAILED") return fail("OBJECT_STATE");
  const base = argAddr(a, 1);
  const size = argAddr(a, 2);
  const op = arg32(a, 3);
  if (op === 1) {
    const i = as.vmmio.findIndex((v) => v.base === base && v.size === size);
    if (i < 0) return fail("ARGUMENT_INVALID");
    as.vmmio.splice(i, 1);
    return OK;
  }
  if (op !== 0) return fail("ARGUMENT_INVALID");
  if (!aligned(base) || !aligned(size)) return fail("ARGUMENT_ALIGNMENT"); // ⚠ page granular
  if (size === 0) return fail("ARGUMENT_SIZE");
  if (base + size > IPA_LIMIT) return fail("ADDR_OVERFLOW");
  if (as.vmmio.length >= VMMIO_RANGES_MAX) return fail("NORESOURCES"); // ⚠ code for "128 ranges used"
  if (as.vmmio.some((v) => v.base < base + size && base < v.base + v.size)) return fail("ARGUMENT_INVALID");
  let i = 0;
  while (i < as.vmmio.length && as.vmmio[i]!.base < base) i++;
  as.vmmio.splice(i, 0, { base, size });
  return OK;
}

/** Places the vGIC's GICD (index 0) or the GICR of attachment index-1 in the IPA space (reference §7.1). */
function addrspaceAttachVdevice(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const as = lookup(s, c.cspace, a[0] ?? 0n, "addrspace", RIGHTS.addrspace.MAP);
  if (!as.ok) return fail(as.error);
  const vic = lookup(s, c.cspace, a[1] ?? 0n, "vic", RIGHTS.vic.ATTACH_VDEVICE);
  if (!vic.ok) return fail(vic.error);
  const index = arg32(a, 2);
  const base = argAddr(a, 3);
  const size = argAddr(a, 4);
  if (index > vic.value.maxVcpus) return fail("ARGUMENT_INVALID");
  const want = index === 0 ? GIC.GICD_SIZE : GIC.GICR_STRIDE;
  if (!aligned(base)) return fail("ARGUMENT_ALIGNMENT");
  if (size !== want) return fail("ARGUMENT_SIZE");
  if (base + size > IPA_LIMIT) return fail("ADDR_OVERFLOW");
  const list = as.value.vdevices;
  if (list.some((v) => v.base < base + size && base < v.base + v.size)) return fail("BUSY");
  list.push({ base, size, vic: vic.value.id, index });
  list.sort((x, y) => x.base - y.base);
  return OK;
}

export const addrspaceHypercalls: HypercallTable = {
  addrspace_map: addrspaceMap,
  addrspace_unmap: addrspaceUnmap,
  addrspace_update_access: addrspaceUpdateAccess,
  addrspace_configure: addrspaceConfigure,
  addrspace_attach_vdma: addrspaceAttachVdma,
  addrspace_lookup: addrspaceLookup,
  addrspace_configure_info_area: addrspaceConfigureInfoArea,
  addrspace_configure_vmmio: addrspaceConfigureVmmio,
  addrspace_attach_vdevice: addrspaceAttachVdevice,
};
