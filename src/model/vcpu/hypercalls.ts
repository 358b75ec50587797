import { CPU_INDEX_INVALID, SCHED, VCPU_OPTION, VCPU_OPTIONS_KNOWN } from "../abi/constants.ts";
import { RIGHTS } from "../abi/rights.ts";
import type { Machine } from "../machine.ts";
import { lookup, lookupInit } from "../object/cspace.ts";
import { OK, arg, arg16, arg32, fail, type Caller, type HypercallTable, type HvReturn } from "../hyp/calls.ts";
import { assertShared, bindShared, unbindShared } from "../vgic/virq.ts";
import { markDirty } from "./sched.ts";
import type { ThreadObject } from "./state.ts";
import { writeRegister } from "./context.ts";
import { exitRun } from "./run.ts";

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

/** A vCPU leaving a waiting state while not being run raises its VCPU_RUN_WAKEUP VIRQ (§6.3). */
export function signalWakeup(s: Machine, t: ThreadObject): void {
  if (t.proxy && !t.entered && t.wakeupVirq !== null) assertShared(s, t.wakeupVirq, false);
}

function poweron(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const t = thread(s, c, a[0] ?? 0n, RIGHTS.thread.POWER);
  if (isRet(t)) return t;
  const flags = arg(a, 3);
  if ((flags & ~3n) !== 0n) return fail("ARGUMENT_INVALID");
  if (t.threadState !== "READY") return fail("OBJECT_STATE"); // killed/exited ⚠
  if (t.power !== "OFF") return fail("BUSY");
  if ((flags & 1n) === 0n) writeRegister(t, "pc", 0, arg(a, 1));
  if ((flags & 2n) === 0n) writeRegister(t, "x", 0, arg(a, 2));
  t.power = "ON";
  t.everPoweredOn = true;
  markDirty(s);
  signalWakeup(s, t);
  return OK;
}

/** Only the calling vCPU may power itself off; bit0 says "I am the last one of my VM". */
function poweroff(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const t = thread(s, c, a[0] ?? 0n, RIGHTS.thread.POWER);
  if (isRet(t)) return t;
  if (t.id !== c.thread) return fail("ARGUMENT_INVALID");
  const flags = arg(a, 1);
  if ((flags & ~1n) !== 0n) return fail("ARGUMENT_INVALID");
  const othersOn = (s.vms[t.vm]?.vcpus ?? []).some((id) => id !== 0 && id !== t.id && (s.objects.byId[id] as ThreadObject | undefined)?.power === "ON");
  if ((flags & 1n) !== 0n ? othersOn : !othersOn) return fail("DENIED"); // ⚠ both directions
  t.power = "OFF";
  exitRun(s, t);
  return OK;
}

function kill(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const t = thread(s, c, a[0] ?? 0n, RIGHTS.thread.LIFECYCLE);
  if (isRet(t)) return t;
  if (t.threadState === "KILLED" || t.threadState === "EXITED") return OK;
  if (!t.everPoweredOn) return fail("OBJECT_STATE");
  // The killed thread unwinds at once in this model: KILLED then EXITED within the event.
  t.threadState = "EXITED";
  t.power = "OFF";
  exitRun(s, t);
  if (t.haltVirq !== null) assertShared(s, t.haltVirq, false);
  signalWakeup(s, t);
  return OK;
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

/** control 15:0 hint (0 yield, 1 yield to arg1, 2 "lower" unimplemented), bit31 impl-defined. */
function schedulerYield(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const control = arg32(a, 0);
  const hint = control & 0xffff;
  if ((control & 0x8000_0000) !== 0 || hint > 1) return fail("ARGUMENT_INVALID");
  if (hint === 1) {
    const target = thread(s, c, a[1] ?? 0n, RIGHTS.thread.YIELD_TO);
    if (isRet(target)) return target;
  }
  const self = s.objects.byId[c.thread] as ThreadObject;
  const cpu = s.sched.cpus[self.affinity];
  if (cpu !== undefined && cpu.current === self.id) cpu.sliceEndNs = s.t; // gives up the rest of its slice
  markDirty(s);
  return OK;
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
