import type { Room } from "../../core/reducer.ts";
import type { Outcome } from "../../core/event.ts";
import type { HypEvent } from "../events.ts";
import type { Machine, MachineConfig } from "../machine.ts";
import { buildHypercallTable, makeOnHypercall, type CallSite } from "./dispatch.ts";
import { identifyHypercalls } from "./identify.ts";
import { makeOnTimerTick } from "../time/handlers.ts";
import { objectHypercalls } from "../object/hypercalls.ts";
import { addrspaceHypercalls } from "../memory/hypercalls.ts";
import { memextentHypercalls } from "../memory/memextent-calls.ts";
import { vcpuHypercalls } from "../vcpu/hypercalls.ts";
import { vcpuRunHypercalls } from "../vcpu/run.ts";
import { attachHypercalls } from "../vcpu/attach.ts";
import { vgicHypercalls } from "../vgic/hypercalls.ts";
import { doorbellHypercalls } from "../ipc/doorbell.ts";
import { msgqueueHypercalls } from "../ipc/msgqueue.ts";
import { virtioMmioHypercalls } from "../virtio_mmio/hypercalls.ts";
import { makeOnSmcccCall } from "../vcpu/psci.ts";
import { makeOnVcpuExec } from "../guest/exec.ts";
import { onVcpuWfi, onSysregWrite } from "../vcpu/guest.ts";
import { onIrq, onVirqAck, onVirqEoi } from "../vgic/handlers.ts";
import { onGuestAccess, onStage2Fault } from "../fault/handlers.ts";
import { reschedule, schedulerDue } from "../vcpu/sched.ts";
import { vtimerDue } from "../vgic/timer.ts";
import { buildRoot, type RootEnv } from "../genesis.ts";
import type { ObjectsState } from "../object/state.ts";
import type { MemdbState } from "../memory/state.ts";
import type { SchedState, VmEntry } from "../vcpu/state.ts";
import { objectInvariants } from "../object/invariants.ts";
import { memoryInvariants } from "../memory/invariants.ts";
import { vcpuInvariants } from "../vcpu/invariants.ts";
import { vgicInvariants } from "../vgic/invariants.ts";

/**
 * The hypervisor at EL2 as the reducer's rooms: objects and caps, memory, vCPUs and the scheduler,
 * the vGIC and timer, IPC, and stage-2 faults. One entry point for machine.ts: the state slices,
 * their genesis (the root VM bootstrap), the rooms with their handlers and invariants, and the
 * per-event epilogue (one scheduling decision when something changed runnability).
 */
export interface HypState {
  objects: ObjectsState;
  memdb: MemdbState;
  /** VMID → addrspace and vCPUs. */
  vms: Record<number, VmEntry>;
  sched: SchedState;
  /** Hardware SPI → its hwirq object. */
  hwirqs: Record<number, number>;
  /** What the RM finds in its environment block at boot (cap IDs, free RAM, GIC placement). */
  rootEnv: RootEnv;
  /** trace_update_class_flags state. */
  traceFlags: bigint;
}

/** Fills the hypervisor slices of a fresh, mutable machine and boots the root VM. */
export function hypGenesis(s: Machine, config: MachineConfig): void {
  s.objects = { nextId: 1, ids: [], byId: {} };
  s.memdb = { ranges: [] };
  s.vms = {};
  s.hwirqs = {};
  s.traceFlags = 0n;
  s.sched = { cpus: Array.from({ length: config.platform.cpus }, () => ({ current: 0, ready: [], sliceEndNs: 0, yieldTo: 0 })), dirty: false, threads: [] };
  s.rootEnv = buildRoot(s);
}

const hypercallTable = buildHypercallTable([
  identifyHypercalls,
  objectHypercalls,
  addrspaceHypercalls,
  memextentHypercalls,
  vcpuHypercalls,
  vcpuRunHypercalls,
  attachHypercalls,
  vgicHypercalls,
  doorbellHypercalls,
  msgqueueHypercalls,
  virtioMmioHypercalls,
]);
const onHypercall = makeOnHypercall(hypercallTable);

/** The `hypercallCounts` key of a call number: "0x" and at least two hex digits. */
const countKey = (call: number): string => `0x${call.toString(16).padStart(2, "0")}`;
/** The keys of Gunyah's call numbers (0x00..0x1FF, the HVC table), formatted once: counting runs on every call. */
const COUNT_KEYS: readonly string[] = Array.from({ length: 0x200 }, (_, call) => countKey(call));

/** Counts a call in `hypercallCounts` (also for calls the RM transport runs through HYP's handlers, src/model/rm/transport.ts). */
export function countHypercall(s: Machine, call: number): void {
  const key = COUNT_KEYS[call] ?? countKey(call);
  s.hypercallCounts[key] = (s.hypercallCounts[key] ?? 0) + 1;
}

/** A hypercall by either conduit: counted, then dispatched. */
function runHypercall(s: Machine, ev: CallSite): { x: readonly bigint[] } {
  const out = onHypercall(s, ev);
  countHypercall(s, ev.call);
  return out;
}

type Sub = Room<Machine, HypEvent>["subscribes"];

const onSmcccCall = makeOnSmcccCall(runHypercall);

export function hypRooms(): Room<Machine, HypEvent>[] {
  return [
    { name: "hyp", subscribes: { hypercall: runHypercall, smccc_call: onSmcccCall } as Sub, invariants: objectInvariants },
    { name: "guest", subscribes: { vcpu_exec: makeOnVcpuExec({ hypercall: runHypercall, smccc: onSmcccCall }) } as Sub },
    { name: "time", subscribes: { timer_tick: makeOnTimerTick([vtimerDue, schedulerDue]) } },
    { name: "memory", subscribes: { stage2_fault: onStage2Fault, guest_access: onGuestAccess } as Sub, invariants: memoryInvariants },
    { name: "vcpu", subscribes: { vcpu_wfi: onVcpuWfi, sysreg_write: onSysregWrite } as Sub, invariants: vcpuInvariants },
    { name: "vgic", subscribes: { irq: onIrq, virq_ack: onVirqAck, virq_eoi: onVirqEoi } as Sub, invariants: vgicInvariants },
  ];
}

/** After every event: one scheduling decision if a handler changed runnability. */
export function hypEpilogue(s: Machine): void {
  if (s.sched.dirty) reschedule(s);
}

export const HYP_EVENT_KINDS = ["hypercall", "smccc_call", "vcpu_exec", "timer_tick", "stage2_fault", "guest_access", "vcpu_wfi", "sysreg_write", "irq", "virq_ack", "virq_eoi"] as const;
export type { Outcome };
