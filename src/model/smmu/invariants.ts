import type { Invariant } from "../../core/invariants.ts";
import { sliceRanges } from "../rm/ranges.ts";
import type { SmmuState } from "./state.ts";
import type { VmMemState } from "../rm/vmmem.ts";

type S = { smmu: SmmuState; vmmem: VmMemState };
const shift = (v: { pa: number; rights: number }, d: number) => ({ pa: v.pa + d, rights: v.rights });

/** smmu.reach_within_device_vm: every SMMU context maps only what its VM's stage-2 maps, same PA, no more rights. */
export const smmuInvariants: readonly Invariant<S>[] = [
  {
    name: "smmu.reach_within_device_vm",
    description: "An SMMU stream reaches only memory its VM reaches, at the same address and with no more rights.",
    check(s) {
      for (const sid of s.smmu.streams.ids) {
        const st = s.smmu.streams.byId[sid]!;
        const vmS2 = s.vmmem.s2[st.vmid] ?? [];
        for (const [i, r] of st.context.entries()) {
          for (const piece of sliceRanges(vmS2, r.base, r.size, shift)) {
            const expected = { pa: r.value.pa + (piece.base - r.base), rights: r.value.rights };
            const v = piece.value;
            if (v === null || v.pa !== expected.pa || (expected.rights & ~v.rights) !== 0) {
              return {
                path: `smmu.streams.byId.${sid}.context.${i}`,
                detail: `stream ${sid} maps IOVA 0x${piece.base.toString(16)} to PA 0x${expected.pa.toString(16)}, which VM ${st.vmid} does not reach`,
                objects: { stream: sid, vm: st.vmid, iova: piece.base },
              };
            }
          }
        }
      }
      return null;
    },
  },
];
