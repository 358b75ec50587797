import type { Envelope } from "../../core/event.ts";

interface Ioctl extends Envelope {
  readonly kind: "vmm_ioctl";
}

/**
 * crosvm calls the gunyah driver (GH_ generation, reference §7.1): the ioctl and its argument as
 * userspace passes it. The driver's RM calls happen inside the ioctl, as in Linux (the ioctl blocks
 * on the RM's replies): each appears in the outcome's `rm` list, by name, with its error.
 * Outcome: `{ ret, rm: [{ msg, err }], ... }`; `ret` is the ioctl return (fd, 0, or -errno).
 */
export type VmmIoctlEvent =
  | (Ioctl & { readonly op: "CREATE_VM" })
  | (Ioctl & {
      readonly op: "SET_USER_MEM_REGION" | "ANDROID_LEND_USER_MEM";
      readonly fd: number;
      readonly label: number;
      readonly flags: number;
      readonly guestPhysAddr: number;
      readonly memorySize: number;
      readonly userspaceAddr: number;
    })
  | (Ioctl & { readonly op: "SET_DTB_CONFIG"; readonly fd: number; readonly guestPhysAddr: number; readonly size: number; readonly dtb: Uint8Array })
  | (Ioctl & { readonly op: "ADD_VCPU"; readonly fd: number; readonly id: number })
  | (Ioctl & { readonly op: "ADD_IRQFD"; readonly fd: number; readonly label: number; readonly level: boolean })
  | (Ioctl & { readonly op: "ADD_IOEVENTFD"; readonly fd: number; readonly addr: number; readonly len: number })
  | (Ioctl & { readonly op: "START"; readonly fd: number })
  | (Ioctl & { readonly op: "VCPU_RUN"; readonly fd: number; readonly vcpu: number })
  | (Ioctl & { readonly op: "RELEASE"; readonly fd: number });

/**
 * crosvm puts a virtio-mmio device on a VM's MMIO bus (not an ioctl: the VMM's own setup). It is
 * reached through VMMIO exits at [base, base+0x200) and raises `irq` through the irqfd with that
 * label. Outcome: `{ device }`.
 */
export interface VmmAddDeviceEvent extends Envelope {
  readonly kind: "vmm_add_device";
  readonly fd: number;
  readonly base: number;
  readonly deviceId: number;
  readonly irq: number;
  readonly capacitySectors: number;
}

/**
 * A guest vCPU accesses an IPA its stage-2 does not map, inside a VMMIO range: the hypervisor
 * forwards it to the proxy VMM (vcpu_run returns ADDRSPACE_VMMIO_READ/WRITE, the driver exits to
 * crosvm with exit_reason MMIO, crosvm's bus handles it and resumes the vCPU), or an ioeventfd
 * takes the write in the kernel. A mapped IPA cannot fault: that is a trace error.
 * Outcome: `{ exit, path, device, reg, value, irq, note }`.
 */
export interface VmMmioEvent extends Envelope {
  readonly kind: "vm_mmio";
  readonly vm: number;
  readonly vcpu: number;
  readonly ipa: number;
  readonly sizeBytes: 1 | 2 | 4 | 8;
  readonly write: boolean;
  /** The value stored, for a write (0 for a read). */
  readonly value: number;
}

/**
 * A guest stores bytes into its own RAM that a device will read (virtio rings, request headers,
 * buffers): recorded because the device's work depends on them. The stage-2 must map the IPA
 * writable; otherwise the store would have faulted, and the event is a trace error. Outcome: `{ pa }`.
 */
export interface VmMemWriteEvent extends Envelope {
  readonly kind: "vm_mem_write";
  readonly vm: number;
  readonly ipa: number;
  readonly data: Uint8Array;
}
