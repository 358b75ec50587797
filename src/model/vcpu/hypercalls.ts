import { CPU_INDEX_INVALID, SCHED, VCPU_OPTION, VCPU_OPTIONS_KNOWN } from "../abi/constants.ts";
import { RIGHTS } from "../abi/rights.ts";
import type { Machine } from "../machine.ts";
import { lookup, lookupInit } from "../object/cspace.ts";
import { OK, arg, arg16, arg32, fail, type Caller, type HypercallTable, type HvReturn } from "../hyp/calls.ts";
import { bindShared, unbindShared } from "../vgic/virq.ts";
import { isRunning, markDirty, runnable } from "./sched.ts";
import { hasDeliverable } from "../vgic/virq.ts";
import type { ThreadObject } from "./state.ts";
import { writeRegister } from "./context.ts";
import { exitRun } from "./run.ts";
import { killThread, signalWakeup } from "./lifecycle.ts";
import { onVcpuPoweron, vpmPoweroff } from "./vpm.ts";

/**
 * vCPU hypercalls (reference §2.7; GH:hyp/vm/vcpu/aarch64/hypercalls.hvc, .../src/hypercalls.c,
 * GH:hyp/core/scheduler_fprr/src/hypercalls.c).
 */

type T = ThreadObject | HvReturn;
const isRet = (x: T): x is HvReturn => "error" in x;
function thread(s: Machine, c: Caller, cap: bigint, rights: number, activeOnly = true): T {
  const r = lookup(s, c.cspace, cap, "thread", rights, activeOnly);
  return r.ok ? r.value : fail(r.error);
}
function threadInit(s: Machine, c: Caller, cap: bigint, rights: number): T {
  const t = thread(s, c, cap, rights, false);
  if (isRet(t)) return t;
  return t.state === "INIT" ? t : fail("OBJECT_STATE");
}

/**
 * vcpu_poweron: the flags are checked before the cap lookup; a vCPU that is not powered off is
 * BUSY; a killed or exited one FAILURE (GH:hyp/vm/vcpu/aarch64/src/hypercalls.c:219-270,
 * aarch64_init.c:369-371). Flag bit0 keeps the entry point, bit1 keeps X0.
 */
function poweron(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const flags = arg(a, 3);
  if ((flags & ~3n) !== 0n) return fail("ARGUMENT_INVALID");
  const t = thread(s, c, a[0] ?? 0n, RIGHTS.thread.POWER);
  if (isRet(t)) return t;
  if (t.power !== "OFF") return fail("BUSY");
  if (t.threadState === "KILLED" || t.threadState === "EXITED") return fail("FAILURE");
  const e = onVcpuPoweron(s, t);
  if (e !== null) return fail(e);
  if ((flags & 1n) === 0n) writeRegister(t, "pc", 0, arg(a, 1));
  if ((flags & 2n) === 0n) writeRegister(t, "x", 0, arg(a, 2));
  t.power = "ON";
  t.everPoweredOn = true;
  markDirty(s);
  signalWakeup(s, t);
  return OK;
}

/**
 * vcpu_poweroff: flags first, then the lookup; only the calling vCPU itself
 * (GH:hyp/vm/vcpu/aarch64/src/hypercalls.c:275-313). Bit0 says "I am the last vCPU": outside a
 * VPM group the call is allowed only with it; in a PSCI VPM group it must match the group's online
 * count (GH:hyp/vm/psci/src/psci_common.c:1240-1275, `vpmPoweroff`).
 */
function poweroff(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const flags = arg(a, 1);
  if ((flags & ~1n) !== 0n) return fail("ARGUMENT_INVALID");
  const t = thread(s, c, a[0] ?? 0n, RIGHTS.thread.POWER);
  if (isRet(t)) return t;
  if (t.id !== c.thread) return fail("ARGUMENT_INVALID");
  const e = vpmPoweroff(s, t, (flags & 1n) !== 0n, false);
  if (e !== null) return fail(e);
  t.power = "OFF";
  exitRun(s, t);
  return OK;
}

/** vcpu_kill (GH:hyp/vm/vcpu/aarch64/src/hypercalls.c:396-419): thread_kill, see vcpu/lifecycle.ts. */
function kill(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const t = thread(s, c, a[0] ?? 0n, RIGHTS.thread.LIFECYCLE);
  if (isRet(t)) return t;
  const e = killThread(s, t);
  return e === "OK" ? OK : fail(e);
}

function setAffinity(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const cpu = arg16(a, 1);
  const need = RIGHTS.thread.AFFINITY | (cpu === CPU_INDEX_INVALID ? RIGHTS.thread.DISABLE : 0);
  const t = thread(s, c, a[0] ?? 0n, need, false);
  if (isRet(t)) return t;
  if (t.state === "FAILED") return fail("OBJECT_STATE");
  if (cpu !== CPU_INDEX_INVALID && cpu >= s.sched.cpus.length) return fail("ARGUMENT_INVALID");
  if (t.state === "ACTIVE" && (t.options & (VCPU_OPTION.pinned | VCPU_OPTION.hlos_vm)) !== 0n) return fail("DENIED"); // ⚠
  t.affinity = cpu;
  markDirty(s);
  return OK;
}

function setPriority(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const t = threadInit(s, c, a[0] ?? 0n, RIGHTS.thread.PRIORITY);
  if (isRet(t)) return t;
  const p = arg32(a, 1);
  if (p > SCHED.PRIORITY_VCPU_MAX) return fail("DENIED");
  t.priority = p;
  return OK;
}

function setTimeslice(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const t = threadInit(s, c, a[0] ?? 0n, RIGHTS.thread.TIMESLICE);
  if (isRet(t)) return t;
  const ns = arg(a, 1);
  if (ns < BigInt(SCHED.TIMESLICE_MIN_NS) || ns > BigInt(SCHED.TIMESLICE_MAX_NS)) return fail("ARGUMENT_INVALID");
  t.timesliceNs = Number(ns);
  return OK;
}

function configure(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const t = lookupInit(s, c.cspace, a[0] ?? 0n, "thread");
  if (!t.ok) return fail(t.error);
  const flags = arg(a, 1);
  if ((flags & ~VCPU_OPTIONS_KNOWN) !== 0n) return fail("ARGUMENT_INVALID");
  t.value.options = flags;
  return OK;
}

/** type 0 = HALT, 1 = VCPU_RUN_WAKEUP (binding it makes the vCPU proxy-scheduled, deprecated path). */
function bindVirq(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const t = thread(s, c, a[0] ?? 0n, RIGHTS.thread.BIND_VIRQ);
  if (isRet(t)) return t;
  const vic = lookup(s, c.cspace, a[1] ?? 0n, "vic", RIGHTS.vic.BIND_SOURCE);
  if (!vic.ok) return fail(vic.error);
  const type = arg32(a, 3);
  if (type > 1) return fail("ARGUMENT_INVALID");
  const key = type === 0 ? "haltVirq" : "wakeupVirq";
  if (t[key] !== null) return fail("VIRQ_BOUND");
  const virq = arg32(a, 2);
  const e = bindShared(vic.value, virq, { kind: type === 0 ? "vcpu_halt" : "vcpu_wakeup", object: t.id });
  if (e !== null) return fail(e);
  t[key] = { vic: vic.value.id, virq };
  if (type === 1) t.proxy = true;
  return OK;
}

function unbindVirq(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const t = thread(s, c, a[0] ?? 0n, RIGHTS.thread.BIND_VIRQ);
  if (isRet(t)) return t;
  const type = arg32(a, 1);
  if (type > 1) return fail("ARGUMENT_INVALID");
  const key = type === 0 ? "haltVirq" : "wakeupVirq";
  unbindShared(s, t[key]);
  t[key] = null;
  return OK;
}

/** reg_set 0: X0-X30, 1: PC (4-byte aligned), 2: SP_EL0/SP_EL1 (16-byte aligned). */
function registerWrite(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const t = thread(s, c, a[0] ?? 0n, RIGHTS.thread.WRITE_CONTEXT);
  if (isRet(t)) return t;
  if (t.threadState !== "READY") return fail("OBJECT_STATE"); // killed/exited ⚠
  if (t.power !== "OFF") return fail("BUSY");
  const set = arg32(a, 1);
  const index = arg32(a, 2);
  const value = arg(a, 3);
  if (set === 0) {
    if (index > 30) return fail("ARGUMENT_INVALID");
    writeRegister(t, "x", index, value);
    return OK;
  }
  if (set === 1) {
    if (index !== 0) return fail("ARGUMENT_INVALID");
    if ((value & 3n) !== 0n) return fail("ARGUMENT_ALIGNMENT");
    writeRegister(t, "pc", 0, value);
    return OK;
  }
  if (set === 2) {
    if (index > 1) return fail("ARGUMENT_INVALID");
    if ((value & 15n) !== 0n) return fail("ARGUMENT_ALIGNMENT");
    writeRegister(t, "sp", index, value);
    return OK;
  }
  return fail("ARGUMENT_INVALID");
}

/**
 * scheduler_yield (GH:hyp/core/scheduler_fprr/src/hypercalls.c:17-58; scheduler_fprr.c:649-721):
 * control 15:0 hint (0 yield, 1 yield to the thread cap in arg1, others ARGUMENT_INVALID), bit31
 * implementation-defined (ARGUMENT_INVALID). A plain yield by a directed-yield target ends that
 * yield (the yielder runs again); by anyone else it gives up the rest of its slice. YIELD_TO is a
 * directed yield: the target runs in the caller's place for the caller's slice, if it may run on
 * the caller's CPU now (`canYieldTo`); a target that yields back ends it; a yield target naming a
 * third thread redirects its yielder's yield. Yielding to oneself does nothing.
 */
function schedulerYield(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const control = arg32(a, 0);
  const hint = control & 0xffff;
  if ((control & 0x8000_0000) !== 0 || hint > 1) return fail("ARGUMENT_INVALID");
  const self = s.objects.byId[c.thread] as ThreadObject;
  let target: ThreadObject | undefined;
  if (hint === 1) {
    const r = thread(s, c, a[1] ?? 0n, RIGHTS.thread.YIELD_TO);
    if (isRet(r)) return r;
    if (r.id === self.id) return OK;
    target = r;
  }
  markDirty(s);
  const yielder = yieldingTo(s, self.id); // the CPU whose current thread yielded to us, if any
  if (yielder !== undefined) {
    const cpu = s.sched.cpus[yielder]!;
    if (target === undefined || target.id === cpu.current || !canYieldTo(s, target, yielder)) endYield(cpu, self);
    else {
      self.entered = false;
      cpu.yieldTo = target.id;
      target.entered = true;
    }
    return OK;
  }
  const cpu = s.sched.cpus[self.affinity];
  if (target === undefined) {
    if (cpu !== undefined && cpu.current === self.id) cpu.sliceEndNs = s.t; // discards the rest of its slice
    return OK;
  }
  // A pending wakeup skips the directed yield (scheduler_fprr.c:686-693).
  if (cpu === undefined || cpu.current !== self.id || hasDeliverable(s, self) || !canYieldTo(s, target, self.affinity)) return OK;
  cpu.yieldTo = target.id;
  target.entered = true;
  return OK;
}

/** The CPU whose current thread directed-yields to `id`. */
function yieldingTo(s: Machine, id: number): number | undefined {
  const cpus = s.sched.cpus;
  for (let i = 0; i < cpus.length; i++) if (cpus[i]!.yieldTo === id) return i;
  return undefined;
}

function endYield(cpu: { yieldTo: number }, target: ThreadObject): void {
  cpu.yieldTo = 0;
  target.entered = false;
}

/**
 * can_yield_to (scheduler_fprr.c:520-549): the target's affinity is this CPU or none, it is not
 * running anywhere, and nothing blocks it (a proxy-scheduled vCPU outside vcpu_run is blocked).
 */
function canYieldTo(s: Machine, t: ThreadObject, cpu: number): boolean {
  return (t.affinity === cpu || t.affinity === CPU_INDEX_INVALID) && !t.proxy && !isRunning(s, t) && runnable(t);
}

export const vcpuHypercalls: HypercallTable = {
  vcpu_configure: configure,
  vcpu_poweron: poweron,
  vcpu_poweroff: poweroff,
  vcpu_kill: kill,
  vcpu_set_affinity: setAffinity,
  vcpu_set_priority: setPriority,
  vcpu_set_timeslice: setTimeslice,
  vcpu_bind_virq: bindVirq,
  vcpu_unbind_virq: unbindVirq,
  vcpu_register_write: registerWrite,
  scheduler_yield: schedulerYield,
};
