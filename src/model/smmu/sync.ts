/**
 * Keeps SMMU contexts in step with their VMs' memory: called by the RM after every change to a
 * VM's stage-2 (lend, share, accept, release, reclaim, donate, reset). A context is a copy of the
 * VM's IPA ranges (tens of entries), so the refresh is cheap and no stale device mapping survives.
 */
import type { SmmuState } from "./state.ts";
import type { VmMemState } from "../rm/vmmem.ts";

export function smmuSyncVm(s: { smmu: SmmuState; vmmem: VmMemState }, vmid: number): void {
  for (const sid of s.smmu.streams.ids) {
    const st = s.smmu.streams.byId[sid]!;
    if (st.vmid !== vmid) continue;
    const src = s.vmmem.s2[vmid] ?? [];
    st.context = src.map((r) => ({ base: r.base, size: r.size, value: { pa: r.value.pa, rights: r.value.rights } }));
  }
}
