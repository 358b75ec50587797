/**
 * The host VMM and the Linux gunyah driver beneath it, as one room: the VM fds crosvm holds, the
 * memory regions it registered, its functions (vCPUs, irqfds, ioeventfds) and the driver's mirror
 * of the VM state (reference §3.5, §7, §8).
 */
export interface VmmRegion {
  label: number;
  /** ALLOW_READ 1, WRITE 2, EXEC 4 (GH_ generation). */
  flags: number;
  guestPhysAddr: number;
  size: number;
  /** Where the memory sits in the host (its IPA; the HLOS is identity-mapped). */
  userspaceAddr: number;
  /** The host pieces behind a fragmented region, in guest order (absent: one run from userspaceAddr). */
  backing?: { addr: number; size: number }[];
  lend: boolean;
  /** The parcel handle once sent to the RM at start; 0 before. */
  parcel: number;
}

export type LinuxVmStatus = "NO_STATE" | "LOAD" | "READY" | "RUNNING" | "EXITED" | "RESET";

export interface VmmVm {
  fd: number;
  vmid: number;
  status: LinuxVmStatus;
  regions: VmmRegion[];
  dtb: { guestPhysAddr: number; size: number } | null;
  vcpus: number[];
  irqfds: { label: number; level: boolean }[];
  ioeventfds: { addr: number; len: number }[];
  /** Virtio device ids (virtio room) on this VM's MMIO bus. */
  devices: number[];
  /** The last VM_EXITED the driver received (exit_type, reason words). */
  exit: { type: number; reason: number[] } | null;
  /** Per vCPU index: the MMIO exit crosvm holds (until the next VCPU_RUN resumes the vCPU). */
  mmio: Record<number, VmmMmioExit>;
  /** Writes ioeventfds took in the kernel, waiting for crosvm's device worker. */
  ioevents: VmmMmioExit[];
  /** guest_memfd bindings, boot context and the pages provided on demand (issue 17, vmm/gmem.ts); absent: none. */
  gmem?: VmmGmemVm;
}

/** A guest_memfd file: its size and where its folios sit in the host. */
export interface VmmGuestMem {
  fd: number;
  size: number;
  hostAddr: number;
}

/** VM_MAP_MEM: guest range → guest_memfd offset, lend or share, its access (ALLOW_READ/WRITE/EXEC). */
export interface VmmGmemBinding {
  guestMemFd: number;
  guestAddr: number;
  offset: number;
  size: number;
  lend: boolean;
  write: boolean;
}

export interface VmmGmemVm {
  bindings: VmmGmemBinding[];
  bootContext: { reg: number; value: bigint }[];
  /** Pages provided on PAGE_FAULT exits, in order: guest page, host page, the RM parcel. */
  provided: { gpa: number; hostAddr: number; handle: number; lend: boolean }[];
}

/** An access forwarded from the hypervisor's VMMIO exit (reference §7.4 run page, MMIO union). */
export interface VmmMmioExit {
  vcpu: number;
  ipa: number;
  size: number;
  write: boolean;
  /** The access's data as the run page carries it (u8[8]: a 64-bit write keeps all its bits). */
  value: bigint;
  /** crosvm emulated it (a read's value is ready for the resume). */
  handled: boolean;
}

export interface VmmState {
  vms: { ids: number[]; byId: Record<number, VmmVm> };
  nextFd: number;
  /** The driver's RPC sequence counter (allocated cyclically over 16 bits). */
  rpcSeq: number;
  nextDevice: number;
  /** guest_memfd files by fd (issue 17); absent until the first CREATE_GUEST_MEM. */
  guestMems?: Record<number, VmmGuestMem>;
}

/**
 * The VMM VM behind a guest VMID (events that name the guest rather than a fd). The newest wins: a
 * VMID is reused only after the RM freed it, so an older fd still naming it holds a dead VM.
 */
export function vmmVmByVmid(s: { vmm: VmmState }, vmid: number): VmmVm | undefined {
  const ids = s.vmm.vms.ids;
  for (let i = ids.length - 1; i >= 0; i--) {
    const v = s.vmm.vms.byId[ids[i]!]!;
    if (v.vmid === vmid) return v;
  }
  return undefined;
}

export const vmmGenesis = (): VmmState => ({ vms: { ids: [], byId: {} }, nextFd: 3, rpcSeq: 1, nextDevice: 1 });

/** Linux errno values the ioctls return (negated). */
export const ERRNO = { EPERM: 1, ENOENT: 2, EINTR: 4, EFAULT: 14, EBUSY: 16, EEXIST: 17, ENODEV: 19, EINVAL: 22, ENOMEM: 12, E2BIG: 7, EBADMSG: 74, EOPNOTSUPP: 95 } as const;

/** RM error -> errno as the Linux driver maps it (reference §1.4); unknown codes give -EBADMSG. */
export function rmErrno(err: string): number {
  const table: Record<string, number> = {
    OK: 0, NOMEM: -ERRNO.ENOMEM, NORESOURCE: -ERRNO.ENODEV, DENIED: -ERRNO.EPERM, MSG_INVALID: -ERRNO.EINVAL, BUSY: -ERRNO.EBUSY,
    ARGUMENT_INVALID: -ERRNO.EINVAL, HANDLE_INVALID: -ERRNO.EINVAL, VALIDATE_FAILED: -ERRNO.EINVAL, MAP_FAILED: -ERRNO.EINVAL,
    MEM_INVALID: -ERRNO.EINVAL, MEM_INUSE: -ERRNO.EINVAL, MEM_RELEASED: -ERRNO.EINVAL, VMID_INVALID: -ERRNO.EINVAL,
    LOOKUP_FAILED: -ERRNO.EINVAL, IRQ_INVALID: -ERRNO.EINVAL, IRQ_INUSE: -ERRNO.EINVAL, IRQ_RELEASED: -ERRNO.EINVAL,
    UNIMPLEMENTED: -ERRNO.EOPNOTSUPP,
  };
  return table[err] ?? -ERRNO.EBADMSG;
}
