import { reduce } from "../../core/reducer.ts";
import type { Outcome } from "../../core/event.ts";
import { hvErrorRegister, type HvError } from "../abi/errors.ts";
import { HYPERCALLS, type HypercallName } from "../abi/hypercalls.ts";
import type { HypEvent } from "../events.ts";
import { DEFAULT_PLATFORM, hvModel, type Machine } from "../machine.ts";

/**
 * Test helpers for the hypervisor rooms: a genesis state, and one event at a time through the pure
 * `reduce` (immer), so every test also exercises the pure path. Not used by the model itself.
 */
export const RM = { vm: 255, vcpu: 0 } as const;

export function boot(): Machine {
  return hvModel.genesis({ platform: DEFAULT_PLATFORM });
}

type Draft<E> = E extends HypEvent ? Omit<E, "seq" | "t"> & { t?: number } : never;

/** Applies one event (seq and t filled in: t defaults to the current time). */
export function step(s: Machine, ev: Draft<HypEvent>): [Machine, Outcome] {
  return reduce(hvModel, s, { ...ev, seq: s.seq + 1, t: ev.t ?? s.t } as HypEvent);
}

export interface HvcOptions {
  readonly vm?: number;
  readonly vcpu?: number;
  readonly data?: Uint8Array;
  readonly t?: number;
}

/** A native hypercall by name from the RM's vCPU (or `opts.vm/vcpu`). */
export function hvc(s: Machine, name: HypercallName, args: readonly (bigint | number)[], opts: HvcOptions = {}): [Machine, Outcome] {
  return step(s, {
    kind: "hypercall",
    vm: opts.vm ?? RM.vm,
    vcpu: opts.vcpu ?? RM.vcpu,
    call: HYPERCALLS[name],
    args: args.map((a) => BigInt.asUintN(64, BigInt(a))),
    ...(opts.data ? { data: opts.data } : {}),
    ...(opts.t === undefined ? {} : { t: opts.t }),
  });
}

/** The X registers of an outcome. */
export const xs = (o: Outcome): readonly bigint[] => o.x as readonly bigint[];
/** `{x: [X0 = error]}` for an error, for exact comparisons. */
export const errX = (e: HvError): { x: bigint[] } => ({ x: [hvErrorRegister(e)] });
/** `{x: [OK, ...outs]}`. */
export const okX = (...out: (bigint | number)[]): { x: bigint[] } => ({ x: [0n, ...out.map((v) => BigInt(v))] });

/** Runs a hypercall and returns the new state, failing the test unless X0 = OK; returns X1 too. */
export function must(s: Machine, name: HypercallName, args: readonly (bigint | number)[], opts: HvcOptions = {}): [Machine, bigint] {
  const [n, o] = hvc(s, name, args, opts);
  const x = xs(o);
  if (x[0] !== 0n) throw new Error(`${name}(${args.join(", ")}) failed: X0 = ${BigInt.asIntN(64, x[0] ?? 0n)}`);
  return [n, x[1] ?? 0n];
}

/** Root caps (reference §4.6 order). */
export function rootCaps(s: Machine) {
  const e = s.rootEnv;
  return { cspace: e.cspace_capid, partition: e.partition_capid, vcpu: e.vcpu_capid, addrspace: e.addrspace_capid, me: e.me_capid, vic: e.vic };
}
