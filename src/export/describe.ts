import { formatHypercall } from "../model/abi/hypercalls.ts";
import { formatHvError } from "../model/abi/errors.ts";
import type { EventBase, Outcome } from "../core/event.ts";
import { vmRoomDescribers } from "../model/rm/describe.ts";

/**
 * One line per event, readable by someone who knows Gunyah: the call's name beside its number, the
 * error's name beside its value. Rooms add formatters for their kinds in `describers`.
 */
export type Describer = (ev: EventBase & Record<string, unknown>, outcome: Outcome) => string;

const hex = (v: unknown): string => (typeof v === "bigint" || typeof v === "number" ? `0x${v.toString(16)}` : String(v));

export const describers: Record<string, Describer> = {
  ...vmRoomDescribers,
  hypercall(ev, outcome) {
    const x = (outcome.x ?? []) as bigint[];
    const args = ((ev.args ?? []) as bigint[]).map(hex).join(", ");
    const call = ev.call as number;
    // hypervisor_identify returns hyp_api_info in X0, not an error code.
    const result = call === 0 ? `api_info=${hex(x[0])}` : x.length === 0 ? "" : formatHvError(x[0]!);
    const rest = (call === 0 ? x.slice(1) : x.slice(1)).map(hex).join(", ");
    return `vm${ev.vm}/vcpu${ev.vcpu} ${formatHypercall(call)}(${args}) -> ${result}${rest ? ` [${rest}]` : ""}`;
  },
  timer_tick(_ev, outcome) {
    const fired = (outcome.fired ?? []) as string[];
    return fired.length === 0 ? "tick" : `tick: ${fired.join(", ")}`;
  },
};

export function describeEvent(ev: EventBase, outcome: Outcome): string {
  const d = describers[ev.kind];
  const body = d === undefined ? JSON.stringify(ev, (_k, v) => (typeof v === "bigint" ? hex(v) : v)) : d(ev as EventBase & Record<string, unknown>, outcome);
  return `#${ev.seq} t=${formatNs(ev.t)} ${ev.kind} ${body}`;
}

/** 1234567890 ns -> "1.234567890s": fixed width after the point, so columns line up. */
export function formatNs(t: number): string {
  const s = Math.floor(t / 1e9);
  return `${s}.${String(t % 1e9).padStart(9, "0")}s`;
}
