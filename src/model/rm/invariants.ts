/**
 * RM invariants. Each names the state path and the objects involved when it breaks.
 */
import type { Invariant, Violation } from "../../core/invariants.ts";
import { MEMPARCELS_PER_OWNER_MAX } from "../abi/rm.ts";
import { edgeAllowed, type VmRoomsState } from "./context.ts";
import { ownerOf, translate } from "./vmmem.ts";
import type { Parcel } from "./state.ts";

const hex = (n: number): string => `0x${n.toString(16)}`;

function checkParcel(s: VmRoomsState, p: Parcel): Violation | null {
  const path = `rm.parcels.byId.${p.handle}`;
  const anyAccepted = p.borrowers.some((b) => b.accepted);
  if ((p.state === "SHARED") !== anyAccepted) return { path: `${path}.state`, detail: `parcel ${p.handle} is ${p.state} but ${anyAccepted ? "has" : "has no"} accepted borrowers`, objects: { handle: p.handle } };
  const expectOwner = p.transType === "SHARE" ? `vm:${p.owner}` : `parcel:${p.handle}`;
  for (const r of p.regions) {
    if (ownerOf(s, r.pa) !== expectOwner) return { path: `${path}.regions`, detail: `PA ${hex(r.pa)} of parcel ${p.handle} is owned by ${ownerOf(s, r.pa)}, expected ${expectOwner}`, objects: { handle: p.handle, pa: r.pa } };
    if (p.transType !== "SHARE" && translate(s, p.owner, r.ownerIpa)?.pa === r.pa) {
      return { path: `${path}.regions`, detail: `owner VM ${p.owner} still reaches lent PA ${hex(r.pa)}`, objects: { handle: p.handle, vm: p.owner, pa: r.pa } };
    }
  }
  for (const b of p.borrowers) {
    if (!b.accepted) continue;
    if (b.ipas.length !== p.regions.length) return { path: `${path}.borrowers`, detail: `borrower ${b.vmid} has ${b.ipas.length} IPAs for ${p.regions.length} regions`, objects: { handle: p.handle, vm: b.vmid } };
    for (const [i, r] of p.regions.entries()) {
      if (translate(s, b.vmid, b.ipas[i]!)?.pa !== r.pa) return { path: `${path}.borrowers`, detail: `accepted borrower ${b.vmid} does not reach PA ${hex(r.pa)} at IPA ${hex(b.ipas[i]!)}`, objects: { handle: p.handle, vm: b.vmid } };
    }
  }
  return null;
}

export const rmInvariants: readonly Invariant<VmRoomsState>[] = [
  {
    name: "rm.vm_state_edges",
    description: "Every VM's last state change is one of the RM's allowed edges (vm_mgnt_state_change_valid).",
    check(s) {
      for (const id of s.rm.vms.ids) {
        const vm = s.rm.vms.byId[id]!;
        if (vm.prevStatus !== vm.status && !edgeAllowed(vm.prevStatus, vm.status)) {
          return { path: `rm.vms.byId.${id}.status`, detail: `VM ${id} moved ${vm.prevStatus} -> ${vm.status}, not an RM edge`, objects: { vm: id } };
        }
      }
      return null;
    },
  },
  {
    name: "rm.parcel_accounting",
    description: "A parcel's state matches its borrowers; lent/donated pages belong to the parcel and not to the owner's stage-2; accepted borrowers reach exactly its pages; at most 64 parcels per owner.",
    check(s) {
      const perOwner: Record<number, number> = {};
      for (const h of s.rm.parcels.ids) {
        const p = s.rm.parcels.byId[h]!;
        perOwner[p.owner] = (perOwner[p.owner] ?? 0) + 1;
        if (perOwner[p.owner]! > MEMPARCELS_PER_OWNER_MAX) return { path: "rm.parcels", detail: `VM ${p.owner} holds more than ${MEMPARCELS_PER_OWNER_MAX} parcels`, objects: { vm: p.owner } };
        const v = checkParcel(s, p);
        if (v !== null) return v;
      }
      return null;
    },
  },
  {
    name: "rm.borrower_loses_released_pages",
    description: "A VM reaches a page held by a parcel only while it has that parcel accepted.",
    check(s) {
      for (const [vmidText, list] of Object.entries(s.vmmem.s2)) {
        const vmid = Number(vmidText);
        for (const r of list) {
          const owner = ownerOf(s, r.value.pa);
          if (owner === null || !owner.startsWith("parcel:")) continue;
          const p = s.rm.parcels.byId[Number(owner.slice(7))];
          if (p?.borrowers.some((b) => b.vmid === vmid && b.accepted) === true) continue;
          return { path: `vmmem.s2.${vmid}`, detail: `VM ${vmid} reaches PA ${hex(r.value.pa)} of ${owner} without having it accepted`, objects: { vm: vmid, pa: r.value.pa } };
        }
      }
      return null;
    },
  },
];
