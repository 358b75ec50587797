import type { Envelope } from "../../core/event.ts";

/** A hardware SPI fired at the physical GIC. Outcome: where it was delivered, or why not. */
export interface IrqEvent extends Envelope {
  readonly kind: "irq";
  /** The SPI's INTID (32..). */
  readonly hwirq: number;
}

/** The guest read ICC_IAR1_EL1: it acknowledges its highest-priority VIRQ. Outcome: `{ intid }` (1023 = spurious). */
export interface VirqAckEvent extends Envelope {
  readonly kind: "virq_ack";
  readonly vm: number;
  readonly vcpu: number;
}

/** The guest wrote ICC_EOIR1_EL1 (EOImode 0: drop and deactivate). Outcome: `{ deactivated }`. */
export interface VirqEoiEvent extends Envelope {
  readonly kind: "virq_eoi";
  readonly vm: number;
  readonly vcpu: number;
  readonly virq: number;
}
