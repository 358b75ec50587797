import type { Outcome } from "../../core/event.ts";
import { GUNYAH_UUID_WORDS, PLATFORM_MAX_CORES, PSCI_FN, PSCI_RET, PSCI_VERSION_VALUE, SMCCC_VERSION_VALUE, VCPU_OPTION } from "../abi/constants.ts";
import { HYP_API_INFO } from "../hyp/identify.ts";
import type { Machine } from "../machine.ts";
import { runningVcpu } from "../hyp/caller.ts";
import { hasDeliverable } from "../vgic/virq.ts";
import { markDirty } from "./sched.ts";
import { exitRun } from "./run.ts";
import { haltVcpu, killThread, signalWakeup } from "./lifecycle.ts";
import { groupMember, onVcpuPoweron, psciGroup, vpmPoweroff } from "./vpm.ts";
import { pvTimeFeatures, pvTimeSt } from "./pv-time.ts";
import type { ThreadObject, VpmGroupObject } from "./state.ts";
import { setEntry } from "./context.ts";
import type { SmcccCallEvent } from "./events.ts";

/**
 * SMCCC calls (reference §1.2, §6.5; GH:hyp/vm/smccc, GH:hyp/vm/psci). Gunyah hypercalls through
 * the SMCCC ID go to the same handlers as HVC #(0x6000+N) (`runHypercall`, injected by the machine
 * to avoid an import cycle).
 *
 * Registers (GH:hyp/vm/smccc/aarch64/src/smccc_64.c:14-124): a function ID with reserved bits 23:17
 * set, or one no module handles, gets X0 = SMCCC_UNKNOWN_FUNCTION64 (-1) and nothing else. A handled
 * call writes X0..X3: its results over the values X1..X3 came in with; a 32-bit call truncates all
 * four to 32 bits (so its -1 is 0xFFFFFFFF).
 */
const UNKNOWN64 = 0xffff_ffff_ffff_ffffn;
const UNHANDLED: Outcome = { x: [UNKNOWN64] };

export type RunHypercall = (s: Machine, ev: { seq: number; t: number; vm: number; vcpu: number; call: number; args: readonly bigint[]; data?: Uint8Array }) => { x: readonly bigint[] };

/** A handled call's X0..X3: results over the inputs, truncated for a 32-bit call. */
function handled(ev: SmcccCallEvent, smc64: boolean, ret: readonly (bigint | number)[]): Outcome {
  if (ret.length === 0) return { x: [] }; // the call does not return (CPU_OFF, power-down suspend, SYSTEM_OFF)
  const x: bigint[] = [];
  for (let i = 0; i < 4; i++) {
    const v = ret[i] ?? ev.args[i] ?? 0n;
    x.push(BigInt.asUintN(smc64 ? 64 : 32, BigInt(v)));
  }
  return { x };
}

/** Owner IDs (bits 29:24 of a function ID). */
const OWNER = { ARCH: 0, STANDARD: 4, STANDARD_HYP: 5, VENDOR_HYP: 6 } as const;

export function makeOnSmcccCall(runHypercall: RunHypercall) {
  return function onSmcccCall(s: Machine, ev: SmcccCallEvent): Outcome {
    const t = runningVcpu(s, ev.seq, ev.kind, ev.vm, ev.vcpu);
    const fid = Number(BigInt.asUintN(32, ev.args[0] ?? 0n));
    if ((fid & 0x00fe_0000) !== 0) return UNHANDLED; // reserved bits 23:17 (smccc_64.c:22-28)
    const fast = (fid & 0x8000_0000) !== 0;
    const smc64 = (fid & 0x4000_0000) !== 0;
    const owner = (fid >>> 24) & 0x3f;
    const fn = fid & 0xffff;
    // Owner 6 (vendor hyp), class 0b10: a Gunyah hypercall; must be fast + SMC64 (smccc_hypercalls.c).
    if (owner === OWNER.VENDOR_HYP && (fn & 0xc000) === 0x8000) {
      if (!fast || !smc64) return UNHANDLED;
      return runHypercall(s, { seq: ev.seq, t: ev.t, vm: ev.vm, vcpu: ev.vcpu, call: fn & 0x3fff, args: ev.args.slice(1), ...(ev.data ? { data: ev.data } : {}) });
    }
    if (!fast) return UNHANDLED; // no yielding calls are built
    const a = (i: number): bigint => BigInt.asUintN(smc64 ? 64 : 32, ev.args[i] ?? 0n);
    const ret = dispatch(s, t, owner, fn, smc64, a);
    return ret === null ? UNHANDLED : handled(ev, smc64, ret);
  };
}

/** The results of a handled call, or null when no module handles it. */
function dispatch(s: Machine, t: ThreadObject, owner: number, fn: number, smc64: boolean, a: (i: number) => bigint): readonly (bigint | number)[] | null {
  if (owner === OWNER.ARCH && !smc64) {
    if (fn === 0) return [SMCCC_VERSION_VALUE]; // SMCCC_VERSION 1.3 (GH:hyp/vm/smccc/src/smccc.c:12-16)
    if (fn === 1) return [archFeatures(Number(a(1)))];
    return null;
  }
  if (owner === OWNER.STANDARD_HYP) {
    // CALL_UID and REVISION are 32-bit only; PV_TIME_* 64-bit only (smccc.ev:32-33, arm_pv_time.ev:9-10).
    if (!smc64 && fn === 0xff01) return [...GUNYAH_UUID_WORDS];
    if (!smc64 && fn === 0xff03) return [1, 0];
    if (smc64 && fn === 0x20) return [pvTimeFeatures(s, t, Number(a(1)))];
    if (smc64 && fn === 0x21) return [pvTimeSt(s, t)];
    return null;
  }
  if (owner === OWNER.VENDOR_HYP && !smc64) {
    if (fn === 0xff01) return [...GUNYAH_UUID_WORDS];
    if (fn === 0xff03) return [HYP_API_INFO & 0xffff_ffffn];
    return null;
  }
  if (owner === OWNER.STANDARD) return psci(s, t, fn, smc64, a);
  return null;
}

/**
 * SMCCC_ARCH_FEATURES (smccc.c:18-52): an arch function (VERSION, ARCH_FEATURES) or a
 * standard-hyp one (CALL_UID, REVISION; PV_TIME_FEATURES, PV_TIME_ST as SMC64) answers 0.
 */
function archFeatures(id: number): number {
  if ((id & 0x00fe_0000) !== 0 || (id & 0x8000_0000) === 0) return -1;
  const owner = (id >>> 24) & 0x3f;
  const smc64 = (id & 0x4000_0000) !== 0;
  const fn = id & 0xffff;
  if (owner === OWNER.ARCH) return !smc64 && (fn === 0 || fn === 1) ? 0 : -1;
  if (owner === OWNER.STANDARD_HYP) return (!smc64 && (fn === 0xff01 || fn === 0xff03)) || (smc64 && (fn === 0x20 || fn === 0x21)) ? 0 : -1;
  return -1;
}

/** PSCI functions built in this tree, with the width they answer to (GH:hyp/vm/psci/psci.ev:9-28). */
const BOTH = 3;
const ONLY32 = 1;
const PSCI_WIDTHS: Readonly<Record<number, number>> = {
  [PSCI_FN.VERSION]: ONLY32,
  [PSCI_FN.CPU_SUSPEND]: BOTH,
  [PSCI_FN.CPU_OFF]: ONLY32,
  [PSCI_FN.CPU_ON]: BOTH,
  [PSCI_FN.AFFINITY_INFO]: BOTH,
  [PSCI_FN.SYSTEM_OFF]: ONLY32,
  [PSCI_FN.SYSTEM_RESET]: ONLY32,
  [PSCI_FN.FEATURES]: ONLY32,
  [PSCI_FN.CPU_DEFAULT_SUSPEND]: BOTH,
  [PSCI_FN.SYSTEM_RESET2]: BOTH,
};
const built = (fn: number, smc64: boolean): boolean => ((PSCI_WIDTHS[fn] ?? 0) & (smc64 ? 2 : 1)) !== 0;

/**
 * vPSCI 1.1 through the vCPU's VPM group (psci_common.c). Every call but PSCI_FEATURES needs the
 * vCPU to be in a group ("psci_group == NULL: handled = false"); the RM puts every VM's vCPUs in
 * one (RM:src/vm_config/vm_config.c:2958-3018, 3130-3133). SYSTEM_SUSPEND and the others that are
 * commented out of psci.ev are not built: unhandled.
 */
function psci(s: Machine, t: ThreadObject, fn: number, smc64: boolean, a: (i: number) => bigint): readonly (bigint | number)[] | null {
  if (!built(fn, smc64)) return null;
  if (fn === PSCI_FN.FEATURES) return [psciFeatures(s, t, Number(a(1)))];
  const g = psciGroup(s, t);
  if (g === undefined) return null;
  switch (fn) {
    case PSCI_FN.VERSION:
      return [PSCI_VERSION_VALUE];
    case PSCI_FN.CPU_OFF:
      return cpuOff(s, t);
    case PSCI_FN.CPU_ON:
      return [cpuOn(s, t, g, a(1), a(2), a(3))];
    case PSCI_FN.CPU_SUSPEND:
      return cpuSuspend(s, t, Number(BigInt.asUintN(32, a(1))), a(2), a(3));
    case PSCI_FN.CPU_DEFAULT_SUSPEND:
      // The deepest CPU-level state: StateID 1 on QEMU (GH:hyp/platform/soc_qemu/src/platform_psci.c:75-82), power-down.
      return cpuSuspend(s, t, POWERSTATE_POWERDOWN | 1, a(1), a(2));
    case PSCI_FN.AFFINITY_INFO:
      return [affinityInfo(s, g, a(1), a(2))];
    case PSCI_FN.SYSTEM_OFF:
      return systemDown(s, t, g, null);
    case PSCI_FN.SYSTEM_RESET:
      return systemDown(s, t, g, { type: 1n << 63n, cookie: 0n });
    case PSCI_FN.SYSTEM_RESET2:
      // The SMC64 call marks the type with bit 62 (psci_common.c:789-805).
      return systemDown(s, t, g, { type: BigInt.asUintN(32, a(1)) | (smc64 ? 1n << 62n : 0n), cookie: a(2) });
    default:
      return null;
  }
}

/**
 * PSCI_FEATURES (psci_common.c:806-830): a built PSCI function answers 0 (CPU_SUSPEND: 2, platform
 * co-ordinated with the original StateID format, psci_pc.c:60-68) when the caller has a VPM group;
 * SMCCC_VERSION answers 0 always; anything else NOT_SUPPORTED.
 */
function psciFeatures(s: Machine, t: ThreadObject, id: number): number {
  const fast = (id & 0x8000_0000) !== 0;
  const owner = (id >>> 24) & 0x3f;
  const smc64 = (id & 0x4000_0000) !== 0;
  const fn = id & 0xffff;
  if (psciGroup(s, t) !== undefined && owner === OWNER.STANDARD && fast && (id & 0x00fe_0000) === 0) {
    if (!built(fn, smc64)) return PSCI_RET.NOT_SUPPORTED;
    return fn === PSCI_FN.CPU_SUSPEND ? 2 : 0;
  }
  if (owner === OWNER.ARCH && fast && !smc64 && (id & 0x00fe_0000) === 0 && fn === 0) return PSCI_RET.SUCCESS;
  return PSCI_RET.NOT_SUPPORTED;
}

/** CPU_OFF: vcpu_poweroff(last = false): on success the call does not return (no registers written). */
function cpuOff(s: Machine, t: ThreadObject): readonly number[] {
  const e = vpmPoweroff(s, t, false, false);
  if (e !== null) return [PSCI_RET.DENIED];
  t.power = "OFF";
  t.warmReset = null;
  exitRun(s, t);
  return NO_RETURN;
}
/** A call that does not return to the caller: X0..X3 keep what the vCPU will see when it next runs. */
const NO_RETURN: readonly number[] = [];

/**
 * CPU_ON (psci_common.c:468-540): a target outside the group is INTERNAL_FAILURE when its MPIDR is
 * a valid CPU of the platform map, else INVALID_PARAMETERS; a powered-off member is powered on at
 * the entry point with X0 = the context (killed or exited: INTERNAL_FAILURE); one that is on,
 * ALREADY_ON. The default MPIDR map puts vCPU index i at Aff0 = i (⚠ vgic_set_mpidr_mapping
 * routing is not modelled).
 */
function cpuOn(s: Machine, t: ThreadObject, g: VpmGroupObject, mpidr: bigint, entry: bigint, context: bigint): number {
  const index = mpidrIndex(mpidr);
  const target = index === null ? undefined : groupMember(s, g, index);
  if (target === undefined) return index !== null && index < PLATFORM_MAX_CORES ? PSCI_RET.INTERNAL_FAILURE : PSCI_RET.INVALID_PARAMETERS;
  if (target.power !== "OFF") return PSCI_RET.ALREADY_ON;
  if (target.threadState === "KILLED" || target.threadState === "EXITED") return PSCI_RET.INTERNAL_FAILURE;
  onVcpuPoweron(s, target);
  target.power = "ON";
  target.everPoweredOn = true;
  target.warmReset = null;
  setEntry(target, entry, context);
  markDirty(s);
  signalWakeup(s, target);
  return PSCI_RET.SUCCESS;
}

/** Aff0 of a PSCI MPIDR argument with Aff1-3 zero (the default map), else null. */
function mpidrIndex(mpidr: bigint): number | null {
  return (mpidr & 0xff_00ff_ff00n) === 0n ? Number(mpidr & 0xffn) : null;
}

/** psci_suspend_powerstate, original format on QEMU (GH:hyp/interfaces/psci/psci.tc:59-66): bit 16 = power-down. */
const POWERSTATE_POWERDOWN = 1 << 16;

/**
 * CPU_SUSPEND / CPU_DEFAULT_SUSPEND (psci_common.c:296-423): QEMU accepts every state
 * (platform_psci.c:84-94). A pending wakeup means no suspend at all (SUCCESS at once); otherwise
 * the vCPU waits for a VIRQ (wakeup_from PSCI_CPU_SUSPEND), and a power-down state warm-resets it
 * on waking: PC = entry point, X0 = context (aarch64_init.c:496-511; vgic/virq.ts
 * wakeIfDeliverable applies it).
 */
function cpuSuspend(s: Machine, t: ThreadObject, powerState: number, entry: bigint, context: bigint): readonly number[] {
  if (hasDeliverable(s, t)) return [PSCI_RET.SUCCESS];
  t.suspend = (powerState >>> 0) + 1;
  t.warmReset = (powerState & POWERSTATE_POWERDOWN) !== 0 ? { pc: entry, context } : null;
  exitRun(s, t);
  return t.warmReset === null ? [PSCI_RET.SUCCESS] : NO_RETURN;
}

/** AFFINITY_INFO (psci_common.c:557-586): a group member's ON (0) / OFF (1); level ≠ 0 or no member: INVALID_PARAMETERS. */
function affinityInfo(s: Machine, g: VpmGroupObject, mpidr: bigint, level: bigint): number {
  const index = mpidrIndex(mpidr);
  const target = index === null ? undefined : groupMember(s, g, index);
  if (target === undefined || BigInt.asUintN(32, level) !== 0n) return PSCI_RET.INVALID_PARAMETERS;
  return target.power === "OFF" ? 1 : 0;
}

/**
 * SYSTEM_OFF / SYSTEM_RESET(2) from a non-critical vCPU (psci_stop_all_vcpus, psci_common.c:614-642):
 * every other group member is killed (thread_kill: no halt VIRQ for them) and the caller is forced
 * off (vcpu_halted: its halt VIRQ is what the RM acts on); a reset is what vcpu_run then reports
 * as PSCI_SYSTEM_RESET. From a critical (root or HLOS) vCPU the call goes to firmware, which this
 * model does not have: NOT_SUPPORTED.
 */
function systemDown(s: Machine, t: ThreadObject, g: VpmGroupObject, reset: { type: bigint; cookie: bigint } | null): readonly number[] {
  if ((t.options & (VCPU_OPTION.critical | VCPU_OPTION.hlos_vm)) !== 0n) return [PSCI_RET.NOT_SUPPORTED];
  for (const id of g.vcpus) {
    if (id === 0 || id === t.id) continue;
    const o = s.objects.byId[id];
    if (o?.type === "thread") killThread(s, o);
  }
  vpmPoweroff(s, t, false, true);
  t.power = "OFF";
  t.warmReset = null;
  if (reset !== null) t.reset = reset;
  haltVcpu(s, t);
  return NO_RETURN;
}
