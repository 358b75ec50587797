import { hypDescribers } from "../model/hyp/describe.ts";
import type { EventBase, Outcome } from "../core/event.ts";
import { vmRoomDescribers } from "../model/rm/describe.ts";
import { protectedDescribers } from "../model/protected/describe.ts";
import { guestDescribers } from "../model/guest/describe.ts";

/**
 * One line per event, readable by someone who knows Gunyah: the call's name beside its number, the
 * error's name beside its value. Rooms add formatters for their kinds in `describers`.
 */
export type Describer = (ev: EventBase & Record<string, unknown>, outcome: Outcome) => string;

const hex = (v: unknown): string => (typeof v === "bigint" || typeof v === "number" ? `0x${v.toString(16)}` : String(v));

export const describers: Record<string, Describer> = {
  ...vmRoomDescribers,
  ...hypDescribers,
  ...protectedDescribers,
  ...guestDescribers,
  timer_tick(_ev, outcome) {
    const fired = (outcome.fired ?? []) as string[];
    return fired.length === 0 ? "tick" : `tick: ${fired.join(", ")}`;
  },
};

export function describeEvent(ev: EventBase, outcome: Outcome): string {
  const d = describers[ev.kind];
  const body = d === undefined ? plainJson(ev) : describedOrPlain(d, ev as EventBase & Record<string, unknown>, outcome);
  return `#${ev.seq} t=${formatNs(ev.t)} ${ev.kind} ${body}`;
}

const plainJson = (v: unknown): string => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? hex(x) : x));

/**
 * A stored outcome comes from a trace, which may hold one this build's model never makes (another
 * model version, a hand edit): shown as it is rather than failing the whole listing.
 */
function describedOrPlain(d: (ev: EventBase & Record<string, unknown>, o: Outcome) => string, ev: EventBase & Record<string, unknown>, outcome: Outcome): string {
  try {
    return d(ev, outcome);
  } catch {
    return `${plainJson(ev)} -> ${plainJson(outcome)} (an outcome this build does not describe)`;
  }
}

/** 1234567890 ns -> "1.234567890s": fixed width after the point, so columns line up. */
export function formatNs(t: number): string {
  const s = Math.floor(t / 1e9);
  return `${s}.${String(t % 1e9).padStart(9, "0")}s`;
}
