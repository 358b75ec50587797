/**
 * How the protected room reads the rest of the machine: one place that knows where stage-2 maps,
 * extents and page labels live, so the isolation oracle states its properties without
 * depending on other rooms' layouts. Stage-2 comes from HYP's addrspaces (src/model/memory),
 * labels and page bytes from the RM's content view (src/model/rm/content.ts), parcels from the RM.
 */
import type { Machine } from "../machine.ts";
import type { AddrspaceObject, MemextentObject } from "../memory/state.ts";
import { ownedPieces } from "../memory/memdb.ts";

/** One stage-2 (or SMMU) translation range: [ipa, ipa+size) → [pa, pa+size) with access bits. */
export interface MapRange {
  readonly ipa: number;
  readonly size: number;
  readonly pa: number;
  readonly access: number;
  readonly memextent: number;
}

export function addrspaceOf(s: Machine, vmid: number): AddrspaceObject | undefined {
  const vm = s.vms[vmid];
  const as = vm === undefined ? undefined : s.objects.byId[vm.addrspace];
  return as !== undefined && as.type === "addrspace" ? as : undefined;
}

/** The VMIDs that have an address space (the RM, the HLOS, every VM the RM made). */
export const vmids = (s: Machine): number[] => Object.keys(s.vms).map(Number);

/** VM `vmid`'s stage-2, sorted by IPA. */
export const s2Of = (s: Machine, vmid: number): readonly MapRange[] => addrspaceOf(s, vmid)?.s2 ?? [];

/** The first range of `list` whose PA span overlaps [pa, pa+size): the IPA and PA where it starts. */
export function mapsPa(list: readonly MapRange[], pa: number, size: number): { ipa: number; pa: number } | null {
  for (const r of list) {
    const lo = Math.max(r.pa, pa);
    const hi = Math.min(r.pa + r.size, pa + size);
    if (lo < hi) return { ipa: r.ipa + (lo - r.pa), pa: lo };
  }
  return null;
}

/** Physical pieces a memextent owns (memdb), for extents donated to a VM. */
export function extentPieces(s: Machine, id: number): { base: number; size: number }[] {
  const me = s.objects.byId[id] as MemextentObject | undefined;
  if (me === undefined || me.type !== "memextent") return [];
  return ownedPieces(s, me.base, me.size, id);
}
