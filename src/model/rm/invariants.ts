/**
 * RM invariants, read from the hypervisor's state (memdb, memextents, stage-2 via `translate`).
 * Each names the state path and the objects involved when it breaks.
 */
import type { Invariant, Violation } from "../../core/invariants.ts";
import { MEMPARCELS_PER_OWNER_MAX } from "../abi/rm.ts";
import type { Machine } from "../machine.ts";
import { ownsRange } from "../memory/memdb.ts";
import { translate } from "../memory/stage2.ts";
import { edgeAllowed } from "./context.ts";
import type { Parcel } from "./state.ts";

const hex = (n: number): string => `0x${n.toString(16)}`;

function checkParcel(s: Machine, p: Parcel): Violation | null {
  // Built only for a violation: this runs for every parcel after every event of a fuzz run.
  const path = (field: string): string => `rm.parcels.byId.${p.handle}.${field}`;
  const anyAccepted = p.borrowers.some((b) => b.accepted);
  if ((p.state === "SHARED") !== anyAccepted) return { path: path("state"), detail: `parcel ${p.handle} is ${p.state} but ${anyAccepted ? "has" : "has no"} accepted borrowers`, objects: { handle: p.handle } };
  for (const r of p.regions) {
    if (!ownsRange(s, r.pa, r.size, { type: "EXTENT", id: p.memextent })) {
      return { path: path("regions"), detail: `PA ${hex(r.pa)}+${hex(r.size)} of parcel ${p.handle} is not owned by its memextent ${p.memextent}`, objects: { handle: p.handle, pa: r.pa } };
    }
    const own = translate(s, p.owner, r.ownerIpa);
    if (p.transType !== "SHARE" && own?.pa === r.pa) {
      return { path: path("regions"), detail: `owner VM ${p.owner} still reaches lent PA ${hex(r.pa)}`, objects: { handle: p.handle, vm: p.owner, pa: r.pa } };
    }
  }
  for (const b of p.borrowers) {
    if (!b.mapped) continue;
    if (b.ipas.length !== p.regions.length) return { path: path("borrowers"), detail: `borrower ${b.vmid} has ${b.ipas.length} IPAs for ${p.regions.length} regions`, objects: { handle: p.handle, vm: b.vmid } };
    for (let i = 0; i < p.regions.length; i++) {
      const r = p.regions[i]!;
      const tr = translate(s, b.vmid, b.ipas[i]!);
      if (tr?.pa !== r.pa || tr.memextent !== p.memextent) return { path: path("borrowers"), detail: `accepted borrower ${b.vmid} does not reach PA ${hex(r.pa)} at IPA ${hex(b.ipas[i]!)}`, objects: { handle: p.handle, vm: b.vmid } };
    }
  }
  return null;
}

export const rmInvariants: readonly Invariant<Machine>[] = [
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
    description: "A parcel's state matches its borrowers; its pages are owned (memdb) by its own memextent; a lend's or donation's owner no longer reaches them; accepted borrowers reach exactly its pages (translate); at most 64 parcels per owner.",
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
    description: "A VM's stage-2 reaches a parcel's pages only while it has that parcel accepted (or owns a share): every translation through a parcel's memextent, in every VM's stage-2.",
    check(s) {
      if (s.rm.parcels.ids.length === 0) return null;
      const byExtent: Record<number, Parcel> = {};
      for (const h of s.rm.parcels.ids) byExtent[s.rm.parcels.byId[h]!.memextent] = s.rm.parcels.byId[h]!;
      for (const k of Object.keys(s.vms)) {
        const vmid = Number(k);
        const as = s.objects.byId[s.vms[vmid]!.addrspace];
        if (as === undefined || as.type !== "addrspace") continue;
        for (const r of as.s2) {
          const p = byExtent[r.memextent];
          if (p === undefined) continue;
          if (p.borrowers.some((b) => b.vmid === vmid && b.accepted) || (p.transType === "SHARE" && p.owner === vmid)) continue;
          const tr = translate(s, vmid, r.ipa);
          return { path: `objects.byId.${as.id}.s2`, detail: `VM ${vmid} reaches PA ${hex(tr?.pa ?? r.pa)} of parcel ${p.handle} without having it accepted`, objects: { vm: vmid, pa: tr?.pa ?? r.pa, handle: p.handle } };
        }
      }
      return null;
    },
  },
  {
    name: "rm.vm_objects_match",
    description: "Every VM the RM manages has its addrspace under its VMID and its vCPUs registered with the hypervisor under their indices.",
    check(s) {
      const hv = s.rm.hv;
      if (hv === null) return null;
      for (const k of Object.keys(hv.vms)) {
        const v = hv.vms[Number(k)]!;
        // No address space yet (before VM_INIT) or any more (reset destroyed it): nothing to match.
        if (v.addrspace === 0) continue;
        const entry = s.vms[v.vmid];
        if (entry === undefined || entry.addrspace !== v.addrspace) return { path: `rm.hv.vms.${k}`, detail: `VM ${v.vmid}'s addrspace ${v.addrspace} is not the hypervisor's for that VMID`, objects: { vm: v.vmid } };
        for (let i = 0; i < v.vcpus.length; i++) {
          if (v.vcpus[i] !== 0 && entry.vcpus[i] !== v.vcpus[i]) return { path: `rm.hv.vms.${k}.vcpus`, detail: `VM ${v.vmid} vCPU ${i} is not registered with the hypervisor`, objects: { vm: v.vmid, vcpu: i } };
        }
      }
      return null;
    },
  },
  {
    name: "rm.irq_lending_bound",
    description: "A lent IRQ's hardware line is bound in the borrower's VIC at its VIRQ while ACCEPTED and bound nowhere while OFFERED (reference §5).",
    check(s) {
      const hv = s.rm.hv;
      if (hv === null) return null;
      for (const h of s.rm.irqs.ids) {
        const l = s.rm.irqs.byId[h]!;
        const hw = s.objects.byId[s.hwirqs[l.hwirq] ?? 0];
        const b = hw !== undefined && hw.type === "hwirq" ? hw.virq : null;
        const want = l.state === "ACCEPTED" ? { vic: hv.vms[l.borrower]?.vic ?? -1, virq: l.borrowerVirq } : null;
        if (want === null ? b !== null : b === null || b.vic !== want.vic || b.virq !== want.virq) {
          const where = b === null ? "unbound" : `bound to VIRQ ${b.virq} of VIC ${b.vic}`;
          return { path: `rm.irqs.byId.${h}`, detail: `IRQ ${l.hwirq} lent by VM ${l.owner} to VM ${l.borrower} is ${l.state} but its line is ${where}`, objects: { handle: h, hwirq: l.hwirq, owner: l.owner, borrower: l.borrower } };
        }
      }
      return null;
    },
  },
];
