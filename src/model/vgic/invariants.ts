import type { Invariant, Violation } from "../../core/invariants.ts";
import type { Machine } from "../machine.ts";

/** vGIC invariants (reference §7). */
export const vgicInvariants: readonly Invariant<Machine>[] = [
  {
    name: "vgic.virq_pending_only_on_own_vm",
    description: "A VIC's vCPUs all belong to one VM, and a pending SPI routes only to a vCPU attached to that same VIC.",
    // A pending SPI is delivered to `vcpus[route]` (virq.ts), so checking every listed vCPU covers
    // where any SPI can go. Walking the SPI records as well found nothing more and, as a `for..in`
    // over sparse INTIDs after every event of a fuzz run, cost an eighth of the run.
    check(s): Violation | null {
      for (const id of s.objects.ids) {
        const vic = s.objects.byId[id]!;
        if (vic.type !== "vic") continue;
        let vm = -1;
        for (const tid of vic.vcpus) {
          if (tid === 0) continue;
          const t = s.objects.byId[tid];
          if (t === undefined || t.type !== "thread" || t.vic !== id) return { path: `objects.byId.${id}.vcpus`, detail: `VIC ${id} lists thread ${tid}, which is not attached to it`, objects: { vic: id, thread: tid } };
          if (t.state === "ACTIVE" && vm >= 0 && t.vm !== vm) return { path: `objects.byId.${id}.vcpus`, detail: `VIC ${id} serves vCPUs of VMs ${vm} and ${t.vm}`, objects: { vic: id } };
          if (t.state === "ACTIVE") vm = t.vm;
        }
      }
      return null;
    },
  },
];
