import type { Invariant, Violation } from "../../core/invariants.ts";
import type { Machine } from "../machine.ts";
import { CSPACE } from "../abi/constants.ts";

/** Object and capability invariants (reference §4.3). */
export const objectInvariants: readonly Invariant<Machine>[] = [
  {
    name: "object.caps_point_to_live_objects",
    description: "Every VALID cap names a live object of the cap's type; REVOKED caps name none.",
    check(s): Violation | null {
      for (const id of s.objects.ids) {
        const cs = s.objects.byId[id]!;
        if (cs.type !== "cspace") continue;
        for (const k in cs.caps) {
          const c = cs.caps[k]!;
          const o = s.objects.byId[c.object];
          if (c.state === "VALID" && (o === undefined || o.type !== c.type)) {
            return { path: `objects.byId.${id}.caps.${k}`, detail: `cap ${k} of cspace ${id} names ${o === undefined ? "no live object" : `a ${o.type}`} (cap type ${c.type})`, objects: { cspace: id, cap: Number(k), object: c.object } };
          }
          if (c.state === "REVOKED" && c.object !== 0) return { path: `objects.byId.${id}.caps.${k}`, detail: "a REVOKED cap still names an object", objects: { cspace: id, cap: Number(k) } };
        }
      }
      return null;
    },
  },
  {
    name: "object.cspace_counts_consistent",
    description: "A cspace's cap count equals its occupied slots, per table and in total, and stays within max_caps.",
    check(s): Violation | null {
      for (const id of s.objects.ids) {
        const cs = s.objects.byId[id]!;
        if (cs.type !== "cspace") continue;
        const perTable: number[] = [];
        let n = 0;
        for (const k in cs.caps) {
          const slot = Number(k);
          if ((slot & 0xff) >= CSPACE.SLOTS_PER_TABLE) return { path: `objects.byId.${id}.caps.${k}`, detail: `slot ${k} is outside its table`, objects: { cspace: id } };
          perTable[slot >> 8] = (perTable[slot >> 8] ?? 0) + 1;
          n++;
        }
        const tablesOk = cs.tableCounts.every((c, t) => c === (perTable[t] ?? 0)) && perTable.every((c, t) => c === (cs.tableCounts[t] ?? 0));
        if (n !== cs.capCount || !tablesOk || n > cs.maxCaps) {
          return { path: `objects.byId.${id}.capCount`, detail: `cspace ${id} counts ${cs.capCount} caps, holds ${n}, max ${cs.maxCaps}`, objects: { cspace: id } };
        }
      }
      return null;
    },
  },
];
