/**
 * The end of a swarm run is its liveness check (VOPR's liveness mode: faults stop, the system must
 * converge). Every actor except the guests finished its program (a VMM that never got past a step
 * is stalled); after the VMMs and the hostile host took everything back, no VM the host created is
 * left (unless its vm-attrs keep it: no-shutdown, no-reset and crash-fatal VMs are kept by the RM
 * on purpose), and no parcel of the host's is left, nor one whose owner is gone. Failures found
 * during the run (a guest that went down and stayed RUNNING, a forced stop with no effect) are
 * added by the VMMs as they happen (vmm.ts).
 */
import { VMID } from "../../model/abi/rm.ts";
import type { Machine } from "../../model/machine.ts";
import type { RmVm } from "../../model/rm/state.ts";
import type { LivenessFailure, SwarmRun } from "./runtime.ts";

/** The RM keeps this VM by design (its config says it may not shut down or reset). */
export const keptByAttrs = (vm: RmVm | undefined): boolean => vm?.config?.noShutdown === true || vm?.config?.noReset === true || vm?.config?.crashFatal === true;

export function endOfRunLiveness(run: SwarmRun, s: Machine, lastIndex: number): LivenessFailure[] {
  const out: LivenessFailure[] = [];
  const must = ["launcher", "hostile-host", "platform", ...run.world.vms.map((vm) => `vmm:${vm.name}`)];
  const stalled = must.filter((n) => !run.finished.has(n));
  if (stalled.length > 0) out.push({ kind: "stalled", index: lastIndex, detail: `no event can happen any more, but ${stalled.join(", ")} did not finish (each waits for something that never comes)` });
  const kept = new Set<number>();
  for (const id of s.rm.vms.ids) {
    const vm = s.rm.vms.byId[id]!;
    if (id === VMID.HLOS || vm.owner !== VMID.HLOS) continue;
    if (keptByAttrs(vm)) {
      kept.add(id);
      continue;
    }
    out.push({ kind: "stuck-vm", index: lastIndex, detail: `VM ${id} is still ${vm.status} after the host released every VM and VMID it had` });
  }
  for (const h of s.rm.parcels.ids) {
    const p = s.rm.parcels.byId[h]!;
    if (p.transType === "DONATE") continue;
    if (p.borrowers.some((b) => kept.has(b.vmid)) || kept.has(p.owner)) continue;
    const ownerGone = p.owner !== VMID.HLOS && p.owner !== VMID.RM && s.rm.vms.byId[p.owner] === undefined;
    if (p.owner === VMID.HLOS || ownerGone) {
      const whose = ownerGone ? `its owner VM ${p.owner} is gone` : `the host took back every parcel it knew of`;
      out.push({ kind: "leaked-parcel", index: lastIndex, detail: `parcel ${h} (${p.transType}, owner ${p.owner}, ${p.regions.reduce((n, r) => n + r.size, 0)} bytes) is still there, though ${whose}` });
    }
  }
  return out;
}
