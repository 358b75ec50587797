/**
 * Proxy scheduling as the driver sees it. A secondary VM's vCPU only executes inside a vcpu_run
 * that crosvm's vCPU thread makes from an HLOS vCPU (reference §6.3, §7.5; docs/hypercalls.md
 * "vcpu_run is split at event granularity"). So before a guest acts, the vCPU must be entered, and
 * entering it takes an HLOS vCPU whose CPU is not already running another guest vCPU by directed
 * yield (src/model/vmm/ioctl.ts runnerThread: HLOS vCPUs 1..n-1; vCPU 0 shares CPU 0 with the RM).
 * Everything here reads the model's state and never changes it; the scheduler (scheduler.ts) uses
 * it to re-enter vCPUs and to share the HLOS CPUs when there are more guests than CPUs.
 */
import { VMID } from "../../model/abi/rm.ts";
import type { Machine } from "../../model/machine.ts";
import { isRunning, runnable } from "../../model/vcpu/sched.ts";
import type { ThreadObject } from "../../model/vcpu/state.ts";
import type { Program, Step } from "./program.ts";

/**
 * Event kinds a guest's vCPU executes itself (they trap or run at EL1 of that vCPU), so they can only
 * happen while it runs. Device DMA (smmu_txn), the timer (timer_tick) and crosvm's own work
 * (vmm_ioctl, vmm_mmio) do not need it; rm_vm_halt is checked by cause below.
 */
const EXECUTED_BY_GUEST: Readonly<Record<string, true>> = {
  stage2_fault: true,
  guest_access: true,
  hypercall: true,
  smccc_call: true,
  vcpu_wfi: true,
  sysreg_write: true,
  virq_ack: true,
  virq_eoi: true,
  vm_mem_write: true,
  // a guest's RM call is its kernel's msgqueue_send/receive hypercalls
  rm_request: true,
  // real guest code runs only inside crosvm's VCPU_RUN
  vcpu_exec: true,
};

/** Does this guest step need its vCPU running? A watchdog bite is the hardware's, not the vCPU's. */
export function executedByGuest(step: Step): boolean {
  if (step.kind === "rm_vm_halt") return step.cause !== "WATCHDOG_BITE";
  return EXECUTED_BY_GUEST[step.kind] === true;
}

function vcpuThread(s: Machine, vm: number, vcpu: number): ThreadObject | undefined {
  const id = s.vms[vm]?.vcpus[vcpu] ?? 0;
  const t = id === 0 ? undefined : s.objects.byId[id];
  return t !== undefined && t.type === "thread" ? t : undefined;
}

/** The vCPU executes now (the model's own test: a CPU runs it, by directed yield for a proxied one). */
export function vcpuRunning(s: Machine, vm: number, vcpu: number): boolean {
  const t = vcpuThread(s, vm, vcpu);
  return t !== undefined && isRunning(s, t);
}

/** A VCPU_RUN would let it run: it exists and has no block reason (WFI, pending VMMIO, off, fault). */
export function vcpuEnterable(s: Machine, vm: number, vcpu: number): boolean {
  const t = vcpuThread(s, vm, vcpu);
  return t !== undefined && runnable(t);
}

/** The HLOS vCPUs crosvm's vCPU threads run on, as the VMM's runnerThread chooses among them. */
function runnerCpus(s: Machine): number[] | null {
  const host = s.rm.hv?.vms[VMID.HLOS]?.vcpus;
  if (host === undefined || host.length === 0) return null;
  const out: number[] = [];
  for (let k = host.length < 2 ? 0 : 1; k < host.length; k++) {
    const t = s.objects.byId[host[k]!];
    if (t !== undefined && t.type === "thread") out.push(t.affinity);
  }
  return out;
}

/** HLOS CPUs free to run a guest vCPU (not inside a directed yield); Infinity without an HLOS. */
export function freeRunners(s: Machine): number {
  const cpus = runnerCpus(s);
  if (cpus === null) return Number.POSITIVE_INFINITY;
  let n = 0;
  for (const c of cpus) if (s.sched.cpus[c]?.yieldTo === 0) n++;
  return n;
}

/**
 * When the first HLOS CPU running a guest reaches the end of its slice (a timer_tick then ends the
 * directed yield: vcpu/sched.ts schedulerDue), or null if no CPU runs one.
 */
export function earliestSliceEnd(s: Machine): number | null {
  const cpus = runnerCpus(s);
  if (cpus === null) return null;
  let due: number | null = null;
  for (const i of cpus) {
    const c = s.sched.cpus[i];
    if (c !== undefined && c.yieldTo !== 0 && c.current !== 0 && (due === null || c.sliceEndNs < due)) due = c.sliceEndNs;
  }
  return due;
}

/**
 * A VCPU_RUN that may enter the guest (its VM is RUNNING) needs a free HLOS CPU: when none is free
 * the driver's vcpu_run would take over a CPU another guest vCPU is running on. One on a VM that is
 * down only collects the STATUS exit.
 */
export function needsRunner(s: Machine, step: Step): boolean {
  if (step.kind !== "vmm_ioctl" || step.op !== "VCPU_RUN") return false;
  const vmid = step.fd !== undefined ? s.vmm.vms.byId[step.fd]?.vmid : step.vm;
  return vmid !== undefined && s.rm.vms.byId[vmid]?.status === "RUNNING";
}

/**
 * crosvm's vCPU loop (reference §7.5): VCPU_RUN until the vCPU runs. An MMIO exit goes to the bus
 * and is resumed by the next VCPU_RUN; an ioeventfd write was resumed in the kernel and goes to the
 * device worker. Returns whether the vCPU now runs (false: it is blocked, or the VM went down).
 */
export function* reenter(vm: number, vcpu: number): Program<boolean> {
  const run = { kind: "vmm_ioctl", op: "VCPU_RUN", vm, vcpu } as const;
  for (let i = 0; i < 4; i++) {
    const o = yield run;
    if (o.exit === "MMIO" || o.exit === "IOEVENTFD") yield { kind: "vmm_mmio", vm, vcpu };
    if (o.exit === "MMIO") continue;
    return o.state === "READY" || o.state === "RUNNING";
  }
  return false;
}
