import type { Invariant } from "../../core/invariants.ts";
import type { Machine } from "../machine.ts";
import { ownsRange } from "../memory/memdb.ts";

/**
 * smmu.reach_within_device_vm: a stream reaches memory only through its VM's stage-2 (state.ts),
 * so every translation a bound stream could make is a stage-2 range of its VM. Each such range
 * must (1) belong to the addrspace carrying the stream's VMID, (2) come from a memextent that has
 * a mapping slot in that addrspace (the VM was given the extent), and (3) land in physical memory
 * that extent still owns in the memdb (not memory donated away, reclaimed by its owner or freed).
 * A stream of a VM without an addrspace translates nothing (every DMA faults). The SMMU's IOTLB
 * (src/model/protected/iotlb.ts) is checked by `isolation.smmu_within_vm`.
 */
export const smmuInvariants: readonly Invariant<Machine>[] = [
  {
    name: "smmu.reach_within_device_vm",
    description: "Every translation an SMMU stream can make is its VM's stage-2, into memory an extent mapped into that VM owns.",
    check(s) {
      for (const sid of s.smmu.streams.ids) {
        const st = s.smmu.streams.byId[sid]!;
        const vm = s.vms[st.vmid];
        if (vm === undefined) continue; // unbound VM: every DMA faults (translation)
        const as = s.objects.byId[vm.addrspace];
        if (as === undefined || as.type !== "addrspace" || as.vmid !== st.vmid) {
          return { path: `smmu.streams.byId.${sid}`, detail: `stream ${sid} of VM ${st.vmid} has no addrspace with that VMID`, objects: { stream: sid, vm: st.vmid } };
        }
        for (let i = 0; i < as.s2.length; i++) {
          const r = as.s2[i]!;
          const me = s.objects.byId[r.memextent];
          const path = `objects.byId.${as.id}.s2.${i}`;
          const objects = { stream: sid, vm: st.vmid, ipa: r.ipa, pa: r.pa, memextent: r.memextent };
          if (me === undefined || me.type !== "memextent" || !me.mappings.some((m) => m.addrspace === as.id)) {
            return { path, detail: `stream ${sid} of VM ${st.vmid} translates IPA 0x${r.ipa.toString(16)} through memextent ${r.memextent}, which is not mapped into the VM`, objects };
          }
          if (!ownsRange(s, r.pa, r.size, { type: "EXTENT", id: r.memextent })) {
            return { path, detail: `stream ${sid} of VM ${st.vmid} translates IPA 0x${r.ipa.toString(16)} to PA 0x${r.pa.toString(16)} (+0x${r.size.toString(16)}), memory its memextent ${r.memextent} does not own`, objects };
          }
        }
      }
      return null;
    },
  },
];
