import type { Outcome } from "../../core/event.ts";
import type { Machine } from "../machine.ts";
import { runningVcpu } from "../hyp/caller.ts";
import { hasDeliverable } from "../vgic/virq.ts";
import { programTimer } from "../vgic/timer.ts";
import { exitRun } from "./run.ts";
import { advancePc } from "./context.ts";
import type { SysregWriteEvent, VcpuWfiEvent } from "./events.ts";

/** WFI: blocks (vcpu_wfi block reason) unless a VIRQ is already deliverable to this vCPU. */
export function onVcpuWfi(s: Machine, ev: VcpuWfiEvent): Outcome {
  const t = runningVcpu(s, ev.seq, ev.kind, ev.vm, ev.vcpu);
  advancePc(t);
  if (hasDeliverable(s, t)) return { blocked: false };
  t.wfi = true;
  exitRun(s, t);
  return { blocked: true };
}

/** CNTV_CTL_EL0 / CNTV_CVAL_EL0 writes (see vgic/timer.ts). */
export function onSysregWrite(s: Machine, ev: SysregWriteEvent): Outcome {
  const t = runningVcpu(s, ev.seq, ev.kind, ev.vm, ev.vcpu);
  if (ev.reg === "CNTV_CTL_EL0") t.vtimer.ctl = Number(BigInt.asUintN(2, ev.value)) | (t.vtimer.ctl & 4);
  else t.vtimer.cval = BigInt.asUintN(64, ev.value);
  const r = programTimer(s, t);
  return { dueNs: r.dueNs, fired: r.fired };
}
