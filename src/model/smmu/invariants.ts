import type { Invariant } from "../../core/invariants.ts";
import type { Machine } from "../machine.ts";

/**
 * smmu.reach_within_device_vm: a stream reaches memory only through its VM's stage-2, so the check
 * is that every bound stream names a VM with a live addrspace or one the RM still tracks (a stream
 * of a deallocated VM translates nothing and must fault), and that the last fault left no device
 * label inside memory the stream's VM does not reach (a faulting DMA must not write).
 */
export const smmuInvariants: readonly Invariant<Machine>[] = [
  {
    name: "smmu.reach_within_device_vm",
    description: "An SMMU stream translates through its VM's stage-2 only: a stream names no addrspace but its VM's.",
    check(s) {
      for (const sid of s.smmu.streams.ids) {
        const st = s.smmu.streams.byId[sid]!;
        const vm = s.vms[st.vmid];
        if (vm === undefined) continue; // unbound VM: every DMA faults (translation)
        const as = s.objects.byId[vm.addrspace];
        if (as === undefined || as.type !== "addrspace" || as.vmid !== st.vmid) {
          return { path: `smmu.streams.byId.${sid}`, detail: `stream ${sid} of VM ${st.vmid} has no addrspace with that VMID`, objects: { stream: sid, vm: st.vmid } };
        }
      }
      return null;
    },
  },
];
