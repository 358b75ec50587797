import { hypercallName, NOT_BUILT, reservedInputsBad, type HypercallName } from "../abi/hypercalls.ts";
import { hvErrorRegister } from "../abi/errors.ts";
import type { Machine } from "../machine.ts";
import type { HypercallEvent, HypOutcome } from "./events.ts";
import type { HypercallHandler, HypercallTable } from "./calls.ts";
import { runningVcpu } from "./caller.ts";

/**
 * Builds the decode table from the rooms' hypercall tables. A name claimed twice is a simulator
 * bug, found at start-up.
 */
export function buildHypercallTable(tables: readonly HypercallTable[]): ReadonlyMap<HypercallName, HypercallHandler> {
  const out = new Map<HypercallName, HypercallHandler>();
  for (const table of tables) {
    for (const [name, handler] of Object.entries(table) as [HypercallName, HypercallHandler][]) {
      if (out.has(name)) throw new Error(`hypercall ${name} has two handlers`);
      out.set(name, handler);
    }
  }
  return out;
}

/** What the dispatcher needs of a call, whichever conduit carried it (HVC #imm or SMCCC). */
export type CallSite = Pick<HypercallEvent, "seq" | "t" | "vm" | "vcpu" | "call" | "args" | "data">;

/**
 * Handles a `hypercall` event: resolves the calling vCPU (it must exist and be running: anything
 * else is a trace error), decodes the number and runs the call's handler with the caller's cspace.
 * An unknown number, or a known one this model does not implement, returns ERROR_UNIMPLEMENTED (-1)
 * in X0, exactly as Gunyah's jump table does (GH:hyp/core/api/aarch64/templates/hypcall_table.S.tmpl).
 * On error only X0 is reported; on success X0 = OK followed by the call's outputs.
 */
export function makeOnHypercall(table: ReadonlyMap<HypercallName, HypercallHandler>) {
  return function onHypercall(s: Machine, ev: CallSite): HypOutcome {
    const t = runningVcpu(s, ev.seq, "hypercall", ev.vm, ev.vcpu);
    const name = hypercallName(ev.call);
    if (name === undefined || NOT_BUILT.has(name)) return { x: [hvErrorRegister("UNIMPLEMENTED")] };
    // The generated wrapper rejects a reserved input before the call runs, stubs included
    // (GH:hyp/core/api/aarch64/templates/c_wrapper.c.tmpl:88-118).
    if (reservedInputsBad(name, ev.args)) return { x: [hvErrorRegister("ARGUMENT_INVALID")] };
    const handler = table.get(name);
    if (handler === undefined) return { x: [hvErrorRegister("UNIMPLEMENTED")] };
    const caller = { vm: ev.vm, vcpu: ev.vcpu, seq: ev.seq, t: ev.t, thread: t.id, cspace: t.cspace, ...(ev.data ? { data: ev.data } : {}) };
    const r = handler(s, caller, ev.args);
    const out = r.out ?? [];
    // hypervisor_identify has no error register: X0 is hyp_api_info.
    if (name === "hypervisor_identify") return { x: [...out] };
    const x = [hvErrorRegister(r.error), ...(r.error === "OK" ? out : [])];
    return r.extra === undefined || r.error !== "OK" ? { x } : { x, ...r.extra };
  };
}
