import type { Machine } from "../machine.ts";
import { assertShared } from "../vgic/virq.ts";
import { exitRun } from "./run.ts";
import { markDirty } from "./sched.ts";
import type { ThreadObject } from "./state.ts";

/**
 * A vCPU thread's life after activation: killed, exited, halted (GH:hyp/core/thread_standard,
 * GH:hyp/vm/vcpu, GH:hyp/vm/vcpu_run). Activation makes a thread READY (thread.c:128); killing it
 * makes it KILLED, and it becomes EXITED only once it has run again and unwound its EL2 stack.
 */

/**
 * A proxy-scheduled vCPU leaving a waiting state while no vcpu_run runs it raises its
 * VCPU_RUN_WAKEUP VIRQ (reference §6.3; GH:hyp/vm/vcpu_run/src/vcpu_run.c:250-281).
 */
export function signalWakeup(s: Machine, t: ThreadObject): void {
  if (t.proxy && !t.entered && t.wakeupVirq !== null) assertShared(s, t.wakeupVirq, false);
}

/**
 * thread_kill (GH:hyp/core/thread_standard/src/thread.c:208-229): a READY thread becomes KILLED
 * (OK); one already killed or exited is OK again; one not started yet is OBJECT_STATE. Killing
 * makes every killable block moot (scheduler_fprr.c:1272-1317): the thread runs again to unwind.
 * A proxy-scheduled vCPU keeps its non-killable VCPU_RUN block, so it unwinds only inside the
 * next vcpu_run (and its wakeup VIRQ says so: vcpu_run.c:283-290). Any other thread, or one that
 * is running now, unwinds at once in the model: that is EL2 work with no guest event in it.
 * The halt VIRQ is not raised: only vcpu_halted raises it (`haltVcpu`).
 */
export function killThread(s: Machine, t: ThreadObject): "OK" | "OBJECT_STATE" {
  if (t.threadState === "KILLED" || t.threadState === "EXITED") return "OK";
  if (t.threadState !== "READY") return "OBJECT_STATE";
  t.threadState = "KILLED";
  if (!t.proxy || t.entered) finishExit(s, t);
  else signalWakeup(s, t);
  markDirty(s);
  return "OK";
}

/** The killed thread has unwound: thread_exit (thread.c:246), it never runs again. */
export function finishExit(s: Machine, t: ThreadObject): void {
  t.threadState = "EXITED";
  exitRun(s, t);
}

/**
 * vcpu_halted (GH:hyp/vm/vcpu/aarch64/src/aarch64_init.c:516-531): a forced power-off or an
 * unrecoverable fault stops the vCPU and asserts its halt VIRQ, which is what the RM's vCPU-halt
 * handler waits for (`halted` stands for the asserted source when no VIRQ is bound).
 */
export function haltVcpu(s: Machine, t: ThreadObject): void {
  t.halted = true;
  exitRun(s, t);
  if (t.haltVirq !== null) assertShared(s, t.haltVirq, false);
}
