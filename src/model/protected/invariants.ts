/**
 * The isolation oracle: DESIGN.md's invariants over the whole machine, with protected VMs in mind
 * (reference avf-protected-vm.md §5.4, the pKVM "ghost" predicates, restated for Gunyah's
 * memparcels). `hvsim check` runs them after every event; the first failure names the invariant,
 * the event index and the objects. They read the VM rooms' memory view (`translate`, owners,
 * labels) and the SMMU contexts; per-event work is a walk over tens of ranges.
 *
 * Some overlap with room invariants (rm.*, smmu.*): these are stated from the protected VM's side
 * and run first, so a report names the isolation property that broke.
 */
import type { Invariant, Violation } from "../../core/invariants.ts";
import { AUTH_TYPE, VMID } from "../abi/rm.ts";
import type { Machine } from "../machine.ts";
import { translate } from "../memory/stage2.ts";
import { extentPieces, mapsPa, s2Of, vmids } from "./view.ts";

const hex = (n: number): string => `0x${n.toString(16)}`;

/** VMIDs of protected VMs: auth type ANDROID in the RM, or known to the protected room. */
function protectedVms(s: Machine): number[] {
  const out: number[] = [];
  for (const id of s.rm.vms.ids) if (s.rm.vms.byId[id]!.authType === AUTH_TYPE.ANDROID) out.push(id);
  for (const id of s.pvm.vms.ids) if (!out.includes(id)) out.push(id);
  return out;
}

/** A protected VM's private memory now: regions of LEND/DONATE parcels it borrows, and extents donated to it. */
function privateRanges(s: Machine, vmid: number): { base: number; size: number; why: string }[] {
  const out: { base: number; size: number; why: string }[] = [];
  for (const h of s.rm.parcels.ids) {
    const p = s.rm.parcels.byId[h]!;
    if (p.transType === "SHARE" || !p.borrowers.some((b) => b.vmid === vmid)) continue;
    for (const r of p.regions) out.push({ base: r.pa, size: r.size, why: `parcel ${h} (${p.transType})` });
  }
  for (const id of s.rm.hv?.vms[vmid]?.extents ?? []) for (const r of extentPieces(s, id)) out.push({ ...r, why: `extent ${id}` });
  return out;
}

const hostNoPvmPrivate: Invariant<Machine> = {
  name: "isolation.host_no_pvm_private",
  description:
    "Memory lent or donated to a protected VM is reached by no other VM's stage-2 (the host's included) so by no SMMU stream of another VM either.",
  check(s): Violation | null {
    const pvms = protectedVms(s);
    if (pvms.length === 0) return null;
    const all = vmids(s);
    for (const p of pvms) {
      for (const r of privateRanges(s, p)) {
        for (const v of all) {
          if (v === p) continue;
          const hit = mapsPa(s2Of(s, v), r.base, r.size);
          if (hit !== null) {
            return { path: `vms.${v}`, detail: `VM ${v} maps IPA ${hex(hit.ipa)} to PA ${hex(hit.pa)}, private to protected VM ${p} (${r.why})`, objects: { vm: v, pvm: p, pa: hit.pa } };
          }
        }
        // SMMU streams walk their VM's stage-2, so a stream of another VM reaches these pages only if that
        // stage-2 does (checked above); cached translations are checked by isolation.smmu_within_vm.
      }
    }
    return null;
  },
};

const smmuWithinVm: Invariant<Machine> = {
  name: "isolation.smmu_within_vm",
  description: "A device DMA reaches only memory its stream's VM reaches: the SMMU's translation (cached or walked) is the VM's stage-2 translation of the IOVA.",
  check(s): Violation | null {
    const d = s.pvm.lastDma;
    if (d === null || d.s2pa === d.pa) return null;
    return { path: "pvm.lastDma", detail: `stream ${d.sid} (VM ${d.vmid}) reached PA ${hex(d.pa)} at IOVA ${hex(d.iova)}${d.cached ? " through a cached translation" : ""}, which VM ${d.vmid} ${d.s2pa === null ? "did not map" : `mapped to ${hex(d.s2pa)}`}`, objects: { stream: d.sid, vm: d.vmid, iova: d.iova, pa: d.pa } };
  },
};

const noStaleRead: Invariant<Machine> = {
  name: "isolation.reclaimed_memory_sanitised",
  description: "The host never reads a page still holding a protected VM's data from that VM's private memory: lent memory is zeroed before its owner gets it back.",
  check(s): Violation | null {
    const r = s.pvm.hostRead;
    if (r === null || r.label === null || !r.label.startsWith("vm")) return null;
    const p = Number(r.label.slice(2));
    const vm = s.pvm.vms.byId[p];
    if (vm === undefined || !vm.privatePa.some((x) => r.pa >= x.base && r.pa < x.base + x.size)) return null;
    return { path: "pvm.hostRead", detail: `the host read PA ${hex(r.pa)}, which still holds protected VM ${p}'s data`, objects: { pvm: p, pa: r.pa } };
  },
};

const rollbackRespected: Invariant<Machine> = {
  name: "isolation.rollback_respected",
  description: "pvmfw hands off only to a verified payload whose rollback index is at least the stored one.",
  check(s): Violation | null {
    for (const id of s.pvm.vms.ids) {
      const v = s.pvm.vms.byId[id]!;
      if (v.stage !== "payload") continue;
      if (v.payload?.avb !== "OK") return { path: `pvm.vms.byId.${id}.stage`, detail: `protected VM ${id} runs a payload that did not verify (${v.payload?.avb ?? "none"})`, objects: { pvm: id } };
      const b = v.boot;
      if (b !== null && b.rollbackIndex < b.storedAtBoot) {
        return { path: `pvm.vms.byId.${id}.boot`, detail: `protected VM ${id} booted rollback index ${b.rollbackIndex} below the stored ${b.storedAtBoot}`, objects: { pvm: id, rollbackIndex: Number(b.rollbackIndex), stored: Number(b.storedAtBoot) } };
      }
    }
    return null;
  },
};

const virqToOwner: Invariant<Machine> = {
  name: "isolation.virq_to_owner",
  description: "A device's virtual interrupt is raised only in the VM the device belongs to.",
  check(s): Violation | null {
    const l = s.pvm.lastIrqfd;
    if (l === null || l.vm === l.deviceVm) return null;
    return { path: "pvm.lastIrqfd", detail: `the irqfd (label ${l.device}) of VM ${l.deviceVm}'s device raised SPI ${l.spi} in VM ${l.vm}`, objects: { irqfd: l.device, vm: l.vm, owner: l.deviceVm } };
  },
};

/**
 * A stage-2 reaches only memory the VM may: through an extent it owns (its RAM, donations it
 * accepted) or a parcel's extent it accepted or, for a share, owns. (The RM, which holds every
 * extent, is not checked.)
 */
const s2OwnedOrLent: Invariant<Machine> = {
  name: "isolation.s2_owned_or_lent",
  description: "Every stage-2 mapping of a VM the RM manages goes through an extent the VM owns, or a parcel it owns (a share) or accepted.",
  check(s): Violation | null {
    const hv = s.rm.hv;
    if (hv === undefined || hv === null) return null;
    for (const v of vmids(s)) {
      if (v === VMID.RM) continue;
      const mine = hv.vms[v]?.extents ?? [];
      const info = hv.vms[v]?.infoArea?.memextent ?? 0; // the RM's read-only info-area page (PV time)
      for (const r of s2Of(s, v)) {
        if (mine.includes(r.memextent) || r.memextent === info || parcelAllows(s, v, r.memextent)) continue;
        return { path: `vms.${v}`, detail: `VM ${v} maps IPA ${hex(r.ipa)} (PA ${hex(r.pa)}) through extent ${r.memextent}, which it neither owns nor accepted`, objects: { vm: v, ipa: r.ipa, pa: r.pa, memextent: r.memextent } };
      }
    }
    return null;
  },
};

function parcelAllows(s: Machine, v: number, memextent: number): boolean {
  for (const h of s.rm.parcels.ids) {
    const p = s.rm.parcels.byId[h]!;
    if (p.memextent !== memextent) continue;
    if (p.transType === "SHARE" && p.owner === v) return true;
    if (p.borrowers.some((b) => b.vmid === v && b.mapped)) return true;
  }
  return false;
}

export const protectedInvariants: readonly Invariant<Machine>[] = [
  hostNoPvmPrivate,
  smmuWithinVm,
  noStaleRead,
  rollbackRespected,
  virqToOwner,
  s2OwnedOrLent,
];
