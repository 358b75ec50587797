import type { Machine } from "../machine.ts";
import type { Accounting, CpuSched, ThreadObject } from "./state.ts";
import { publishStolenTime } from "./pv-time.ts";

/**
 * The FPRR scheduler, one run queue per physical CPU (reference §6.2; GH:hyp/core/scheduler_fprr).
 * The current thread is switched out only for a strictly higher priority one, or when its slice
 * has expired and an equal-or-higher one is ready: an expired thread goes to the tail of the FIFO,
 * a preempted one to the head. A directed yield (vcpu_run) runs the target in the caller's place.
 * Runs once per event, and only when a handler marked the scheduler dirty: O(threads).
 */

/** No block reason set: the thread would run if chosen. */
export function runnable(t: ThreadObject): boolean {
  // The block bits first: they are what changes from event to event, and cheaper than the strings.
  return !t.wfi && t.vmmio === null && t.suspend === 0 && !t.fault && t.reset === null && t.state === "ACTIVE" && t.threadState === "READY" && t.power === "ON";
}

/** Competes for its CPU in the FPRR queues (proxy-scheduled vCPUs only run by directed yield). */
function schedulable(s: Machine, t: ThreadObject): boolean {
  // Proxy-scheduled first: it settles the answer for every VMM-run vCPU in one read.
  return !t.proxy && t.affinity < s.sched.cpus.length && runnable(t);
}

/** Adds the time since the last change to the bucket of the current status, then switches status. */
export function setStatus(t: ThreadObject, now: number, status: Accounting["status"]): void {
  const a = t.acct;
  if (a.status === status) return;
  const dt = now - a.since;
  if (a.status === "run") a.runNs += dt;
  else if (a.status === "stolen") a.stolenNs += dt;
  else a.idleNs += dt;
  a.since = now;
  a.status = status;
}

export const markDirty = (s: Machine): void => {
  s.sched.dirty = true;
};

function thread(s: Machine, id: number): ThreadObject | undefined {
  const o = s.objects.byId[id];
  return o !== undefined && o.type === "thread" ? o : undefined;
}

/**
 * Recomputes every CPU's current thread and every active thread's accounting status.
 *
 * Runs after most events (every VCPU_RUN and stage-2 fault), so it walks the thread list twice in
 * all (eligibility, then statuses) rather than once per CPU. Which threads may run where
 * (`schedulable`, affinity) cannot change while it runs: the decisions below only move threads
 * between `current`, `ready` and `yieldTo`, and clear `entered`. So every CPU's current thread and
 * ready FIFO can be brought up to date first (each depends only on that CPU's own lists), with newly
 * eligible threads appended to their CPU's FIFO in one pass in activation order; then the decisions
 * are taken CPU by CPU in order, as before (a directed yield ended on one CPU is seen by the next).
 */
export function reschedule(s: Machine): void {
  const sched = s.sched;
  sched.dirty = false;
  const cpus = sched.cpus;
  const ids = sched.threads;
  const byId = s.objects.byId;
  for (let cpu = 0; cpu < cpus.length; cpu++) dropIneligible(s, cpus[cpu]!, cpu);
  // Newly eligible threads join the tail of their CPU's FIFO, in activation order. Walking `ids`
  // twice (here and for the statuses) is cheaper than collecting the active threads in a new array.
  for (let i = 0; i < ids.length; i++) {
    const t = byId[ids[i]!];
    if (t === undefined || t.type !== "thread" || !schedulable(s, t)) continue; // schedulable ⇒ ACTIVE
    const c = cpus[t.affinity]!;
    if (t.id !== c.current && !c.ready.includes(t.id)) {
      // Unblocked: it joins the tail with a full slice (add_thread_to_scheduler, scheduler_fprr.c:747-791).
      t.sliceLeftNs = t.timesliceNs;
      c.ready.push(t.id);
    }
  }
  for (let cpu = 0; cpu < cpus.length; cpu++) decide(s, cpus[cpu]!);
  for (let i = 0; i < ids.length; i++) {
    const t = byId[ids[i]!];
    if (t === undefined || t.type !== "thread" || t.state !== "ACTIVE") continue;
    const was = t.acct.status;
    setStatus(t, s.t, statusOf(s, t));
    // Switched in: the record the guest reads catches up (context_switch_post, arm_pv_time.c:140-182).
    if (was !== "run" && t.acct.status === "run") publishStolenTime(s, t);
  }
}

/**
 * A CPU keeps its current thread and its queued ones only while they are schedulable there (the
 * ready FIFO is compacted in place, in order).
 */
function dropIneligible(s: Machine, c: CpuSched, cpu: number): void {
  const cur = thread(s, c.current);
  if (cur === undefined || !schedulable(s, cur) || cur.affinity !== cpu) c.current = 0;
  const ready = c.ready;
  let kept = 0;
  for (let i = 0; i < ready.length; i++) {
    const id = ready[i]!;
    const t = thread(s, id);
    if (t === undefined || id === c.current || !schedulable(s, t) || t.affinity !== cpu) continue;
    if (kept !== i) ready[kept] = id;
    kept++;
  }
  if (kept !== ready.length) ready.length = kept;
}

/** One CPU's decision: a directed yield ends if its target cannot run; then FPRR (see above). */
function decide(s: Machine, c: CpuSched): void {
  const target = c.yieldTo === 0 ? undefined : thread(s, c.yieldTo);
  if (target !== undefined && !(runnable(target) && target.entered)) {
    target.entered = false;
    c.yieldTo = 0;
  } else if (target === undefined) c.yieldTo = 0;
  const current = c.current === 0 ? undefined : thread(s, c.current);
  const best = bestReady(s, c);
  if (best === undefined) {
    if (current !== undefined && s.t >= c.sliceEndNs) c.sliceEndNs = s.t + current.timesliceNs;
    return;
  }
  if (current === undefined) return switchTo(s, c, best, "none");
  if (best.priority > current.priority) return switchTo(s, c, best, "preempted");
  if (s.t >= c.sliceEndNs) {
    if (best.priority >= current.priority && c.yieldTo === 0) return switchTo(s, c, best, "expired");
    c.sliceEndNs = s.t + current.timesliceNs;
  }
}

/** The highest-priority ready thread, first in FIFO order among equals. */
function bestReady(s: Machine, c: CpuSched): ThreadObject | undefined {
  let best: ThreadObject | undefined;
  for (let i = 0; i < c.ready.length; i++) {
    const t = thread(s, c.ready[i]!)!;
    if (best === undefined || t.priority > best.priority) best = t;
  }
  return best;
}

/**
 * A preempted thread goes back to the head of its FIFO and keeps what was left of its slice; an
 * expired one goes to the tail with a full one (get_next_target and update_timeslice,
 * scheduler_fprr.c:101-120, 473-518). The next thread runs for what it has left.
 */
function switchTo(s: Machine, c: CpuSched, next: ThreadObject, why: "none" | "preempted" | "expired"): void {
  c.ready.splice(c.ready.indexOf(next.id), 1);
  const prev = why === "none" ? undefined : thread(s, c.current);
  if (why === "preempted") {
    c.ready.unshift(c.current);
    if (prev !== undefined) prev.sliceLeftNs = Math.max(0, c.sliceEndNs - s.t);
  } else if (why === "expired") {
    c.ready.push(c.current);
    if (prev !== undefined) prev.sliceLeftNs = prev.timesliceNs;
  }
  if (c.yieldTo !== 0) {
    const target = thread(s, c.yieldTo);
    if (target !== undefined) target.entered = false;
    c.yieldTo = 0;
  }
  c.current = next.id;
  c.sliceEndNs = s.t + (next.sliceLeftNs > 0 ? next.sliceLeftNs : next.timesliceNs);
}

/**
 * The accounting status (arm_pv_time.c:123-183): running; inside its own directed yield (idle: yield
 * time is not stolen); in a block it put itself into (idle until something unblocks it); otherwise
 * stolen: it could run and does not, whoever holds it back (its CPU's queue, or a proxy-scheduled
 * vCPU's wait for the host's next vcpu_run: VCPU_RUN is a block its host puts it in).
 */
function statusOf(s: Machine, t: ThreadObject): Accounting["status"] {
  const cpus = s.sched.cpus;
  for (let i = 0; i < cpus.length; i++) {
    const c = cpus[i]!;
    if (c.yieldTo === t.id) return "run";
    if (c.current === t.id) return c.yieldTo === 0 ? "run" : "idle";
  }
  return selfBlocked(t) ? "idle" : "stolen";
}

/**
 * Blocks a vCPU puts itself into (scheduler_blocked on self, arm_pv_time.c:185-199): WFI, PSCI
 * suspend, power-off (its own, or never started: "the initial block state is considered
 * self-imposed", arm_pv_time.tc:27-35), a VMMIO access, a fault; a killed or exited thread too.
 */
function selfBlocked(t: ThreadObject): boolean {
  return t.power === "OFF" || t.wfi || t.suspend !== 0 || t.vmmio !== null || t.fault || t.reset !== null || t.threadState !== "READY";
}

/** Is this thread executing right now (the only state in which it can trap to EL2)? */
export function isRunning(s: Machine, t: ThreadObject): boolean {
  for (const c of s.sched.cpus) if (c.yieldTo === t.id || (c.yieldTo === 0 && c.current === t.id)) return true;
  return false;
}

/** timer_tick due work: CPUs whose slice ended get a scheduling decision (directed yields end). */
export function schedulerDue(s: Machine): string[] {
  const fired: string[] = [];
  for (let cpu = 0; cpu < s.sched.cpus.length; cpu++) {
    const c = s.sched.cpus[cpu]!;
    if (c.current !== 0 && s.t >= c.sliceEndNs) {
      fired.push(`cpu${cpu}:slice_end`);
      if (c.yieldTo !== 0) {
        const target = thread(s, c.yieldTo);
        if (target !== undefined) target.entered = false;
        c.yieldTo = 0;
      }
      s.sched.dirty = true;
    }
  }
  return fired;
}
