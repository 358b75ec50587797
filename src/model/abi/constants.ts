/**
 * Gunyah ABI constants beyond call numbers and error codes: bitfield layouts, enumerations and
 * platform numbers, each with its source (reference sections in shared/reference/gunyah-hypervisor.md).
 */

/** pgtable_access (GH:hyp/interfaces/pgtable/pgtable.tc): NONE 0, X 1, W 2, R 4, RX 5, RW 6, RWX 7. */
export const ACCESS = { NONE: 0, X: 1, W: 2, R: 4, RX: 5, RW: 6, RWX: 7 } as const;
export const ACCESS_NAMES = ["NONE", "X", "W", "WX", "R", "RX", "RW", "RWX"] as const;

/** pgtable_vm_memtype, ARMv8 stage-2 MemAttr encodings (GH:hyp/mem/pgtable/armv8/pgtable.tc). */
export const VM_MEMTYPES: Readonly<Record<number, string>> = {
  0: "DEVICE_nGnRnE",
  1: "DEVICE_nGnRE",
  2: "DEVICE_nGRE",
  3: "DEVICE_GRE",
  5: "NORMAL_NC",
  6: "NORMAL_ONC_IWT",
  7: "NORMAL_ONC_IWB",
  9: "NORMAL_OWT_INC",
  10: "NORMAL_WT",
  11: "NORMAL_OWT_IWB",
  13: "NORMAL_OWB_INC",
  14: "NORMAL_OWB_IWT",
  15: "NORMAL_WB",
};
export const isDeviceMemtype = (m: number): boolean => m <= 3;

/** memextent_attrs memtype field (9:8): ANY 0, DEVICE 1, UNCACHED 2, CACHED 3 (GH:hyp/interfaces/memextent/memextent.tc). */
export const ME_MEMTYPE = { ANY: 0, DEVICE: 1, UNCACHED: 2, CACHED: 3 } as const;
/** memextent_attrs type field (17:16). */
export const ME_TYPE = { BASIC: 0, SPARSE: 1 } as const;
/** MEMEXTENT_MAX_MAPS: mapping slots per extent (reference §5.2). */
export const MEMEXTENT_MAX_MAPS = 4;
/** PGTABLE_VM_PAGE_SIZE (reference §5.2). */
export const PAGE_SIZE = 0x1000;
/** VM IPA size on QEMU: 36 bits (GH:config/platform/qemu.conf). */
export const IPA_BITS = 36;
/** addrspace_configure_vmmio: at most 128 ranges per addrspace (reference §2.5). */
export const VMMIO_RANGES_MAX = 128;

/** object_state (GH:hyp/core/object_standard/templates/object.tc.tmpl). */
export type ObjectState = "INIT" | "ACTIVE" | "FAILED";

/** thread_state (GH:hyp/interfaces/thread/thread.tc). */
export type ThreadState = "INIT" | "READY" | "KILLED" | "EXITED";

/** vcpu_option_flags (reference §6.1): the bits this model builds. */
export const VCPU_OPTION = {
  pinned: 1n << 0n,
  ras_error_handler: 1n << 1n,
  amu_counting_disabled: 1n << 2n,
  sve_allowed: 1n << 3n,
  debug_allowed: 1n << 4n,
  trace_allowed: 1n << 5n,
  critical: 1n << 8n,
  vcpu_run_scheduled: 1n << 9n,
  hlos_vm: 1n << 63n,
} as const;
export const VCPU_OPTIONS_KNOWN = Object.values(VCPU_OPTION).reduce((a, b) => a | b, 0n);

/** vcpu_run_state (reference §6.4, GH:hyp/interfaces/vcpu_run/vcpu_run.tc). */
export const VCPU_RUN_STATE = {
  READY: 0x0,
  EXPECTS_WAKEUP: 0x1,
  POWERED_OFF: 0x2,
  BLOCKED: 0x3,
  ADDRSPACE_VMMIO_READ: 0x4,
  ADDRSPACE_VMMIO_WRITE: 0x5,
  FAULT: 0x6,
  PSCI_SYSTEM_RESET: 0x100,
} as const;
export type VcpuRunStateName = keyof typeof VCPU_RUN_STATE;

/** Scheduler (FPRR) parameters (reference §6.2). */
export const SCHED = {
  PRIORITY_DEFAULT: 32,
  PRIORITY_VCPU_MAX: 62,
  TIMESLICE_DEFAULT_NS: 5_000_000,
  TIMESLICE_MIN_NS: 100_000,
  TIMESLICE_MAX_NS: 100_000_000,
} as const;

/** CPU_INDEX_INVALID (GH:hyp/core/cpulocal/cpulocal.tc). */
export const CPU_INDEX_INVALID = 0xffff;

/** vGIC numbers on the QEMU platform (reference §7.1, GH:config/platform/qemu.conf, gic-qemu.conf). */
export const GIC = {
  SGI_LAST: 15,
  PPI_FIRST: 16,
  PPI_LAST: 31,
  SPI_FIRST: 32,
  SPI_LAST: 1019,
  SPI_COUNT_MAX: 988,
  VIRTUAL_TIMER_PPI: 27,
  PHYSICAL_TIMER_PPI: 30,
  GICD_BASE: 0x0800_0000,
  GICD_SIZE: 0x1_0000,
  GICR_BASE: 0x080a_0000,
  GICR_STRIDE: 0x2_0000,
  PRIORITY_BITS: 5,
} as const;

/** msgqueue limits (reference §2.9): 0 < depth < 256, 0 < max size < 1024. */
export const MSGQUEUE = { DEPTH_LIMIT: 256, SIZE_LIMIT: 1024 } as const;

/** prng_get_entropy rate limit (reference §2.10): 4 calls per 33 ms window per thread. */
export const PRNG_RATE = { CALLS: 4, WINDOW_NS: 33_000_000 } as const;

/**
 * Cap IDs with the debug no-randomisation mapping (m = 1, base = 0;
 * GH:config/include/debug_no_cspace_rand.conf): the ID is the 16-bit cap value, table index in
 * bits 15:8, slot in bits 7:0 (GH:hyp/core/cspace_twolevel/cspace.tc). Slots per 2 KiB table and
 * tables per cspace are derived from struct sizes at build time; 62 and 233 are this model's
 * reading of those sizes ⚠ (reference §4.3 "roughly 62").
 */
export const CSPACE = { SLOTS_PER_TABLE: 62, TABLES: 233, ROOT_MAX_CAPS: 2048 } as const;
export const CSPACE_MAX_CAPS = CSPACE.SLOTS_PER_TABLE * CSPACE.TABLES;

/** PSCI function IDs (Arm DEN0022, SMCCC owner 4) and return codes, as Gunyah's vPSCI handles them. */
export const PSCI = {
  VERSION: 0x8400_0000,
  CPU_SUSPEND_32: 0x8400_0001,
  CPU_SUSPEND_64: 0xc400_0001,
  CPU_OFF: 0x8400_0002,
  CPU_ON_32: 0x8400_0003,
  CPU_ON_64: 0xc400_0003,
  AFFINITY_INFO_32: 0x8400_0004,
  AFFINITY_INFO_64: 0xc400_0004,
  SYSTEM_OFF: 0x8400_0008,
  SYSTEM_RESET: 0x8400_0009,
  FEATURES: 0x8400_000a,
  CPU_DEFAULT_SUSPEND_32: 0x8400_000c,
  CPU_DEFAULT_SUSPEND_64: 0xc400_000c,
  SYSTEM_SUSPEND_32: 0x8400_000e,
  SYSTEM_RESET2_32: 0x8400_0012,
  SYSTEM_RESET2_64: 0xc400_0012,
} as const;
/** PSCI function numbers (bits 15:0 of the ID; GH:hyp/interfaces/psci/psci.tc:7-29). */
export const PSCI_FN = {
  VERSION: 0x0,
  CPU_SUSPEND: 0x1,
  CPU_OFF: 0x2,
  CPU_ON: 0x3,
  AFFINITY_INFO: 0x4,
  SYSTEM_OFF: 0x8,
  SYSTEM_RESET: 0x9,
  FEATURES: 0xa,
  CPU_DEFAULT_SUSPEND: 0xc,
  SYSTEM_SUSPEND: 0xe,
  SYSTEM_RESET2: 0x12,
} as const;
/** psci_ret (GH:hyp/interfaces/psci/psci.tc:31-41). */
export const PSCI_RET = { SUCCESS: 0, NOT_SUPPORTED: -1, INVALID_PARAMETERS: -2, DENIED: -3, ALREADY_ON: -4, ON_PENDING: -5, INTERNAL_FAILURE: -6 } as const;
/** PLATFORM_MAX_CORES on QEMU (GH:config/platform/qemu.conf): the bound of CPU and PSCI indices. */
export const PLATFORM_MAX_CORES = 8;
/** PSCI 1.1 (GH:hyp/vm/psci/psci.tc); SMCCC 1.3 (GH:hyp/interfaces/smccc/smccc.tc). */
export const PSCI_VERSION_VALUE = 0x1_0001;
export const SMCCC_VERSION_VALUE = 0x1_0003;
export const SMCCC_VERSION_ID = 0x8000_0000;
/** Vendor-hyp CALL_UID (0x8600FF01): the Gunyah UUID words (reference §1.2). */
export const SMCCC_VENDOR_HYP_CALL_UID = 0x8600_ff01;
export const GUNYAH_UUID_WORDS = [0xcd8fd5c1n, 0xdb5f53a4n, 0x36ce6592n, 0x145f3d67n] as const;
