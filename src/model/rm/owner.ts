import type { Machine } from "../machine.ts";
import { ownerOf } from "../memory/memdb.ts";

/**
 * The memdb owner of a physical byte, named as the RM sees it: `vm:<vmid>` (an extent of the VM's
 * own), `parcel:<handle>` (memory lent, shared or donated through a parcel), or the raw owner
 * (`partition:<id>`, `extent:<id>`); null for memory nobody owns. For tests and for people's
 * questions (the `owner(PA)` predicate function), never for the model's own decisions.
 */
export function ownerName(s: Machine, pa: number): string | null {
  const o = ownerOf(s, pa);
  if (o === null) return null;
  if (o.type === "EXTENT") {
    for (const h of s.rm.parcels.ids) if (s.rm.parcels.byId[h]!.memextent === o.id) return `parcel:${h}`;
    for (const [vmid, hv] of Object.entries(s.rm.hv?.vms ?? {})) if (hv.extents.includes(o.id)) return `vm:${vmid}`;
  }
  return `${o.type.toLowerCase()}:${o.id}`;
}
