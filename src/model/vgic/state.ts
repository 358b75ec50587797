import type { ObjectHeader } from "../object/state.ts";

/**
 * The virtual GIC (reference §7; GH:hyp/vm/vgic). One VIC object = one distributor; each attached
 * vCPU carries its redistributor state (thread.gicr).
 */

/** Per-VIRQ delivery state, after `vgic_delivery_state` (GH:hyp/vm/vgic/vgic.tc), reduced. */
export interface IrqState {
  enabled: boolean;
  /** Edge latch, or a software pend (ISPENDR) of a level VIRQ. */
  pending: boolean;
  /** Source-asserted level (level_src). */
  level: boolean;
  active: boolean;
  edge: boolean;
  /** 8-bit priority as written (5 bits implemented: low 3 bits read as zero). */
  priority: number;
  /** SPI route: vCPU index (IROUTER Aff0 through the default MPIDR mapping). */
  route: number;
  /** Delivered through a list register with the HW bit (a bound hwirq). */
  hw: boolean;
}

/** A VIRQ a source is bound to. */
export interface VirqBinding {
  vic: number;
  virq: number;
}

/** What drives a shared VIRQ: the bound source (vic_bind_shared). */
export interface VirqSource {
  kind: "doorbell" | "msgqueue_send" | "msgqueue_receive" | "hwirq" | "vcpu_halt" | "vcpu_wakeup" | "vpm_group" | "virtio_mmio_backend" | "virtio_mmio_frontend";
  object: number;
}

export interface VicObject extends ObjectHeader {
  readonly type: "vic";
  maxVcpus: number;
  maxVirqs: number;
  /** vic_options: bit1 = no default (fixed platform) GICD/GICR addresses. */
  options: number;
  /** Thread ids by attachment index (0 = empty). */
  vcpus: number[];
  /** GICD_CTLR (EnableGrp0 bit0, EnableGrp1 bit1; ARE and DS read as one). */
  ctlr: number;
  /**
   * SPIs touched so far, by INTID. Read-only here: records are added only by `irqForWrite`
   * (vgic/virq.ts), which keeps the SPI index that delivery scans in step.
   */
  spis: { readonly [intid: number]: IrqState };
  /** Bound shared sources, by INTID. */
  sources: Record<number, VirqSource>;
}

/** A hardware SPI the root VM holds a cap to (reference §4.6), optionally bound to a VIRQ. */
export interface HwirqObject extends ObjectHeader {
  readonly type: "hwirq";
  readonly irq: number;
  virq: VirqBinding | null;
  /** Forwarded and not yet deactivated by the guest: the physical line stays masked. */
  hwActive: boolean;
}
