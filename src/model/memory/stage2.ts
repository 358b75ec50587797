import type { Machine } from "../machine.ts";
import { ownerOf, type MemdbOwner } from "./memdb.ts";
import type { AddrspaceObject, S2Range } from "./state.ts";

/**
 * The stage-2 table of an addrspace as sorted ranges. Mapping over an existing mapping replaces it
 * without error (GH:hyp/interfaces/memextent/include/memextent.h); unmapping removes only the parts
 * that translate to the given physical addresses (`pgtable_vm_unmap_matching`).
 */

/**
 * Index of the first range whose end is above `ipa`: sorted.ts's `firstEndingAfter` over ranges
 * keyed by `ipa`, kept apart so this hottest lookup sees one object shape.
 */
function firstEndingAfter(s2: readonly S2Range[], ipa: number): number {
  let lo = 0;
  let hi = s2.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const r = s2[mid]!;
    if (r.ipa + r.size <= ipa) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The range translating `ipa`, if any. */
export function s2Lookup(as: AddrspaceObject, ipa: number): S2Range | undefined {
  const r = as.s2[firstEndingAfter(as.s2, ipa)];
  return r !== undefined && r.ipa <= ipa ? r : undefined;
}

/** Cuts [ipa, ipa+size) out of the table; `keep(r)` spares ranges that must stay (matching unmap). */
function cut(as: AddrspaceObject, ipa: number, size: number, keep: (r: S2Range) => boolean): void {
  const end = ipa + size;
  const s2 = as.s2;
  const out: S2Range[] = [];
  const i = firstEndingAfter(s2, ipa);
  let j = i;
  for (; j < s2.length && s2[j]!.ipa < end; j++) {
    const r = s2[j]!;
    if (keep(r)) {
      out.push(r);
      continue;
    }
    if (r.ipa < ipa) out.push({ ...r, size: ipa - r.ipa });
    const rEnd = r.ipa + r.size;
    if (rEnd > end) out.push({ ...r, ipa: end, pa: r.pa + (end - r.ipa), size: rEnd - end });
  }
  s2.splice(i, j - i, ...out);
}

/** Installs a translation, replacing whatever was mapped there. */
export function s2Map(as: AddrspaceObject, range: S2Range): void {
  cut(as, range.ipa, range.size, () => false);
  const i = firstEndingAfter(as.s2, range.ipa);
  as.s2.splice(i, 0, { ...range });
  merge(as.s2, i);
}

/** Removes translations of [ipa, ipa+size) that point at [pa, pa+size) (same offset). */
export function s2UnmapMatching(as: AddrspaceObject, ipa: number, size: number, pa: number): void {
  cut(as, ipa, size, (r) => r.pa - r.ipa !== pa - ipa);
}

/** Sets the access of translations of [ipa, ipa+size) that point at pa (update_access). */
export function s2SetAccess(as: AddrspaceObject, ipa: number, size: number, pa: number, access: number, userAccess: number): void {
  const end = ipa + size;
  const touched: S2Range[] = [];
  for (let i = firstEndingAfter(as.s2, ipa); i < as.s2.length && as.s2[i]!.ipa < end; i++) {
    const r = as.s2[i]!;
    if (r.pa - r.ipa !== pa - ipa) continue;
    const b = Math.max(r.ipa, ipa);
    const e = Math.min(r.ipa + r.size, end);
    touched.push({ ...r, ipa: b, pa: r.pa + (b - r.ipa), size: e - b, access, userAccess });
  }
  for (const t of touched) s2Map(as, t);
}

function mergeable(a: S2Range, b: S2Range): boolean {
  return (
    a.ipa + a.size === b.ipa &&
    a.pa + a.size === b.pa &&
    a.access === b.access &&
    a.userAccess === b.userAccess &&
    a.memtype === b.memtype &&
    a.memextent === b.memextent
  );
}

function merge(s2: S2Range[], i: number): void {
  const next = s2[i + 1];
  if (next !== undefined && mergeable(s2[i]!, next)) {
    s2[i] = { ...s2[i]!, size: s2[i]!.size + next.size };
    s2.splice(i + 1, 1);
  }
  const prev = s2[i - 1];
  if (prev !== undefined && mergeable(prev, s2[i]!)) {
    s2[i - 1] = { ...prev, size: prev.size + s2[i]!.size };
    s2.splice(i, 1);
  }
}

/** What one IPA of one VM translates to. */
export interface Translation {
  readonly pa: number;
  /** EL1 access of the mapping (pgtable_access: R 4, W 2, X 1). */
  readonly access: number;
  /** The memextent object whose mapping installed it. */
  readonly memextent: number;
  /** Who owns the physical page now (memdb), null if nobody. */
  readonly owner: MemdbOwner | null;
}

/**
 * THE stage-2 query: what `ipa` of VM `vmid` translates to, with which permission, and who owns the
 * physical page. Null when the VM does not exist or the IPA is not mapped. Later rooms (RM memory
 * parcels, SMMU, the isolation oracle) build on this; it is O(log ranges).
 */
export function translate(s: Machine, vmid: number, ipa: number): Translation | null {
  const vm = s.vms[vmid];
  if (vm === undefined) return null;
  const as = s.objects.byId[vm.addrspace];
  if (as === undefined || as.type !== "addrspace") return null;
  const r = s2Lookup(as, ipa);
  if (r === undefined) return null;
  const pa = r.pa + (ipa - r.ipa);
  return { pa, access: r.access, memextent: r.memextent, owner: ownerOf(s, pa) };
}

/** The access bit a guest access needs (pgtable_access: R 4, W 2, X 1). */
export const ACCESS_BIT = { read: 4, write: 2, exec: 1 } as const;
