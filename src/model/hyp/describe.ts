import { formatHvError } from "../abi/errors.ts";
import { VCPU_RUN_STATE } from "../abi/constants.ts";
import { formatHypercall, HYPERCALLS } from "../abi/hypercalls.ts";
import type { EventBase, Outcome } from "../../core/event.ts";

/**
 * `hvsim log` lines for the hypervisor's event kinds, with Gunyah's names: call name and number,
 * error name and value, vcpu_run state names, vGIC register names. Registered in
 * src/export/describe.ts `describers`.
 */
type Ev = EventBase & Record<string, unknown>;
const hex = (v: unknown): string => (typeof v === "bigint" || typeof v === "number" ? `0x${v.toString(16)}` : String(v));
// VMIDs print in hex everywhere in the log (vm0xff is the RM, vm0x3 the HLOS), as the RM numbers them.
const who = (ev: Ev): string => `vm0x${Number(ev.vm).toString(16)}/vcpu${ev.vcpu}`;
const RUN_NAMES = new Map<number, string>(Object.entries(VCPU_RUN_STATE).map(([k, v]) => [v, k]));

/** vcpu_run's X1 is a vcpu_run_state: print its name. */
function runState(call: number, x: readonly bigint[]): string {
  if ((call !== HYPERCALLS.vcpu_run && call !== HYPERCALLS.vcpu_run_check) || x[0] !== 0n || x.length < 2) return "";
  return ` ${RUN_NAMES.get(Number(x[1])) ?? `state ${hex(x[1])}`}`;
}

export function describeHypercall(ev: Ev, outcome: Outcome): string {
  const x = (outcome.x ?? []) as bigint[];
  const args = ((ev.args ?? []) as bigint[]).map(hex).join(", ");
  const call = ev.call as number;
  // hypervisor_identify returns hyp_api_info in X0, not an error code.
  const result = call === 0 ? `api_info=${hex(x[0])}` : x.length === 0 ? "" : formatHvError(x[0]!);
  const rest = x.slice(1).map(hex).join(", ");
  const data = outcome.data instanceof Uint8Array ? ` data[${outcome.data.length}]` : "";
  return `${who(ev)} ${formatHypercall(call)}(${args}) -> ${result}${runState(call, x)}${rest ? ` [${rest}]` : ""}${data}`;
}

export const hypDescribers: Record<string, (ev: Ev, outcome: Outcome) => string> = {
  hypercall: describeHypercall,
  smccc_call(ev, outcome) {
    const args = (ev.args ?? []) as bigint[];
    const x = (outcome.x ?? []) as bigint[];
    return `${who(ev)} ${ev.conduit} #0 fid=${hex(args[0] ?? 0n)}(${args.slice(1).map(hex).join(", ")}) -> [${x.map(hex).join(", ")}]`;
  },
  stage2_fault(ev, o) {
    const what = `${who(ev)} ${ev.access} ${ev.sizeBytes}B at IPA ${hex(ev.ipa)}${ev.value === undefined ? "" : ` value ${hex(ev.value)}`}`;
    if (o.resolution === "emulated") return `${what} -> emulated ${o.reg}${o.value === undefined ? "" : ` = ${hex(o.value)}`}`;
    if (o.resolution === "vmmio") return `${what} -> forwarded to the proxy (${o.state})`;
    if (o.resolution === "abort") return `${what} -> ${o.fault} fault: synchronous external abort injected`;
    return `${what} -> ${o.resolution}${o.fsc ? ` (${o.fsc})` : ""}`;
  },
  guest_access(ev, o) {
    const owner = o.owner as { type: string; id: number } | null;
    return `${who(ev)} ${ev.access} ${ev.sizeBytes}B at IPA ${hex(ev.ipa)} -> PA ${hex(o.pa)} (memextent ${o.memextent}, owner ${owner === null ? "none" : `${owner.type} ${owner.id}`})`;
  },
  vcpu_wfi: (ev, o) => `${who(ev)} WFI -> ${o.blocked ? "blocked" : "VIRQ pending, continues"}`,
  sysreg_write: (ev, o) => `${who(ev)} ${ev.reg} = ${hex(ev.value)}${o.fired ? " -> fires PPI 27" : o.dueNs !== null ? ` -> due at t=${o.dueNs}ns` : ""}`,
  irq: (ev, o) => (o.delivered ? `SPI ${ev.hwirq} -> VIRQ ${o.virq} of vm0x${Number(o.vm).toString(16)}/vcpu${o.vcpu}${o.woke ? " (woke it)" : ""}` : `SPI ${ev.hwirq} -> not delivered (${o.reason})`),
  virq_ack: (ev, o) => `${who(ev)} ICC_IAR1_EL1 -> ${o.intid === 1023 ? "1023 (spurious)" : `INTID ${o.intid}`}`,
  virq_eoi: (ev, o) => `${who(ev)} ICC_EOIR1_EL1 INTID ${ev.virq}${o.deactivated ? "" : " (not active: ignored)"}`,
};
