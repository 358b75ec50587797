/**
 * The guest's GICv3 and virtual-timer bring-up, Linux-style (drivers/irqchip/irq-gic-v3.c
 * gic_dist_init / gic_cpu_init, drivers/clocksource/arm_arch_timer.c set_next_event / handler).
 * GIC accesses are stage-2 faults on the VM's GICD/GICR frames that HYP emulates at EL2 (no VMMIO
 * exit, no crosvm: src/model/fault/handlers.ts `emulate`, src/model/vgic/mmio.ts) at the model's
 * fixed platform addresses (GIC.GICD_BASE / GICR_BASE / GICR_STRIDE, src/model/abi/constants.ts,
 * GH:config/platform/qemu.conf). The timer is CNTV_CVAL_EL0 / CNTV_CTL_EL0 (`sysreg_write`); its
 * interrupt is PPI 27, raised by the `timer_tick` at or after the compare value.
 */
import { GIC } from "../../model/abi/constants.ts";
import type { Outcome } from "../../core/event.ts";
import type { Machine } from "../../model/machine.ts";
import { sleep, wait, type Program, type Step } from "./program.ts";
import type { DevicePlan } from "./vm-plan.ts";
import { counterAt } from "../../model/vgic/timer.ts";

/** The guest's context as this module needs it (GuestCtx fits). */
export interface GicCtx {
  readonly vmid: number;
  readonly vcpu: number;
}

/** GICD / GICR (RD_base, SGI_base) register offsets, Arm GICv3 architecture spec §12. */
const GICD_CTLR = 0x0000;
const GICD_TYPER = 0x0004;
const GICR_WAKER = 0x0014;
const SGI_BASE = 0x1_0000;
const ISENABLER = 0x0100;
const IPRIORITYR = 0x0400;
/** GICD_CTLR: ARE_NS (bit 4) | EnableGrp1 (bit 1): Linux's single-security-state setting. */
const CTLR_ENABLE = 0x12;
/** GICR_WAKER: ProcessorSleep (bit 1), ChildrenAsleep (bit 2). */
const WAKER_CHILDREN_ASLEEP = 0x4;
/** Linux's GICD_INT_DEF_PRI (0xa0) in every byte of an IPRIORITYR. */
const DEF_PRI_X4 = 0xa0a0_a0a0;
const CNTV_CTL_ENABLE = 1n;
const SPURIOUS = 1023;

/** One 32-bit GIC register access, emulated at EL2: the fault's outcome carries the register and the value read. */
function* gic(g: GicCtx, ipa: number, write: boolean, value = 0): Generator<Step, Outcome, Outcome> {
  return yield write
    ? { kind: "stage2_fault", vm: g.vmid, vcpu: g.vcpu, ipa, access: "write", sizeBytes: 4, value: BigInt(value >>> 0) }
    : { kind: "stage2_fault", vm: g.vmid, vcpu: g.vcpu, ipa, access: "read", sizeBytes: 4, reg: 0 };
}

/**
 * The guest reads CNTVCT_EL0 (not trapped) `delayNs` ahead: the count at the machine's virtual time
 * as of its last event plus the delay (the model's counterAt: floor(t × CNTFRQ / 10^9)).
 */
function* countAhead(delayNs: number): Program<bigint> {
  let v = 0n;
  yield wait("reads CNTVCT_EL0", (s: Machine) => ((v = counterAt(s, s.t + delayNs)), true));
  return v;
}

/**
 * gic_dist_init + gic_cpu_init for the boot vCPU: GICD_TYPER, GICD_CTLR, GICR_WAKER wake-up (write
 * ProcessorSleep=0, read until ChildrenAsleep=0), default priority and enable for the device SPIs
 * (one IPRIORITYR / ISENABLER write per register covering them) and for PPI 27 in the GICR SGI frame.
 */
export function* gicInit(g: GicCtx, devices: readonly DevicePlan[]): Program {
  const gicr = GIC.GICR_BASE + g.vcpu * GIC.GICR_STRIDE;
  yield* gic(g, GIC.GICD_BASE + GICD_TYPER, false);
  yield* gic(g, GIC.GICD_BASE + GICD_CTLR, true, CTLR_ENABLE);
  yield* gic(g, gicr + GICR_WAKER, true, 0);
  for (let i = 0; i < 4; i++) {
    const w = yield* gic(g, gicr + GICR_WAKER, false);
    if ((Number(w.value ?? 0n) & WAKER_CHILDREN_ASLEEP) === 0) break;
  }
  const spis = [...new Set(devices.map((d) => d.irq).filter((i) => i >= GIC.SPI_FIRST))].sort((a, b) => a - b);
  for (const reg of [...new Set(spis.map((i) => i >> 2))]) yield* gic(g, GIC.GICD_BASE + IPRIORITYR + 4 * reg, true, DEF_PRI_X4);
  for (const reg of [...new Set(spis.map((i) => i >> 5))]) {
    const bits = spis.filter((i) => i >> 5 === reg).reduce((m, i) => m | (1 << (i & 31)), 0);
    yield* gic(g, GIC.GICD_BASE + ISENABLER + 4 * reg, true, bits);
  }
  const ppi = GIC.VIRTUAL_TIMER_PPI;
  yield* gic(g, gicr + SGI_BASE + IPRIORITYR + 4 * (ppi >> 2), true, DEF_PRI_X4);
  yield* gic(g, gicr + SGI_BASE + ISENABLER, true, 1 << ppi);
}

/**
 * One virtual-timer period: CNTV_CVAL_EL0 = now + `delayNs` (in counter ticks), CNTV_CTL_EL0 =
 * ENABLE; let the time pass; the `timer_tick` that reaches the compare value raises PPI 27 (unless
 * the write already fired it, or another actor's tick did); the handler acknowledges 27, disables the
 * timer (CNTV_CTL_EL0 = 0 drops the level; the next period re-arms) and EOIs. Another INTID
 * acknowledged first is EOI'd and the handler acknowledges again.
 */
export function* timerPeriod(g: GicCtx, delayNs: number, lateNs = 0): Program {
  const cval = yield* countAhead(delayNs);
  yield { kind: "sysreg_write", vm: g.vmid, vcpu: g.vcpu, reg: "CNTV_CVAL_EL0", value: cval };
  const armed = yield { kind: "sysreg_write", vm: g.vmid, vcpu: g.vcpu, reg: "CNTV_CTL_EL0", value: CNTV_CTL_ENABLE };
  if (armed.fired !== true) {
    // A late timer (the swarm's fault): the tick that raises PPI 27 comes `lateNs` after the compare value.
    yield sleep(delayNs + lateNs);
    yield { kind: "timer_tick" };
  }
  for (let i = 0; i < 4; i++) {
    const ack = yield { kind: "virq_ack", vm: g.vmid, vcpu: g.vcpu };
    const intid = ack.intid as number;
    if (intid === SPURIOUS) return;
    if (intid === GIC.VIRTUAL_TIMER_PPI) yield { kind: "sysreg_write", vm: g.vmid, vcpu: g.vcpu, reg: "CNTV_CTL_EL0", value: 0n };
    yield { kind: "virq_eoi", vm: g.vmid, vcpu: g.vcpu, virq: intid };
    if (intid === GIC.VIRTUAL_TIMER_PPI) return;
  }
}
