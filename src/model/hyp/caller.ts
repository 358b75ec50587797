import { invalidEvent } from "../../core/errors.ts";
import type { Machine } from "../machine.ts";
import { isRunning } from "../vcpu/sched.ts";
import type { ThreadObject } from "../vcpu/state.ts";

/**
 * The vCPU an event names must exist and be executing (only a running vCPU traps to EL2): anything
 * else is an error of the trace, reported with the event's index.
 */
export function runningVcpu(s: Machine, seq: number, kind: string, vm: number, vcpu: number): ThreadObject {
  const id = s.vms[vm]?.vcpus[vcpu] ?? 0;
  const o = id === 0 ? undefined : s.objects.byId[id];
  if (o === undefined || o.type !== "thread") invalidEvent(seq, kind, `VM ${vm} has no vCPU ${vcpu}`);
  if (!isRunning(s, o)) invalidEvent(seq, kind, `vm${vm}/vcpu${vcpu} is not running (power ${o.power}, ${o.threadState}${o.wfi ? ", in WFI" : ""}${o.vmmio ? ", waiting for VMMIO" : ""}${o.proxy && !o.entered ? ", proxy-scheduled and not in vcpu_run" : ""})`);
  return o;
}

/** Every (vm, vcpu) pair that may trap now, in VMID then index order (drivers pick among these). */
export function runningVcpus(s: Machine): { vm: number; vcpu: number }[] {
  const out: { vm: number; vcpu: number }[] = [];
  for (const k of Object.keys(s.vms)) {
    const vm = Number(k);
    const entry = s.vms[vm]!;
    entry.vcpus.forEach((id, vcpu) => {
      const t = id === 0 ? undefined : s.objects.byId[id];
      if (t !== undefined && t.type === "thread" && isRunning(s, t)) out.push({ vm, vcpu });
    });
  }
  return out;
}
