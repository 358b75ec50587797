import { invalidEvent } from "../../core/errors.ts";
import type { Outcome } from "../../core/event.ts";
import type { Machine } from "../machine.ts";
import { objectAs } from "../object/objects.ts";
import { runningVcpu } from "../hyp/caller.ts";
import { markDirty } from "../vcpu/sched.ts";
import { acknowledge, assertIrq, endOfInterrupt } from "./virq.ts";
import type { IrqEvent, VirqAckEvent, VirqEoiEvent } from "./events.ts";

/**
 * A hardware SPI. Bound (hwirq_bind_virq): forwarded to its VIRQ with the HW bit; the physical line
 * stays masked until the guest deactivates it. Unbound: the hypervisor keeps it disabled.
 */
export function onIrq(s: Machine, ev: IrqEvent): Outcome {
  const id = s.hwirqs[ev.hwirq] ?? 0;
  const hw = objectAs(s, id, "hwirq");
  if (hw === undefined) invalidEvent(ev.seq, ev.kind, `SPI ${ev.hwirq} is not a hardware IRQ of this platform`);
  if (hw.virq === null) return { delivered: false, reason: "unbound" };
  if (hw.hwActive) return { delivered: false, reason: "active" };
  const vic = objectAs(s, hw.virq.vic, "vic");
  if (vic === undefined) return { delivered: false, reason: "unbound" };
  const r = assertIrq(s, vic, undefined, hw.virq.virq, false);
  const spi = vic.spis[hw.virq.virq]!;
  spi.pending = true; // the HW-forwarded VIRQ latches until acknowledged
  spi.level = false;
  hw.hwActive = true;
  markDirty(s);
  return { delivered: true, virq: hw.virq.virq, vm: r?.vm ?? 0, vcpu: r?.vcpu ?? 0, woke: r?.woke ?? false };
}

export function onVirqAck(s: Machine, ev: VirqAckEvent): Outcome {
  const t = runningVcpu(s, ev.seq, ev.kind, ev.vm, ev.vcpu);
  return { intid: acknowledge(s, t) };
}

export function onVirqEoi(s: Machine, ev: VirqEoiEvent): Outcome {
  const t = runningVcpu(s, ev.seq, ev.kind, ev.vm, ev.vcpu);
  return { deactivated: endOfInterrupt(s, t, ev.virq) };
}
