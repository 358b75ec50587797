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
      /**
       * The host pages behind the region, in guest order, when they are not one run from
       * `userspaceAddr` (a fragmented mapping: what pin_user_pages gives the driver); absent: one
       * run. Each piece is page-aligned; together they cover `memorySize`.
       */
      readonly backing?: readonly { readonly addr: number; readonly size: number }[];
    })
  | (Ioctl & { readonly op: "SET_DTB_CONFIG"; readonly fd: number; readonly guestPhysAddr: number; readonly size: number; readonly dtb: Uint8Array })
  /** GH_VM_ANDROID_SET_FW_CONFIG (ACK): the protected VM's firmware window; makes the VM auth type ANDROID (issue #6). */
  | (Ioctl & { readonly op: "ANDROID_SET_FW_CONFIG"; readonly fd: number; readonly guestPhysAddr: number; readonly size: number })
  | (Ioctl & { readonly op: "ADD_VCPU"; readonly fd: number; readonly id: number })
  | (Ioctl & { readonly op: "ADD_IRQFD"; readonly fd: number; readonly label: number; readonly level: boolean })
  | (Ioctl & { readonly op: "ADD_IOEVENTFD"; readonly fd: number; readonly addr: number; readonly len: number })
  | (Ioctl & { readonly op: "START"; readonly fd: number })
  /** On the vCPU's fd: named by its VM fd, or by the guest's VMID (`vm`), and the vCPU index. */
  | (Ioctl & { readonly op: "VCPU_RUN"; readonly fd?: number; readonly vm?: number; readonly vcpu: number })
  | (Ioctl & { readonly op: "RELEASE"; readonly fd: number })
  /**
   * guest_memfd-era driver (issue 17, src/model/vmm/gmem.ts; upstream v17 uapi, reference §7.1, §7.3):
   * GUNYAH_CREATE_GUEST_MEM (0x40404708) makes a guest_memfd of `size` bytes, whose folios the host
   * allocates at `hostAddr` (the trace records where); GUNYAH_VM_MAP_MEM (0x40204709) binds part of
   * it at `guestAddr` with flags FORCE_LEND 1 / FORCE_SHARE 2 and ALLOW_READ 0x10, WRITE 0x20, EXEC
   * 0x40; GUNYAH_VM_SET_BOOT_CONTEXT (0x4010470a) stores a boot register (reg = reg_set << 8 | index).
   */
  | (Ioctl & { readonly op: "CREATE_GUEST_MEM"; readonly size: number; readonly hostAddr: number })
  | (Ioctl & { readonly op: "VM_MAP_MEM"; readonly fd: number; readonly guestMemFd: number; readonly guestAddr: number; readonly offset: number; readonly size: number; readonly flags: number })
  | (Ioctl & { readonly op: "VM_SET_BOOT_CONTEXT"; readonly fd: number; readonly reg: number; readonly value: bigint });

/**
 * crosvm copies a kernel (or any program image) into a memory region it registered for the VM,
 * through its own mapping, before START: the bytes of real guest code enter the trace here, once.
 * `guestPhysAddr` is where the VM will see them. Outcome: `{ ret, bytes }` (`ret` -EINVAL outside a
 * registered region or after START, as for SET_DTB_CONFIG).
 */
export interface VmmLoadImageEvent extends Envelope {
  readonly kind: "vmm_load_image";
  readonly fd: number;
  readonly guestPhysAddr: number;
  readonly image: Uint8Array;
}

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
 * crosvm handles what the driver handed it for one vCPU: the MMIO exit the last VCPU_RUN returned
 * (exit_reason MMIO: its bus emulates the virtio-mmio register; a read's value goes back to the
 * guest with the next VCPU_RUN), or a write an ioeventfd took in the kernel (the device worker
 * reads its eventfd and processes the queue). A device interrupt goes out through the irqfd: the
 * driver rings the guest's doorbell, whose VIRQ the vGIC asserts. Nothing to handle: trace error.
 * Outcome: `{ exit, device, reg, value, irq, note }` (`irq`: {vm, spi} when the irqfd fired).
 */
export interface VmmMmioEvent extends Envelope {
  readonly kind: "vmm_mmio";
  /** The guest VMID and vCPU index whose exit this is. */
  readonly vm: number;
  readonly vcpu: number;
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
