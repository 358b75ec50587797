/**
 * The Resource Manager's slice of machine state: the VMs it manages, the memory parcels and IRQ
 * lendings it brokers, and counters for its RPC channels. Plain data, `{ids, byId}` collections.
 */
import type { VmStatus, TransType } from "../abi/rm.ts";
import type { AclEntry, AttrEntry, SglEntry } from "./payloads.ts";
import type { RmHv } from "./hv.ts";
import type { Reassembly } from "./rpc.ts";

/** The VM's configuration as the RM parses it at VM_INIT from the DT in the image parcel. */
export interface VmConfig {
  /** `memory/base-address`: where the image parcel is accepted. */
  baseAddress: number;
  vcpus: number;
  /** Labelled memory nodes (shm, swiotlb, RAM regions): a parcel with this label is accepted at `base`. */
  memory: { label: number; base: number }[];
  /** Doorbell vdevices from the VMM's irqfds: label -> guest SPI. */
  bells: { label: number; irq: number }[];
  /** vm-attrs. */
  noShutdown: boolean;
  noReset: boolean;
  crashFatal: boolean;
  /** `image-name` and `vm-uri` (VM_LOOKUP_NAME / VM_LOOKUP_URI match them). */
  name: string;
  uri: string;
  /** The DT already has a /hypervisor node: the RM refuses to build its overlay on it (vm_creation.c:1508-1512). */
  hasHypervisorNode: boolean;
  /**
   * The VM's DT has a PSCI node (or PSCI CPUs): the RM gives it a VPM group
   * (RM:src/vm_config/vm_config_parser.c:1502, 1594). crosvm's DT always has one.
   */
  psci: boolean;
}

export interface RmVcpu {
  power: "off" | "on";
  pc: number;
  x0: number;
}

export interface RmVm {
  vmid: number;
  owner: number;
  status: VmStatus;
  /** The state before the last change, so the edge can be checked (rm.vm_state_edges). */
  prevStatus: VmStatus;
  osStatus: number;
  appStatus: number;
  authType: number;
  imageHandle: number;
  imageOffset: number;
  imageSize: number;
  dtOffset: number;
  dtSize: number;
  /** null until VM_INIT parsed the DT. */
  config: VmConfig | null;
  vcpus: { ids: number[]; byId: Record<number, RmVcpu> };
  /** The last NOTIFY_VM_EXITED the RM sent for this VM. */
  exit: { type: number; reason: number[] } | null;
  /** VM_SET_CRASH_MSG's message; null when none was set (the exit code asks which). */
  crashMsg: string | null;
  /** Parcels the VM has accepted, in accept order (vm_config->accepted_memparcels). */
  accepted: number[];
  /** mem_size: the image parcel's size at VM_CONFIG_IMAGE, grown by private parcels at VM_START. */
  memSize: number;
  /** The RM's IPA allocator for the VM: allocated ranges, sorted by base (rm/ipa.ts). */
  ipaUsed: { base: number; size: number }[];
  /** How often VM_START succeeded: a restarted VM counts twice. */
  boots: number;
}

/**
 * One borrower (ACL entry) of a parcel, with its own state (vm_meminfo_t, RM:src/memparcel/
 * memparcel.c:47-58): `accepted` is the RM's `shared` (set by the first MEM_ACCEPT, with or without
 * DONE), `mapped` is set once a DONE accept mapped it.
 */
export interface ParcelBorrower {
  vmid: number;
  rights: number;
  /** MEM_ATTR (default NORMAL, DEVICE for IO) from the attr list. */
  attr: number;
  accepted: boolean;
  mapped: boolean;
  /** MAP_CONTIGUOUS: one IPA range for the whole parcel. */
  contiguous: boolean;
  /** IPAs allocated so far (one for a contiguous accept, else one per region, in order). */
  alloc: number[];
  /** Where each region is mapped in the borrower's stage-2, while mapped. */
  ipas: number[];
}

/** One physical region of a parcel and where its owner had it. */
export interface ParcelRegion {
  pa: number;
  size: number;
  ownerIpa: number;
}

export interface Parcel {
  handle: number;
  owner: number;
  transType: TransType;
  memType: number;
  label: number;
  memInfoTag: number;
  /** The tag has been set (by the first MEM_NOTIFY SHARED; 0 is a valid tag). */
  memInfoTagSet: boolean;
  /** Created with SANITIZE: zeroed at create, and VALIDATE_SANITIZED succeeds (sanitize_create). */
  sanitized: boolean;
  /**
   * sanitize_reclaim: zero the pages before the owner regains them. Starts false; set only by the
   * SANITIZE flag of an accept, a release or the reclaim itself (memparcel.c:657, 1371, 1734, 1874).
   */
  sanitizeOnReclaim: boolean;
  /** memparcel_set_lock (memparcel.c:2666): release and reclaim are DENIED. No open-RM path sets it. */
  locked: boolean;
  /** INIT until the SGL is complete (an APPEND create waits for MEM_APPEND DONE), then SHARING / SHARED. */
  state: "INIT" | "SHARING" | "SHARED";
  acl: AclEntry[];
  attrs: AttrEntry[];
  sgl: SglEntry[];
  regions: ParcelRegion[];
  borrowers: ParcelBorrower[];
  /** The parcel's own memextent (object id) holding its pages while the parcel lives (§4.3). */
  memextent: number;
  /** The owner's extent the pages came from, and go back to at reclaim. */
  source: number;
}

/** An IRQ lent between VMs (reference §5). */
export interface IrqLending {
  handle: number;
  owner: number;
  borrower: number;
  /** The owner's vIRQ number (the HW IRQ in the RM). */
  virq: number;
  /** The hardware SPI behind it: unbound from the owner's VIC while lent, bound in the borrower's while accepted. */
  hwirq: number;
  label: number;
  state: "OFFERED" | "ACCEPTED";
  /** The borrower's vIRQ while accepted. */
  borrowerVirq: number;
}

export interface RmChannel {
  requests: number;
  packetsIn: number;
  packetsOut: number;
  notifications: number;
}

export interface RmState {
  vms: { ids: number[]; byId: Record<number, RmVm> };
  parcels: { ids: number[]; byId: Record<number, Parcel> };
  irqs: { ids: number[]; byId: Record<number, IrqLending> };
  /** Per client VMID: traffic on its msgqueue pair. */
  channels: Record<number, RmChannel>;
  nextParcelHandle: number;
  /** The RM's global notification counter (RM:src/rpc/rm-rpc.c), u16. */
  notifySeq: number;
  /** Handles of lent IRQs are a boot-time base + the HW IRQ number (RM:src/irq_manager). */
  irqHandleBase: number;
  /** The RM's hypervisor objects and each VM's (null: a bare RM without the HLOS, MachineConfig.hlos false). */
  hv: RmHv | null;
  /** Per client VMID: the RM's partly reassembled request (RM:src/rpc/rm-rpc.c). */
  rx: Record<number, Reassembly | null>;
  /** Notifications the RM could not queue (client RX queue full); it keeps up to 256 per client (§1.5). */
  pendingNotify: Record<number, number>;
  /** Peer lists by VMID, registered both ways (vm_register_peers, RM:src/vm_mgnt/vm_mgnt.c:1303-1333). */
  peers: Record<number, number[]>;
}

export function rmGenesis(): RmState {
  return {
    vms: { ids: [], byId: {} },
    parcels: { ids: [], byId: {} },
    irqs: { ids: [], byId: {} },
    channels: {},
    nextParcelHandle: 1,
    notifySeq: 0,
    irqHandleBase: 0x1000,
    hv: null,
    rx: {},
    pendingNotify: {},
    peers: {},
  };
}

/** Removes an id from an `{ids, byId}` collection with plain writes. */
export function dropId<T>(c: { ids: number[]; byId: Record<number, T> }, id: number): void {
  const i = c.ids.indexOf(id);
  if (i >= 0) c.ids.splice(i, 1);
  delete c.byId[id];
}
export function addId<T>(c: { ids: number[]; byId: Record<number, T> }, id: number, v: T): void {
  if (!c.ids.includes(id)) c.ids.push(id);
  c.byId[id] = v;
}
