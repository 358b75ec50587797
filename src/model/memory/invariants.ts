import type { Invariant, Violation } from "../../core/invariants.ts";
import type { Machine } from "../machine.ts";
import { ownsRange } from "./memdb.ts";

const hex = (n: number): string => `0x${n.toString(16)}`;

/** Memory invariants (reference §5). */
export const memoryInvariants: readonly Invariant<Machine>[] = [
  {
    name: "memdb.one_owner_per_page",
    description: "memdb ranges are sorted, page-sized, non-empty and never overlap: every physical page has at most one owner.",
    check(s): Violation | null {
      const r = s.memdb.ranges;
      for (let i = 0; i < r.length; i++) {
        const x = r[i]!;
        if (x.size <= 0 || x.base % 4096 !== 0 || x.size % 4096 !== 0) return { path: `memdb.ranges.${i}`, detail: `range ${hex(x.base)}+${hex(x.size)} is empty or not page-aligned`, objects: { base: x.base } };
        const prev = r[i - 1];
        if (prev !== undefined && prev.base + prev.size > x.base) {
          return { path: `memdb.ranges.${i}`, detail: `range ${hex(x.base)} overlaps the range before it (${hex(prev.base)}+${hex(prev.size)})`, objects: { base: x.base, owner: x.owner, other: prev.owner } };
        }
      }
      return null;
    },
  },
  {
    name: "addrspace.maps_only_reachable_memory",
    description: "Every stage-2 translation reaches only physical memory owned (memdb) by the memextent whose mapping installed it, and stage-2 ranges never overlap.",
    check(s): Violation | null {
      for (const id of s.objects.ids) {
        const as = s.objects.byId[id]!;
        if (as.type !== "addrspace") continue;
        for (let i = 0; i < as.s2.length; i++) {
          const m = as.s2[i]!;
          const prev = as.s2[i - 1];
          if (prev !== undefined && prev.ipa + prev.size > m.ipa) return { path: `objects.byId.${id}.s2.${i}`, detail: `stage-2 ranges overlap at IPA ${hex(m.ipa)}`, objects: { addrspace: id, vmid: as.vmid } };
          if (!ownsRange(s, m.pa, m.size, { type: "EXTENT", id: m.memextent })) {
            return { path: `objects.byId.${id}.s2.${i}`, detail: `VM ${as.vmid} maps IPA ${hex(m.ipa)} to PA ${hex(m.pa)}+${hex(m.size)}, not (all) owned by memextent ${m.memextent}`, objects: { vmid: as.vmid, ipa: m.ipa, pa: m.pa, memextent: m.memextent } };
          }
        }
      }
      return null;
    },
  },
];
