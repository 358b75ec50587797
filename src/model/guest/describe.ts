import type { EventBase, Outcome } from "../../core/event.ts";
import { disassemble } from "../../cpu/index.ts";
import { formatHvError } from "../abi/errors.ts";
import { formatHypercall } from "../abi/hypercalls.ts";

/**
 * `hvsim log` lines for `vcpu_exec`: how many instructions ran, the instruction the guest stopped at
 * (its address and disassembly), how the exit was handled, and where the vCPU stands after it.
 */
type Ev = EventBase & Record<string, unknown>;
const hex = (v: unknown): string => (typeof v === "bigint" || typeof v === "number" ? `0x${v.toString(16)}` : String(v));
const who = (ev: Ev): string => `vm0x${Number(ev.vm).toString(16)}/vcpu${ev.vcpu}`;

function exitText(e: Record<string, unknown>): string {
  switch (e.kind) {
    case "budget":
      return "budget used";
    case "hvc":
    case "smc": {
      const x = (e.x ?? []) as bigint[];
      if (e.smccc === true) return `SMCCC (${e.kind} #0) -> [${x.map(hex).join(", ")}]`;
      if (typeof e.call === "number" || e.call === null || typeof e.call === "string") {
        if (e.call === undefined || (typeof e.imm === "number" && e.imm < 0x6000)) return `${e.kind} #${hex(e.imm)}: not Gunyah's -> X0 = -1`;
        const call = (e.imm as number) - 0x6000;
        const result = call === 0 ? `api_info=${hex(x[0])}` : x.length === 0 ? "" : formatHvError(x[0]!);
        return `${formatHypercall(call)} -> ${result}${x.length > 1 ? ` [${x.slice(1).map(hex).join(", ")}]` : ""}`;
      }
      return `${e.kind} #${hex(e.imm)} -> X0 = -1`;
    }
    case "wfi":
      return e.blocked ? "WFI: blocked" : "WFI: a VIRQ is pending, continues";
    case "stage2_fault": {
      const what = `${e.access} ${e.sizeBytes}B at IPA ${hex(e.ipa)}${e.access === "write" ? ` value ${hex(e.value)}` : ""}`;
      if (e.resolution === "emulated") return `${what} -> emulated ${e.reg ?? e.device ?? ""}${e.value !== undefined && e.access === "read" ? ` = ${hex(e.value)}` : ""}`;
      if (e.resolution === "vmmio") return `${what} -> forwarded to the VMM (${e.state})`;
      if (e.resolution === "abort") return `${what} -> ${e.fault} fault: synchronous external abort injected`;
      return `${what} -> ${e.resolution}`;
    }
    case "stalled":
      return `stalled: exception class ${hex(e.ec)} again and again`;
    default:
      return String(e.kind);
  }
}

export const guestDescribers: Record<string, (ev: Ev, outcome: Outcome) => string> = {
  vcpu_exec(ev, o) {
    const at = typeof o.pc === "number" ? o.pc : 0;
    const insn = typeof o.insn === "number" ? ` ${disassemble(o.insn, at).replace("\t", " ")}` : "";
    const after = o.after === "running" || o.after === undefined ? "" : ` [${o.after}]`;
    return `${who(ev)} ran ${o.retired} insns -> at ${hex(at)}${insn}: ${exitText((o.exit ?? {}) as Record<string, unknown>)}${after}`;
  },
};
