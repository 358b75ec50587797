/**
 * The one Event union, assembled from the families each room declares. Discriminant: `kind`.
 * Adding a family: declare it in the room's `events.ts`, add it here, subscribe a handler in the
 * room's `subscribes` table (a test checks every kind has exactly one handler).
 */
import type { HypercallEvent } from "./hyp/events.ts";
import type { TimerTickEvent } from "./time/events.ts";
import type { SmcccCallEvent, SysregWriteEvent, VcpuWfiEvent } from "./vcpu/events.ts";
import type { IrqEvent, VirqAckEvent, VirqEoiEvent } from "./vgic/events.ts";
import type { GuestAccessEvent, Stage2FaultEvent } from "./fault/events.ts";
import type { VcpuExecEvent } from "./guest/events.ts";
import { VM_ROOM_KINDS, type VmRoomEvent } from "./rm/room.ts";
import { PROTECTED_KINDS, type ProtectedEvent } from "./protected/events.ts";

export type { HypercallEvent } from "./hyp/events.ts";
export type { TimerTickEvent } from "./time/events.ts";
export type { SmcccCallEvent, SysregWriteEvent, VcpuWfiEvent } from "./vcpu/events.ts";
export type { IrqEvent, VirqAckEvent, VirqEoiEvent } from "./vgic/events.ts";
export type { GuestAccessEvent, Stage2FaultEvent } from "./fault/events.ts";
export type { VcpuExecEvent } from "./guest/events.ts";

/** The hypervisor's own event families (EL2 boundary: traps, faults, interrupts, time). */
export type HypervisorEvent =
  | HypercallEvent
  | SmcccCallEvent
  | VcpuExecEvent
  | TimerTickEvent
  | Stage2FaultEvent
  | GuestAccessEvent
  | VcpuWfiEvent
  | SysregWriteEvent
  | IrqEvent
  | VirqAckEvent
  | VirqEoiEvent;

export type HypEvent = HypervisorEvent | VmRoomEvent | ProtectedEvent;
export type EventKind = HypEvent["kind"];
export type EventOf<K extends EventKind> = Extract<HypEvent, { kind: K }>;

/** Every kind, for the registry test and for `hvsim log --kind` validation. */
export const EVENT_KINDS: readonly EventKind[] = [
  "hypercall",
  "smccc_call",
  "vcpu_exec",
  "timer_tick",
  "stage2_fault",
  "guest_access",
  "vcpu_wfi",
  "sysreg_write",
  "irq",
  "virq_ack",
  "virq_eoi",
  ...VM_ROOM_KINDS,
  ...PROTECTED_KINDS,
];
