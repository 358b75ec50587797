import type { ObjectHeader } from "../object/state.ts";

/**
 * Memory: the ownership database (memdb), memory extents and stage-2 address spaces
 * (reference §5; GH:hyp/interfaces/memdb, GH:hyp/mem/memextent, GH:hyp/mem/addrspace).
 * Everything is kept as sorted, non-overlapping RANGES, never per page: a VM has hundreds of MB.
 */

/** memdb owner types that own memory in this model (NOTYPE = no entry; ALLOCATOR/TRACE unused). */
export type MemdbOwnerType = "PARTITION" | "EXTENT";

/** One physical range with one owner. `ranges` is sorted by `base`, ranges never overlap. */
export interface MemdbRange {
  base: number;
  size: number;
  ownerType: MemdbOwnerType;
  owner: number;
}

export interface MemdbState {
  ranges: MemdbRange[];
}

/** One stage-2 translation: [ipa, ipa+size) → [pa, pa+size), installed by a memextent mapping. */
export interface S2Range {
  ipa: number;
  size: number;
  pa: number;
  /** EL1 (kernel) access, pgtable_access. */
  access: number;
  /** EL0 (user) access. */
  userAccess: number;
  /** pgtable_vm_memtype. */
  memtype: number;
  memextent: number;
}

export interface VmmioRange {
  base: number;
  size: number;
}

/** An emulated device placed in the IPA space with addrspace_attach_vdevice (vGIC: GICD or a GICR). */
export interface VdeviceRange {
  base: number;
  size: number;
  vic: number;
  /** 0 = GICD; i ≥ 1 = the GICR of VIC attachment index i-1 (reference §7.1). */
  index: number;
}

export interface AddrspaceObject extends ObjectHeader {
  readonly type: "addrspace";
  /** 0 until addrspace_configure; 1..255. */
  vmid: number;
  /** The stage-2 table, sorted by ipa. */
  s2: S2Range[];
  vmmio: VmmioRange[];
  vdevices: VdeviceRange[];
  /** Threads attached (at most PLATFORM_MAX_CORES). */
  threads: number[];
  infoArea: { memextent: number; ipa: number } | null;
  /** Guest ranges the RM made demand-paged (VM_SET_DEMAND_PAGING, rm/demand.ts): a translation fault there is a vcpu_run PAGE_FAULT. */
  demandPaging?: { base: number; size: number }[];
  /**
   * addrspace->read_only (GH:hyp/mem/addrspace/addrspace.tc:38): maps and unmaps are DENIED. No
   * code in the open tree sets it; it is kept so the checks follow the source.
   */
  readOnly: boolean;
}

/** One mapped sub-range of an extent mapping: extent offset → vbase, with its attributes. */
export interface MeMapRange {
  vbase: number;
  offset: number;
  size: number;
  userAccess: number;
  kernelAccess: number;
  memtype: number;
}

/** A mapping slot: one per addrspace (MEMEXTENT_MAX_MAPS = 4 slots). */
export interface MeMapping {
  addrspace: number;
  ranges: MeMapRange[];
}

export interface MemextentObject extends ObjectHeader {
  readonly type: "memextent";
  kind: "BASIC" | "SPARSE";
  base: number;
  size: number;
  access: number;
  /** memextent memtype policy: ANY 0, DEVICE 1, UNCACHED 2, CACHED 3. */
  memtype: number;
  /** Parent extent object id, 0 for a top-level extent (its "parent" is its partition). */
  parent: number;
  mappings: MeMapping[];
  /** Attached to the hypervisor (info area): children cannot activate (BUSY). */
  attached: boolean;
}
