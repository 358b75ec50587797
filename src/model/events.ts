/**
 * The one Event union, assembled from the families each room declares. Discriminant: `kind`.
 * Adding a family: declare it in the room's `events.ts`, add it here, subscribe a handler in the
 * room's `subscribes` table (a test checks every kind has exactly one handler).
 */
import type { HypercallEvent } from "./hyp/events.ts";
import type { TimerTickEvent } from "./time/events.ts";

export type { HypercallEvent } from "./hyp/events.ts";
export type { TimerTickEvent } from "./time/events.ts";

export type HypEvent = HypercallEvent | TimerTickEvent;
export type EventKind = HypEvent["kind"];
export type EventOf<K extends EventKind> = Extract<HypEvent, { kind: K }>;

/** Every kind, for the registry test and for `hvsim log --kind` validation. */
export const EVENT_KINDS: readonly EventKind[] = ["hypercall", "timer_tick"];
