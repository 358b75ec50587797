/**
 * Coverage of the model by a run: which hypercalls ran (the final state's `hypercallCounts`, so the
 * ones the RM transport and the VMM make count too), which RM messages were handled or sent as
 * notifications, which error codes came back (Gunyah's in X0, the RM's in replies, errnos from
 * ioctls), which VM status edges the RM took, which event kinds occurred. Collected from events,
 * outcomes and the state after each event; counts merge by addition, so shards and seeds add up.
 *
 * VM status edges are seen at event granularity: an event that moves a VM through several states
 * (RELEASE: EXITED, RESETTING, RESET, gone) shows its last edge (the RM's `prevStatus`); the edges
 * before it are filled in along the shortest path of the RM's edge table (VM_STATE_EDGES), which
 * is the only path the RM's handlers take. Deallocation is the edge to NONE (from LOAD or RESET).
 */
import { HYPERCALLS, hypercallName } from "../../model/abi/hypercalls.ts";
import { VM_STATE_EDGES, type VmStatus } from "../../model/abi/rm.ts";
import { hvErrorName } from "../../model/abi/errors.ts";
import type { HypEvent } from "../../model/events.ts";
import type { Machine } from "../../model/machine.ts";
import { ERRNO } from "../../model/vmm/state.ts";
import type { Outcome } from "../../core/event.ts";
import { memorySink } from "../../trace/source.ts";
import { record } from "../record.ts";
import type { Scenario } from "../scenario.ts";

/** Adds the edges of the shortest path from `from` to `to` in the RM's edge table (nothing if equal or unreachable). */
function walk(c: Record<string, number>, from: VmStatus, to: VmStatus): void {
  if (from === to) return;
  const back = new Map<VmStatus, VmStatus>([[from, from]]);
  const queue: VmStatus[] = [from];
  while (queue.length > 0 && !back.has(to)) {
    const at = queue.shift()!;
    for (const [a, b] of VM_STATE_EDGES) if (a === at && !back.has(b)) (back.set(b, a), queue.push(b));
  }
  if (!back.has(to)) return;
  const path: VmStatus[] = [to];
  while (path[0] !== from) path.unshift(back.get(path[0]!)!);
  for (let i = 1; i < path.length; i++) bump(c, `${path[i - 1]}>${path[i]}`);
}

export interface Coverage {
  hypercalls: Record<string, number>;
  rmMessages: Record<string, number>;
  errors: Record<string, number>;
  vmEdges: Record<string, number>;
  kinds: Record<string, number>;
}

export const COVERAGE_PARTS = ["hypercalls", "rmMessages", "errors", "vmEdges", "kinds"] as const;

export const emptyCoverage = (): Coverage => ({ hypercalls: {}, rmMessages: {}, errors: {}, vmEdges: {}, kinds: {} });

const bump = (m: Record<string, number>, k: string, n = 1): void => void (m[k] = (m[k] ?? 0) + n);
const ERRNO_NAMES = new Map<number, string>(Object.entries(ERRNO).map(([k, v]) => [v, k]));

/** Adds `from` into `into`. */
export function mergeCoverage(into: Coverage, from: Coverage): Coverage {
  for (const part of COVERAGE_PARTS) for (const [k, n] of Object.entries(from[part])) bump(into[part], k, n);
  return into;
}

/** Watches one run: `observe` after every event, `finish` with the final state. */
export class CoverageRecorder {
  readonly coverage = emptyCoverage();
  private readonly seen = new Map<number, { status: string; prev: string }>();

  observe(ev: HypEvent, outcome: Outcome, s: Machine): void {
    const c = this.coverage;
    bump(c.kinds, ev.kind);
    if (ev.kind === "hypercall") {
      const x = outcome.x as readonly bigint[] | undefined;
      // X0 is the error code of every call but hypervisor_identify's (hyp_api_info).
      if (x !== undefined && x.length > 0 && ev.call !== HYPERCALLS.hypervisor_identify) bump(c.errors, `hv:${hvErrorName(x[0]!) ?? `0x${x[0]!.toString(16)}`}`);
    } else if (ev.kind === "rm_request") {
      this.rm(outcome);
    } else if (ev.kind === "vmm_ioctl") {
      const ret = outcome.ret;
      if (typeof ret === "number" && ret < 0) bump(c.errors, `errno:${ERRNO_NAMES.get(-ret) ?? -ret}`);
      const calls = outcome.rm as readonly Outcome[] | undefined;
      if (calls !== undefined) for (const call of calls) this.rm(call);
      const notes = outcome.rmNotify as readonly Outcome[] | undefined;
      if (notes !== undefined) for (const n of notes) bump(c.rmMessages, String(n.msg));
    } else if (ev.kind === "stage2_fault" && typeof outcome.resolution === "string") {
      bump(c.errors, `fault:${outcome.resolution}`);
    } else if (ev.kind === "smmu_txn" && outcome.result === "fault") {
      bump(c.errors, `smmu:${String(outcome.reason)}`);
    }
    this.edges(s);
  }

  private rm(o: Outcome): void {
    const c = this.coverage;
    // An ID the RM does not define is named by its number: one bucket for all of them.
    if (typeof o.msg === "string") bump(c.rmMessages, o.msg.startsWith("0x") ? "(unknown message IDs)" : o.msg);
    if (typeof o.err === "string") bump(c.errors, `rm:${o.err}`);
    const notes = o.notify as readonly Outcome[] | undefined;
    if (notes !== undefined) for (const n of notes) bump(c.rmMessages, String(n.msg));
  }

  private edges(s: Machine): void {
    const c = this.coverage.vmEdges;
    const ids = s.rm.vms.ids;
    for (const id of ids) {
      const vm = s.rm.vms.byId[id]!;
      const last = this.seen.get(id);
      if (last !== undefined && last.status === vm.status && last.prev === vm.prevStatus) continue;
      walk(c, (last?.status ?? "NONE") as VmStatus, vm.prevStatus);
      bump(c, `${vm.prevStatus}>${vm.status}`);
      this.seen.set(id, { status: vm.status, prev: vm.prevStatus });
    }
    if (this.seen.size > ids.length) {
      for (const [id, last] of this.seen) {
        if (s.rm.vms.byId[id] !== undefined) continue;
        // Deallocated (from LOAD, or through the reset states within the same event).
        if (last.status !== "LOAD") walk(c, last.status as VmStatus, "RESET");
        bump(c, `${last.status === "LOAD" ? "LOAD" : "RESET"}>NONE`);
        this.seen.delete(id);
      }
    }
  }

  /** Adds the hypercalls the run made (from the final state's counts). */
  finish(s: Machine): Coverage {
    for (const [key, n] of Object.entries(s.hypercallCounts)) {
      const name = hypercallName(Number.parseInt(key, 16));
      bump(this.coverage.hypercalls, name ?? "(unknown call numbers)", n);
    }
    return this.coverage;
  }
}

/** The coverage one run of a scenario reaches (the campaign compares the swarm with the built-ins). */
export function scenarioCoverage(scenario: Scenario, seed: number): Coverage {
  const rec = new CoverageRecorder();
  let last: Machine | null = null;
  const watched: Scenario = {
    ...scenario,
    hash: scenario.hash,
    config: scenario.config,
    makeDriver: (stream) => {
      const d = scenario.makeDriver(stream);
      return {
        next: (s) => d.next(s),
        observe: (ev, outcome, s) => {
          d.observe?.(ev, outcome, s);
          rec.observe(ev, outcome, s);
          last = s;
        },
      };
    },
  };
  record(watched, memorySink(), { seed });
  return last === null ? rec.coverage : rec.finish(last);
}
