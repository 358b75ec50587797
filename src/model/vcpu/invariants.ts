import type { Invariant, Violation } from "../../core/invariants.ts";
import type { Machine } from "../machine.ts";
import { isRunning, runnable } from "./sched.ts";
import { readStolenRecord } from "./pv-time.ts";

/** Scheduler invariants (reference §6.2, §6.6). */
export const vcpuInvariants: readonly Invariant<Machine>[] = [
  {
    name: "scheduler.accounting_adds_up",
    description: "For every active vCPU, run + stolen + idle time (plus the current stretch) equals the time since activation.",
    check(s): Violation | null {
      for (const id of s.objects.ids) {
        const t = s.objects.byId[id]!;
        if (t.type !== "thread" || t.state !== "ACTIVE") continue;
        const a = t.acct;
        const total = a.runNs + a.stolenNs + a.idleNs + (s.t - a.since);
        if (a.since > s.t || a.runNs < 0 || a.stolenNs < 0 || a.idleNs < 0 || total !== s.t - a.activatedAt) {
          return { path: `objects.byId.${id}.acct`, detail: `vm${t.vm}/vcpu${t.index}: run ${a.runNs} + stolen ${a.stolenNs} + idle ${a.idleNs} + current ${s.t - a.since} = ${total} ns, but ${s.t - a.activatedAt} ns passed since activation`, objects: { vm: t.vm, vcpu: t.index } };
        }
      }
      return null;
    },
  },
  {
    name: "scheduler.runs_only_runnable_threads",
    description: "A CPU's current thread and directed-yield target are runnable and on no other CPU.",
    check(s): Violation | null {
      const seen = new Set<number>();
      for (let cpu = 0; cpu < s.sched.cpus.length; cpu++) {
        const c = s.sched.cpus[cpu]!;
        for (const id of [c.current, c.yieldTo]) {
          if (id === 0) continue;
          const t = s.objects.byId[id];
          if (t === undefined || t.type !== "thread" || !runnable(t) || seen.has(id)) {
            return { path: `sched.cpus.${cpu}`, detail: `cpu${cpu} runs thread ${id}, which is ${t === undefined ? "gone" : seen.has(id) ? "also on another CPU" : "not runnable"}`, objects: { cpu, thread: id } };
          }
          seen.add(id);
        }
      }
      return null;
    },
  },
  {
    name: "scheduler.pv_time_record_current",
    description:
      "The guest's view, the hypervisor's accounting and the scheduler agree: a vCPU is accounted as running exactly when a CPU runs it, and while it runs the stolen_ns in its PV-time record equals the hypervisor's stolen count (arm_pv_time.c:140-182).",
    check(s): Violation | null {
      const ids = s.sched.threads;
      for (let i = 0; i < ids.length; i++) {
        const t = s.objects.byId[ids[i]!];
        if (t === undefined || t.type !== "thread" || t.state !== "ACTIVE") continue;
        const running = isRunning(s, t);
        if (running !== (t.acct.status === "run")) {
          return { path: `objects.byId.${t.id}.acct.status`, detail: `vm${t.vm}/vcpu${t.index} is accounted "${t.acct.status}" but the scheduler ${running ? "runs" : "does not run"} it`, objects: { vm: t.vm, vcpu: t.index } };
        }
        const seen = running ? readStolenRecord(s, t) : null;
        if (seen !== null && seen !== t.acct.stolenNs) {
          return { path: `objects.byId.${t.id}.acct.stolenNs`, detail: `vm${t.vm}/vcpu${t.index} runs reading stolen_ns ${seen} in its PV-time record, but the hypervisor counts ${t.acct.stolenNs} ns stolen`, objects: { vm: t.vm, vcpu: t.index } };
        }
      }
      return null;
    },
  },
];
