/**
 * The SMMU: stream IDs bound to a VM's translation. Each bound stream has its own context
 * (IOVA -> PA ranges) that mirrors the VM's stage-2, refreshed whenever the RM changes that VM's
 * memory (lend, share, accept, release, reclaim, donate), so a device reaches exactly what its VM
 * reaches. Gunyah's open tree has no SMMU driver (reference gunyah-hypervisor.md §8): this follows
 * the hint there that SMMUs share stage-2 tables with the VM.
 */
import type { Range } from "../rm/ranges.ts";
import type { S2Entry } from "../rm/vmmem.ts";

export interface SmmuStream {
  sid: number;
  vmid: number;
  context: Range<S2Entry>[];
}

export interface SmmuState {
  streams: { ids: number[]; byId: Record<number, SmmuStream> };
  txns: number;
  faults: number;
  lastFault: { sid: number; iova: number; access: string } | null;
}

export const smmuGenesis = (): SmmuState => ({ streams: { ids: [], byId: {} }, txns: 0, faults: 0, lastFault: null });
