/**
 * The SMMU: stream IDs bound to a VM's translation. A stream's context IS its VM's stage-2 (the
 * addrspace's table, as Gunyah lets SMMUs share stage-2 tables: reference gunyah-hypervisor.md §8,
 * GH:hyp/mem/pgtable/armv8/src/pgtable.c comments), so a device reaches exactly what its VM reaches,
 * through every lend, share, accept, release, reclaim and donate, with no copy to keep in step.
 * Gunyah's open tree has no SMMU driver and the RM has no RPC to assign a stream (its vsmmu-v2
 * vdevice is unsupported on QEMU, §8): binding is the platform's `smmu_bind` event.
 */
export interface SmmuStream {
  sid: number;
  vmid: number;
}

export interface SmmuState {
  streams: { ids: number[]; byId: Record<number, SmmuStream> };
  txns: number;
  faults: number;
  lastFault: { sid: number; iova: number; access: string } | null;
}

export const smmuGenesis = (): SmmuState => ({ streams: { ids: [], byId: {} }, txns: 0, faults: 0, lastFault: null });
