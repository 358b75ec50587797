import { hypercallName, type HypercallName } from "../abi/hypercalls.ts";
import { hvErrorRegister } from "../abi/errors.ts";
import type { Machine } from "../machine.ts";
import type { HypercallEvent, HypOutcome } from "./events.ts";
import type { HypercallHandler, HypercallTable } from "./calls.ts";

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

/**
 * Handles a `hypercall` event: decodes the number and runs the call's handler. An unknown number,
 * or a known one this model does not implement, returns ERROR_UNIMPLEMENTED (-1) in X0, exactly as
 * Gunyah's jump table does (GH:hyp/core/api/aarch64/templates/hypcall_table.S.tmpl).
 */
export function makeOnHypercall(table: ReadonlyMap<HypercallName, HypercallHandler>) {
  return function onHypercall(s: Machine, ev: HypercallEvent): HypOutcome {
    const name = hypercallName(ev.call);
    const handler = name === undefined ? undefined : table.get(name);
    if (handler === undefined) return { x: [hvErrorRegister("UNIMPLEMENTED")] };
    const r = handler(s, { vm: ev.vm, vcpu: ev.vcpu, seq: ev.seq }, ev.args);
    const out = r.out ?? [];
    // hypervisor_identify has no error register: X0 is hyp_api_info.
    if (name === "hypervisor_identify") return { x: [...out] };
    return { x: [hvErrorRegister(r.error), ...(r.error === "OK" ? out : [])] };
  };
}
