import type { Outcome } from "../../core/event.ts";
import { GUNYAH_UUID_WORDS, PSCI, PSCI_RET, PSCI_VERSION_VALUE, SMCCC_VENDOR_HYP_CALL_UID, SMCCC_VERSION_ID, SMCCC_VERSION_VALUE, VCPU_OPTION } from "../abi/constants.ts";
import { HYP_API_INFO } from "../hyp/identify.ts";
import type { Machine } from "../machine.ts";
import { runningVcpu } from "../hyp/caller.ts";
import { markDirty } from "./sched.ts";
import { exitRun } from "./run.ts";
import { signalWakeup } from "./hypercalls.ts";
import { assertShared } from "../vgic/virq.ts";
import type { ThreadObject } from "./state.ts";
import { setEntry } from "./context.ts";
import type { SmcccCallEvent } from "./events.ts";

/**
 * SMCCC calls (reference §1.2, §6.5; GH:hyp/vm/smccc, GH:hyp/vm/psci). Gunyah hypercalls through
 * the SMCCC ID go to the same handlers as HVC #(0x6000+N) (`runHypercall`, injected by the machine
 * to avoid an import cycle). Unknown IDs return -1 (SMCCC NOT_SUPPORTED, `smccc_handle_vcpu_trap_default`).
 */
const reg = (v: number): bigint => BigInt.asUintN(64, BigInt(v));
const NOT_SUPPORTED = reg(-1);

export type RunHypercall = (s: Machine, ev: { seq: number; t: number; vm: number; vcpu: number; call: number; args: readonly bigint[]; data?: Uint8Array }) => { x: readonly bigint[] };

export function makeOnSmcccCall(runHypercall: RunHypercall) {
  return function onSmcccCall(s: Machine, ev: SmcccCallEvent): Outcome {
    const t = runningVcpu(s, ev.seq, ev.kind, ev.vm, ev.vcpu);
    const fid = Number(BigInt.asUintN(32, ev.args[0] ?? 0n));
    const a = (i: number): bigint => BigInt.asUintN(64, ev.args[i] ?? 0n);
    // Owner 6 (vendor hyp), class 0b10: a Gunyah hypercall; must be fast + SMC64, bits 23:17 zero.
    if ((fid & 0x3f00_c000) === 0x0600_8000) {
      if ((fid & 0xc0fe_0000) >>> 0 !== 0xc000_0000) return { x: [NOT_SUPPORTED] };
      return runHypercall(s, { seq: ev.seq, t: ev.t, vm: ev.vm, vcpu: ev.vcpu, call: fid & 0x3fff, args: ev.args.slice(1), ...(ev.data ? { data: ev.data } : {}) });
    }
    switch (fid) {
      case SMCCC_VERSION_ID:
        return { x: [reg(SMCCC_VERSION_VALUE)] };
      case SMCCC_VENDOR_HYP_CALL_UID:
        return { x: [...GUNYAH_UUID_WORDS] };
      case 0x8600_ff03:
        return { x: [HYP_API_INFO & 0xffff_ffffn] };
      case PSCI.VERSION:
        return { x: [reg(PSCI_VERSION_VALUE)] };
      case PSCI.FEATURES:
        return { x: [reg(SUPPORTED.has(Number(BigInt.asUintN(32, a(1)))) ? PSCI_RET.SUCCESS : PSCI_RET.NOT_SUPPORTED)] };
      case PSCI.CPU_OFF:
        t.power = "OFF";
        exitRun(s, t);
        return { x: [reg(PSCI_RET.SUCCESS)] };
      case PSCI.CPU_ON_32:
      case PSCI.CPU_ON_64:
        return { x: [reg(cpuOn(s, t, a(1), a(2), a(3)))] };
      case PSCI.CPU_SUSPEND_32:
      case PSCI.CPU_SUSPEND_64:
        return { x: [reg(cpuSuspend(s, t, Number(BigInt.asUintN(32, a(1)))))] };
      case PSCI.AFFINITY_INFO_32:
      case PSCI.AFFINITY_INFO_64:
        return { x: [reg(affinityInfo(s, t, a(1), a(2)))] };
      case PSCI.SYSTEM_OFF:
        return { x: [reg(systemDown(s, t, null))] };
      case PSCI.SYSTEM_RESET:
        return { x: [reg(systemDown(s, t, { type: 1n << 63n, cookie: 0n }))] };
      case PSCI.SYSTEM_RESET2_32:
      case PSCI.SYSTEM_RESET2_64:
        return { x: [reg(systemDown(s, t, { type: BigInt.asUintN(32, a(1)) | (fid === PSCI.SYSTEM_RESET2_64 ? 1n << 62n : 0n), cookie: a(2) }))] };
      default:
        return { x: [NOT_SUPPORTED] };
    }
  };
}

const SUPPORTED = new Set<number>([PSCI.VERSION, PSCI.CPU_SUSPEND_32, PSCI.CPU_SUSPEND_64, PSCI.CPU_OFF, PSCI.CPU_ON_32, PSCI.CPU_ON_64, PSCI.AFFINITY_INFO_32, PSCI.AFFINITY_INFO_64, PSCI.SYSTEM_OFF, PSCI.SYSTEM_RESET, PSCI.FEATURES, PSCI.SYSTEM_RESET2_32, PSCI.SYSTEM_RESET2_64]);

/** A target MPIDR names a vCPU of the caller's VM by Aff0 (the default MPIDR mapping). */
function sibling(s: Machine, t: ThreadObject, mpidr: bigint): ThreadObject | undefined {
  if ((mpidr & ~0xffn) !== 0n) return undefined;
  const id = s.vms[t.vm]?.vcpus[Number(mpidr)] ?? 0;
  const o = id === 0 ? undefined : s.objects.byId[id];
  return o?.type === "thread" ? o : undefined;
}

function cpuOn(s: Machine, t: ThreadObject, mpidr: bigint, entry: bigint, context: bigint): number {
  const target = sibling(s, t, mpidr);
  if (target === undefined || target.threadState !== "READY") return PSCI_RET.INVALID_PARAMETERS;
  if (target.power === "ON") return PSCI_RET.ALREADY_ON;
  target.power = "ON";
  target.everPoweredOn = true;
  setEntry(target, entry, context);
  markDirty(s);
  signalWakeup(s, target);
  return PSCI_RET.SUCCESS;
}

/** Standby/retention or power-down: the vCPU waits for a VIRQ (wakeup_from PSCI_CPU_SUSPEND). */
function cpuSuspend(s: Machine, t: ThreadObject, powerState: number): number {
  t.suspend = powerState + 1;
  exitRun(s, t);
  return PSCI_RET.SUCCESS;
}

function affinityInfo(s: Machine, t: ThreadObject, mpidr: bigint, level: bigint): number {
  if (level !== 0n) return PSCI_RET.INVALID_PARAMETERS;
  const target = sibling(s, t, mpidr);
  if (target === undefined) return PSCI_RET.INVALID_PARAMETERS;
  return target.power === "ON" ? 0 : 1;
}

/**
 * SYSTEM_OFF / SYSTEM_RESET(2) from a non-critical vCPU: every other vCPU of the VM is killed and
 * the caller forced off (its HALT VIRQ raised); a reset is reported by vcpu_run as PSCI_SYSTEM_RESET.
 * From a critical (root/HLOS) vCPU the call goes to firmware, which this model does not have.
 */
function systemDown(s: Machine, t: ThreadObject, reset: { type: bigint; cookie: bigint } | null): number {
  if ((t.options & (VCPU_OPTION.critical | VCPU_OPTION.hlos_vm)) !== 0n) return PSCI_RET.NOT_SUPPORTED;
  for (const id of s.vms[t.vm]?.vcpus ?? []) {
    const o = s.objects.byId[id];
    if (o?.type !== "thread" || o.id === t.id || o.threadState !== "READY") continue;
    o.threadState = "EXITED";
    o.power = "OFF";
    exitRun(s, o);
    if (o.haltVirq !== null) assertShared(s, o.haltVirq, false);
  }
  t.power = "OFF";
  if (reset !== null) t.reset = reset;
  exitRun(s, t);
  if (t.haltVirq !== null) assertShared(s, t.haltVirq, false);
  return PSCI_RET.SUCCESS;
}
