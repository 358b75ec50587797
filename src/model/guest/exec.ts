import { invalidEvent } from "../../core/errors.ts";
import type { Outcome } from "../../core/event.ts";
import { ACCESS_FETCH, ACCESS_WRITE, REG_PC, readReg, readX, run, withX, type RefusedAccess, type StopReason } from "../../cpu/index.ts";
import { HYPERCALL_HVC_BASE, HYPERCALLS, hypercallName } from "../abi/hypercalls.ts";
import { hvErrorRegister } from "../abi/errors.ts";
import type { Machine } from "../machine.ts";
import { objectAs } from "../object/objects.ts";
import { runningVcpu } from "../hyp/caller.ts";
import type { CallSite } from "../hyp/dispatch.ts";
import { resolveStage2Fault } from "../fault/handlers.ts";
import { exitRun } from "../vcpu/run.ts";
import type { SmcccCallEvent } from "../vcpu/events.ts";
import type { ThreadObject } from "../vcpu/state.ts";
import { hasDeliverable } from "../vgic/virq.ts";
import { physPieces, readIpa, readPhys, writePhys } from "../rm/content.ts";
import { ACCESS_BIT } from "../memory/stage2.ts";
import { GuestBus } from "./bus.ts";
import { EXEC_BUDGET_MAX, GUEST_INSNS_PER_NS, type VcpuExecEvent } from "./events.ts";

/** The hypervisor's own call paths, injected by the machine (as the SMCCC handler gets its hypercall path). */
export interface GuestTraps {
  readonly hypercall: (s: Machine, ev: CallSite) => { readonly x: readonly bigint[]; readonly [k: string]: unknown };
  readonly smccc: (s: Machine, ev: SmcccCallEvent) => Outcome;
}

/** The highest HVC immediate of Gunyah's table (0x6000-0x61FF, reference §1.1). */
const HVC_TABLE_END = HYPERCALL_HVC_BASE + 0x200;
const UNIMPLEMENTED = hvErrorRegister("UNIMPLEMENTED");

export function makeOnVcpuExec(traps: GuestTraps) {
  /** See `VcpuExecEvent`. */
  return function onVcpuExec(s: Machine, ev: VcpuExecEvent): Outcome {
    const t = runningVcpu(s, ev.seq, ev.kind, ev.vm, ev.vcpu);
    if (!Number.isSafeInteger(ev.budget) || ev.budget < 1 || ev.budget > EXEC_BUDGET_MAX) {
      invalidEvent(ev.seq, ev.kind, `budget ${ev.budget} is not an instruction count in 1..${EXEC_BUDGET_MAX}`);
    }
    const as = objectAs(s, t.addrspace, "addrspace")!;
    const bus = new GuestBus(s, t, as, ev.t, t.cpu.retired);
    const r = run(t.cpu, bus, ev.budget);
    bus.finish();
    t.cpu = r.state;
    s.t = Math.max(s.t, ev.t + Math.ceil(r.retired / GUEST_INSNS_PER_NS));
    const at = stopPc(r.stop, Number(readReg(r.state, REG_PC)));
    const insn = wordAt(s, t.vm, at);
    const exit = handleStop(s, t, ev, r.stop, traps);
    const after = afterState(t);
    const base = { retired: r.retired, pc: at, ...(insn === null ? {} : { insn }), exit, after };
    // A vCPU waiting for an interrupt says when its own timer would wake it (what a driver waits for).
    return after === "wfi" && t.vtimer.dueNs >= 0 ? { ...base, timerDueNs: t.vtimer.dueNs } : base;
  };
}

/** Where the vCPU stands after the exit was handled: still running, or why it is not. */
function afterState(t: ThreadObject): "running" | "off" | "vmmio" | "wfi" | "suspend" | "fault" {
  if (t.power === "OFF" || t.threadState !== "READY") return "off";
  if (t.vmmio !== null) return "vmmio";
  if (t.fault) return "fault";
  if (t.wfi) return "wfi";
  if (t.suspend !== 0) return "suspend";
  return "running";
}

/** The address of the instruction the run stopped at (HVC/SMC/WFI have already retired: the PC is past them). */
function stopPc(stop: StopReason, pc: number): number {
  return stop.kind === "hvc" || stop.kind === "smc" || stop.kind === "wfi" || stop.kind === "wfe" ? pc - 4 : pc;
}

/** The instruction word at a guest address (what the log and the debugger show), or null if it is not mapped. */
function wordAt(s: Machine, vm: number, ipa: number): number | null {
  const pieces = physPieces(s, vm, ipa, 4);
  if (pieces === null || pieces.length !== 1) return null;
  const b = readPhys(s, pieces[0]!.pa, 4);
  return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
}

function handleStop(s: Machine, t: ThreadObject, ev: VcpuExecEvent, stop: StopReason, traps: GuestTraps): Outcome {
  switch (stop.kind) {
    case "hvc":
    case "smc":
      return trapCall(s, t, ev, stop.kind, stop.imm, traps);
    case "wfi":
      // Trapped WFI (HCR_EL2.TWI): the vCPU blocks unless a VIRQ is already deliverable.
      if (hasDeliverable(s, t)) return { kind: "wfi", blocked: false };
      t.wfi = true;
      exitRun(s, t);
      return { kind: "wfi", blocked: true };
    case "access":
      return { kind: "stage2_fault", ...faultOf(stop.access), ...resolveStage2Fault(s, t, faultOf(stop.access)) };
    case "stalled":
      return { kind: "stalled", ec: stop.ec };
    default:
      // budget, wfe (a hint: the vCPU goes on), and BRK/exceptions the guest takes itself.
      return { kind: stop.kind };
  }
}

function faultOf(a: RefusedAccess): { ipa: number; access: "read" | "write" | "exec"; sizeBytes: number; value: bigint; iss: number } {
  const access = a.access === ACCESS_WRITE ? "write" : a.access === ACCESS_FETCH ? "exec" : "read";
  return { ipa: Number(a.address), access, sizeBytes: a.sizeBytes, value: a.value, iss: a.iss };
}

/**
 * HVC #0 and SMC #0 are SMCCC calls (function ID in W0: PSCI, the vendor-hyp UID, Gunyah calls via
 * 0xC6008000 + N); HVC #(0x6000 + N) is Gunyah hypercall N with X0..X7 as inputs. Results go back
 * into X0.. as the hypervisor writes them; anything else answers X0 = -1 (reference §1.1).
 */
function trapCall(s: Machine, t: ThreadObject, ev: VcpuExecEvent, conduit: "hvc" | "smc", imm: number, traps: GuestTraps): Outcome {
  const args = readX(t.cpu, 0, 8);
  if (imm === 0) {
    const out = traps.smccc(s, { kind: "smccc_call", seq: ev.seq, t: s.t, vm: ev.vm, vcpu: ev.vcpu, conduit, args });
    writeResults(t, out.x as readonly bigint[] | undefined);
    return { kind: conduit, imm, smccc: true, ...out };
  }
  if (conduit === "smc" || imm < HYPERCALL_HVC_BASE || imm >= HVC_TABLE_END) {
    writeResults(t, [UNIMPLEMENTED]);
    return { kind: conduit, imm, x: [UNIMPLEMENTED] };
  }
  const call = imm - HYPERCALL_HVC_BASE;
  const site: CallSite = { seq: ev.seq, t: s.t, vm: ev.vm, vcpu: ev.vcpu, call, args };
  const buffered = withGuestBuffers(s, t, call, args, site);
  if ("x" in buffered) {
    writeResults(t, buffered.x);
    return { kind: conduit, imm, call: hypercallName(call) ?? null, x: buffered.x };
  }
  const out = traps.hypercall(s, buffered.site);
  const x = out.x;
  if (buffered.receiveTo !== null && x[0] === 0n && out.data instanceof Uint8Array) {
    writeGuest(s, t, buffered.receiveTo, out.data);
  }
  writeResults(t, x);
  return { kind: conduit, imm, call: hypercallName(call) ?? null, ...out };
}

function writeResults(t: ThreadObject, x: readonly bigint[] | undefined): void {
  if (x !== undefined && x.length > 0) t.cpu = withX(t.cpu, 0, x.slice(0, 8));
}

/**
 * Hypercalls that pass guest buffers (reference §2.9): msgqueue_send reads `size` bytes at X2,
 * msgqueue_receive writes the message to X1 (at most X2 bytes). Scripted guests carry those bytes
 * in the event; real guests have them in their memory, read and written here through the VM's
 * stage-2. A buffer the VM cannot reach answers ERROR_ADDR_INVALID.
 */
function withGuestBuffers(s: Machine, t: ThreadObject, call: number, args: readonly bigint[], site: CallSite): { site: CallSite; receiveTo: number | null } | { x: readonly bigint[] } {
  if (call === HYPERCALLS.msgqueue_send) {
    const size = Number(BigInt.asUintN(32, args[1] ?? 0n));
    if (size === 0 || size > 0x1000) return { site, receiveTo: null };
    const data = readIpa(s, t.vm, Number(BigInt.asUintN(48, args[2] ?? 0n)), size);
    return data === null ? { x: [hvErrorRegister("ADDR_INVALID")] } : { site: { ...site, data }, receiveTo: null };
  }
  if (call === HYPERCALLS.msgqueue_receive) {
    const to = Number(BigInt.asUintN(48, args[1] ?? 0n));
    const size = Number(BigInt.asUintN(32, args[2] ?? 0n));
    if (size > 0 && !guestWritable(s, t, to, Math.min(size, 0x1000))) return { x: [hvErrorRegister("ADDR_INVALID")] };
    return { site, receiveTo: to };
  }
  return { site, receiveTo: null };
}

function guestWritable(s: Machine, t: ThreadObject, ipa: number, size: number): boolean {
  const pieces = physPieces(s, t.vm, ipa, size);
  return pieces !== null && pieces.every((p) => (p.rights & ACCESS_BIT.write) !== 0);
}

function writeGuest(s: Machine, t: ThreadObject, ipa: number, data: Uint8Array): void {
  const pieces = physPieces(s, t.vm, ipa, data.length);
  if (pieces === null) return;
  let at = 0;
  for (const p of pieces) {
    writePhys(s, p.pa, data.subarray(at, at + p.size), `vm${t.vm}`);
    at += p.size;
  }
}
