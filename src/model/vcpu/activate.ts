import type { HvError } from "../abi/errors.ts";
import { CPU_INDEX_INVALID, VCPU_OPTION } from "../abi/constants.ts";
import type { Machine } from "../machine.ts";
import { objectAs } from "../object/objects.ts";
import { irqForWrite, unbindShared } from "../vgic/virq.ts";
import { GIC } from "../abi/constants.ts";
import { markDirty, setStatus } from "./sched.ts";
import type { ThreadObject } from "./state.ts";

/**
 * Thread activation (reference §4.2): cspace and addrspace attached, affinity (if set) an existing
 * CPU, a VIC attached (the arch-timer module binds PPIs 27/30 here; with no VIC that bind fails with
 * ARGUMENT_INVALID ⚠ inferred), its VIC index not taken by an active vCPU (BUSY). Success makes the
 * thread READY but powered off, and gives it its VM identity (addrspace VMID, VIC index).
 */
export function activateThread(s: Machine, t: ThreadObject): HvError | null {
  const as = objectAs(s, t.addrspace, "addrspace");
  if (t.cspace === 0 || as === undefined) return "OBJECT_CONFIG";
  if (t.affinity !== CPU_INDEX_INVALID && t.affinity >= s.sched.cpus.length) return "OBJECT_CONFIG";
  const vic = objectAs(s, t.vic, "vic");
  if (vic === undefined) return "ARGUMENT_INVALID";
  const other = vic.vcpus[t.vicIndex] ?? 0;
  if (other !== 0 && other !== t.id && objectAs(s, other, "thread")?.state === "ACTIVE") return "BUSY";
  // A VPM group member takes its PSCI slot at activation; a slot another thread holds is DENIED
  // (GH:hyp/vm/psci/src/psci_common.c:860-890).
  const vpm = t.vpm === 0 ? undefined : objectAs(s, t.vpm, "vpm_group");
  if (vpm !== undefined && (vpm.vcpus[t.vpmIndex] ?? 0) !== 0 && vpm.vcpus[t.vpmIndex] !== t.id) return "DENIED";
  const vm = s.vms[as.vmid];
  if (vm === undefined) return "OBJECT_CONFIG";
  if (vpm !== undefined) {
    while (vpm.vcpus.length <= t.vpmIndex) vpm.vcpus.push(0);
    vpm.vcpus[t.vpmIndex] = t.id;
  }
  while (vic.vcpus.length <= t.vicIndex) vic.vcpus.push(0);
  vic.vcpus[t.vicIndex] = t.id;
  while (vm.vcpus.length <= t.vicIndex) vm.vcpus.push(0);
  vm.vcpus[t.vicIndex] = t.id;
  if (!as.threads.includes(t.id)) as.threads.push(t.id);
  for (const ppi of [GIC.VIRTUAL_TIMER_PPI, GIC.PHYSICAL_TIMER_PPI]) irqForWrite(vic, t, ppi);
  if (!s.sched.threads.includes(t.id)) s.sched.threads.push(t.id);
  t.threadState = "READY";
  t.vm = as.vmid;
  t.index = t.vicIndex;
  t.proxy = (t.options & VCPU_OPTION.vcpu_run_scheduled) !== 0n;
  t.sliceLeftNs = t.timesliceNs;
  t.acct = { activatedAt: s.t, since: s.t, status: "idle", runNs: 0, stolenNs: 0, idleNs: 0 };
  setStatus(t, s.t, "idle");
  markDirty(s);
  return null;
}

/** Removes a destroyed thread from its VM, VIC and addrspace and releases its VIRQ bindings. */
export function detachThread(s: Machine, t: ThreadObject): void {
  const vm = s.vms[t.vm];
  if (vm !== undefined && vm.vcpus[t.index] === t.id) vm.vcpus[t.index] = 0;
  const vic = objectAs(s, t.vic, "vic");
  if (vic !== undefined && vic.vcpus[t.vicIndex] === t.id) vic.vcpus[t.vicIndex] = 0;
  const as = objectAs(s, t.addrspace, "addrspace");
  if (as !== undefined) as.threads = as.threads.filter((x) => x !== t.id);
  const vpm = objectAs(s, t.vpm, "vpm_group");
  if (vpm !== undefined && vpm.vcpus[t.vpmIndex] === t.id) vpm.vcpus[t.vpmIndex] = 0;
  unbindShared(s, t.haltVirq);
  unbindShared(s, t.wakeupVirq);
  s.sched.threads = s.sched.threads.filter((x) => x !== t.id);
  for (const c of s.sched.cpus) {
    if (c.current === t.id) c.current = 0;
    if (c.yieldTo === t.id) c.yieldTo = 0;
    c.ready = c.ready.filter((x) => x !== t.id);
  }
  markDirty(s);
}
