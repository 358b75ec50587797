import { ME_MEMTYPE, PAGE_SIZE } from "../abi/constants.ts";
import { RIGHTS } from "../abi/rights.ts";
import type { Machine } from "../machine.ts";
import { lookup, lookupInit } from "../object/cspace.ts";
import { OK, arg32, argAddr, fail, type Caller, type HypercallTable, type HvReturn } from "../hyp/calls.ts";
import { configureDerive, configureExtent, donateRange, parentOwner, unmapAll } from "./memextent.ts";
import type { MemextentObject } from "./state.ts";

/**
 * Memory-extent hypercalls (reference §2.6; GH:hyp/interfaces/memextent/memextent.hvc,
 * GH:hyp/mem/memextent/src/hypercalls.c and memextent.c for the check order).
 */

const aligned = (v: number): boolean => v >= 0 && v % PAGE_SIZE === 0;

function memextentConfigure(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const me = lookupInit(s, c.cspace, a[0] ?? 0n, "memextent");
  if (!me.ok) return fail(me.error);
  const e = configureExtent(me.value, argAddr(a, 1), argAddr(a, 2), arg32(a, 3));
  return e === null ? OK : fail(e);
}

/** The parent is looked up first (DERIVE, active), then the child (OBJECT_ACTIVATE, INIT). */
function memextentConfigureDerive(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const parent = lookup(s, c.cspace, a[1] ?? 0n, "memextent", RIGHTS.memextent.DERIVE);
  if (!parent.ok) return fail(parent.error);
  const me = lookupInit(s, c.cspace, a[0] ?? 0n, "memextent");
  if (!me.ok) return fail(me.error);
  const e = configureDerive(me.value, parent.value, argAddr(a, 2), argAddr(a, 3), arg32(a, 4));
  return e === null ? OK : fail(e);
}

/**
 * memextent_modify: op in flags 7:0, NoSync in bit 31. UNMAP_ALL; ZERO/CLEAN/FLUSH a range (NoSync
 * required; memory contents are not modelled, so these only check); SYNC_ALL (NoSync must be clear).
 */
function memextentModify(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const r = lookup(s, c.cspace, a[0] ?? 0n, "memextent", RIGHTS.memextent.MAP);
  if (!r.ok) return fail(r.error);
  const me = r.value;
  const flags = arg32(a, 1);
  const op = flags & 0xff;
  const noSync = (flags & 0x8000_0000) !== 0;
  if ((flags & 0x7fff_ff00) !== 0) return fail("ARGUMENT_INVALID");
  if (op === 0) {
    unmapAll(s, me);
    return OK;
  }
  if (op === 255) return noSync ? fail("ARGUMENT_INVALID") : OK;
  if (op > 3 || !noSync) return fail("ARGUMENT_INVALID");
  return cleanRangeCheck(me, argAddr(a, 2), argAddr(a, 3));
}

/** memextent_clean_range's checks (GH:hyp/mem/memextent/src/memextent.c). */
function cleanRangeCheck(me: MemextentObject, offset: number, size: number): HvReturn {
  if (me.memtype === ME_MEMTYPE.DEVICE || (me.access & 2) === 0) return fail("DENIED");
  if (!aligned(offset) || !aligned(size)) return fail("ARGUMENT_ALIGNMENT");
  if (size === 0) return fail("ARGUMENT_SIZE");
  if (offset + size > me.size) return fail("ARGUMENT_INVALID");
  return OK;
}

/**
 * memextent_donate(options, from, to, offset, size): options 7:0 type (0 TO_CHILD, 1 TO_PARENT,
 * 2 TO_SIBLING), bit 31 NoSync. For a child without a parent extent the "parent" cap is its
 * partition (PARTITION.DONATE). The range is child.base + offset for TO_CHILD/TO_PARENT
 * (`memextent_donate_child(me = child)`), from.base + offset for TO_SIBLING. Donation is for
 * SPARSE extents only; on a BASIC one the per-type selector answers MEMEXTENT_TYPE.
 */
function memextentDonate(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const options = arg32(a, 0);
  const type = options & 0xff;
  if ((options & 0x7fff_ff00) !== 0 || type > 2) return fail("ARGUMENT_INVALID");
  const offset = argAddr(a, 3);
  const size = argAddr(a, 4);
  if (type === 2) return donateSibling(s, c, a[1] ?? 0n, a[2] ?? 0n, offset, size);
  const childCap = type === 0 ? (a[2] ?? 0n) : (a[1] ?? 0n);
  const parentCap = type === 0 ? (a[1] ?? 0n) : (a[2] ?? 0n);
  const child = lookup(s, c.cspace, childCap, "memextent", RIGHTS.memextent.DONATE);
  if (!child.ok) return fail(child.error);
  const me = child.value;
  let parentExtent: MemextentObject | null = null;
  if (me.parent !== 0) {
    const p = lookup(s, c.cspace, parentCap, "memextent", RIGHTS.memextent.DONATE);
    if (!p.ok) return fail(p.error);
    if (p.value.id !== me.parent) return fail("ARGUMENT_INVALID");
    parentExtent = p.value;
  } else {
    const p = lookup(s, c.cspace, parentCap, "partition", RIGHTS.partition.DONATE);
    if (!p.ok) return fail(p.error);
    if (p.value.id !== me.partition) return fail("ARGUMENT_INVALID");
  }
  const bad = donateRangeCheck(me, offset, size);
  if (bad !== null) return bad;
  if (me.kind !== "SPARSE") return fail("MEMEXTENT_TYPE");
  const pa = me.base + offset;
  const childOwner = { type: "EXTENT" as const, id: me.id };
  const e =
    type === 0
      ? donateRange(s, pa, size, parentExtent, me, parentOwner(me), childOwner)
      : donateRange(s, pa, size, me, parentExtent, childOwner, parentOwner(me));
  return e === null ? OK : fail(e);
}

function donateRangeCheck(me: MemextentObject, offset: number, size: number): HvReturn | null {
  if (!aligned(offset) || !aligned(size)) return fail("ARGUMENT_ALIGNMENT");
  if (size === 0) return fail("ARGUMENT_SIZE");
  if (offset + size > me.size) return fail("ARGUMENT_INVALID");
  return null;
}

function donateSibling(s: Machine, c: Caller, fromCap: bigint, toCap: bigint, offset: number, size: number): HvReturn {
  const from = lookup(s, c.cspace, fromCap, "memextent", RIGHTS.memextent.DONATE);
  if (!from.ok) return fail(from.error);
  const to = lookup(s, c.cspace, toCap, "memextent", RIGHTS.memextent.DONATE);
  if (!to.ok) return fail(to.error);
  const f = from.value;
  const t = to.value;
  const bad = donateRangeCheck(f, offset, size);
  if (bad !== null) return bad;
  const pa = f.base + offset;
  if (pa < t.base || pa + size > t.base + t.size) return fail("ARGUMENT_INVALID");
  if (f.id === t.id || f.parent === 0 || f.parent !== t.parent) return fail("ARGUMENT_INVALID");
  if (f.kind !== "SPARSE" || t.kind !== "SPARSE") return fail("MEMEXTENT_TYPE");
  const e = donateRange(s, pa, size, f, t, { type: "EXTENT", id: f.id }, { type: "EXTENT", id: t.id });
  return e === null ? OK : fail(e);
}

export const memextentHypercalls: HypercallTable = {
  memextent_modify: memextentModify,
  memextent_configure: memextentConfigure,
  memextent_configure_derive: memextentConfigureDerive,
  memextent_donate: memextentDonate,
};
