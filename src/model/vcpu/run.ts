import { VCPU_RUN_STATE } from "../abi/constants.ts";
import { RIGHTS } from "../abi/rights.ts";
import type { Machine } from "../machine.ts";
import { lookup } from "../object/cspace.ts";
import { arg, fail, okWith, type Caller, type HypercallTable, type HvReturn } from "../hyp/calls.ts";
import { hasDeliverable } from "../vgic/virq.ts";
import { markDirty, runnable } from "./sched.ts";
import type { ThreadObject } from "./state.ts";
import { completeLoad, skipInstruction } from "../../cpu/index.ts";
import { finishExit } from "./lifecycle.ts";

/**
 * Proxy scheduling: vcpu_run (0x65) and vcpu_run_check (0x68) (reference §6.3, §6.4;
 * GH:hyp/vm/vcpu_run/src/vcpu_run.c).
 *
 * Event granularity: a `vcpu_run` event is one call. If the vCPU has an exit to report (it blocked
 * since its last slice), the call returns it at once. Otherwise the resume data of the last exit is
 * applied, the vCPU's affinity moves to the caller's CPU and the caller directed-yields to it: the
 * call returns READY and the vCPU's own events (its traps, faults, WFI) follow in the trace until
 * it blocks or the caller's slice ends; the next vcpu_run then reports why it stopped. Real Gunyah
 * returns the exit from the same call; the model splits that call at the point where the vCPU starts
 * running, so that what the guest did in between is visible as events.
 */

/**
 * vcpu_run state PAGE_FAULT of the newer hypervisor the guest_memfd driver runs on (Linux
 * include/linux/gunyah.h GUNYAH_VCPU_STATE_PAGE_FAULT = 7; absent from quic/gunyah-hypervisor
 * @36ca3a2, whose table is VCPU_RUN_STATE: reference gunyah-rm-and-host §10, §11.1).
 */
export const VCPU_RUN_PAGE_FAULT = 7;

/** The vCPU stops running inside a vcpu_run (it blocked, powered off or faulted). */
export function exitRun(s: Machine, t: ThreadObject): void {
  if (t.entered) {
    t.entered = false;
    for (const c of s.sched.cpus) if (c.yieldTo === t.id) c.yieldTo = 0;
  }
  markDirty(s);
}

/**
 * The vcpu_run_state a blocked vCPU reports, or null if it can run (check order ⚠: fault/off last
 * per §6.4). An exited thread is POWERED_OFF with the exited flag; a killed one that has not
 * unwound yet is BLOCKED: it must be run until it exits (GH:hyp/vm/vcpu_run/src/vcpu_run.c:63-90).
 */
export function pendingRunState(s: Machine, t: ThreadObject): { state: number; data: [bigint, bigint, bigint] } | null {
  if (t.threadState === "EXITED") return { state: VCPU_RUN_STATE.POWERED_OFF, data: [1n, 0n, 0n] };
  if (t.threadState === "KILLED") return { state: VCPU_RUN_STATE.BLOCKED, data: [0n, 0n, 0n] };
  if (t.reset !== null) return { state: VCPU_RUN_STATE.PSCI_SYSTEM_RESET, data: [t.reset.type, t.reset.cookie, 0n] };
  if (t.vmmio !== null) {
    const v = t.vmmio;
    if (v.demand === true) return { state: VCPU_RUN_PAGE_FAULT, data: [BigInt(v.ipa), v.write ? 1n : 0n, 0n] };
    return v.write
      ? { state: VCPU_RUN_STATE.ADDRSPACE_VMMIO_WRITE, data: [BigInt(v.ipa), BigInt(v.sizeBytes), v.value] }
      : { state: VCPU_RUN_STATE.ADDRSPACE_VMMIO_READ, data: [BigInt(v.ipa), BigInt(v.sizeBytes), 0n] };
  }
  if ((t.wfi || t.suspend !== 0) && !hasDeliverable(s, t)) {
    return t.wfi
      ? { state: VCPU_RUN_STATE.EXPECTS_WAKEUP, data: [0n, 1n, 0n] }
      : { state: VCPU_RUN_STATE.EXPECTS_WAKEUP, data: [BigInt(t.suspend - 1), 2n, 0n] };
  }
  if (t.fault) return { state: VCPU_RUN_STATE.FAULT, data: [0n, 0n, 0n] };
  if (t.power === "OFF") return { state: VCPU_RUN_STATE.POWERED_OFF, data: [0n, 0n, 0n] };
  return null;
}

/**
 * Resume data for the last returned state: a VMMIO read loads resume0 into the access's register
 * (truncated to its size, extended as its syndrome says), and either kind steps past the access.
 */
function applyResume(t: ThreadObject, resume0: bigint): void {
  const v = t.vmmio;
  if (v === null || !v.reported) return;
  if (v.demand === true) {
    // PAGE_FAULT is resumed by re-executing the access (RETRY): the PC stays, the guest faults again if still unmapped.
    if (t.lastRunState === VCPU_RUN_PAGE_FAULT) t.vmmio = null;
    return;
  }
  if (t.lastRunState === VCPU_RUN_STATE.ADDRSPACE_VMMIO_READ && !v.write) {
    t.cpu = completeLoad(t.cpu, v.iss, resume0) ?? skipInstruction(t.cpu);
  } else if (t.lastRunState === VCPU_RUN_STATE.ADDRSPACE_VMMIO_WRITE) {
    t.cpu = skipInstruction(t.cpu);
  } else return;
  t.vmmio = null;
}

function runTarget(s: Machine, c: Caller, cap: bigint, rights: number): ThreadObject | HvReturn {
  const r = lookup(s, c.cspace, cap, "thread", rights);
  return r.ok ? r.value : fail(r.error);
}

function vcpuRun(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const t = runTarget(s, c, a[0] ?? 0n, RIGHTS.thread.AFFINITY | RIGHTS.thread.YIELD_TO);
  if ("error" in t) return t;
  if (!t.proxy || t.entered || t.id === c.thread) return fail("BUSY");
  applyResume(t, arg(a, 1));
  markDirty(s);
  if (t.threadState === "KILLED") {
    // Killed: runnable despite its other blocks; the directed yield runs it and it unwinds and
    // exits at once (EL2 code, no guest event), so the call reports it POWERED_OFF, exited
    // (vcpu_run.c:116-162, scheduler_fprr.c:1272-1317).
    finishExit(s, t);
    t.lastRunState = VCPU_RUN_STATE.POWERED_OFF;
    return okWith(BigInt(VCPU_RUN_STATE.POWERED_OFF), 1n, 0n, 0n);
  }
  const pending = pendingRunState(s, t);
  if (pending !== null) {
    if (t.vmmio !== null) t.vmmio.reported = true;
    t.lastRunState = pending.state;
    return okWith(BigInt(pending.state), ...pending.data);
  }
  if (!runnable(t)) return okWith(BigInt(VCPU_RUN_STATE.BLOCKED), 0n, 0n, 0n);
  const caller = s.objects.byId[c.thread] as ThreadObject;
  const cpu = s.sched.cpus[caller.affinity];
  if (cpu === undefined) return okWith(BigInt(VCPU_RUN_STATE.BLOCKED), 0n, 0n, 0n);
  t.affinity = caller.affinity;
  t.entered = true;
  t.lastRunState = VCPU_RUN_STATE.READY;
  cpu.yieldTo = t.id;
  return okWith(BigInt(VCPU_RUN_STATE.READY), 0n, 0n, 0n);
}

/** vcpu_run_check: the state without running it; a runnable or BLOCKED vCPU ⇒ BUSY (vcpu_run.c:168-206). */
function vcpuRunCheck(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const t = runTarget(s, c, a[0] ?? 0n, RIGHTS.thread.BIND_VIRQ | RIGHTS.thread.STATE);
  if ("error" in t) return t;
  const pending = pendingRunState(s, t);
  if (pending === null || pending.state === VCPU_RUN_STATE.BLOCKED) return fail("BUSY");
  return okWith(BigInt(pending.state), ...pending.data);
}

export const vcpuRunHypercalls: HypercallTable = {
  vcpu_run: vcpuRun,
  vcpu_run_check: vcpuRunCheck,
};
