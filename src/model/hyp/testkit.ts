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

/** A bare RM (no HLOS: `hlos: false`), whose tests build VMs from the root partition's free RAM. */
export function boot(): Machine {
  return hvModel.genesis({ platform: DEFAULT_PLATFORM, hlos: false });
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

/** Caps of a secondary VM built by `buildVm`. */
export interface VmCaps {
  vmCs: bigint;
  as: bigint;
  me: bigint;
  vic: bigint;
  vcpu: bigint;
  /** Every vCPU's cap, by index (vcpu = vcpus[0]). */
  vcpus: bigint[];
  vpm: bigint;
}

/** RAM the tests give VM 1: 1 MiB of the root partition's free RAM, mapped RWX at IPA 0x4000_0000. */
export const VM1 = { vmid: 1, ram: 0x8200_0000, ramSize: 0x10_0000, ipa: 0x4000_0000 } as const;

/**
 * The RM builds VM 1 with hypercalls: cspace, addrspace (VMID 1), a BASIC memextent mapped RWX,
 * a VIC for one vCPU, a VPM group for its PSCI (no_aggregation for a proxy-scheduled VM, as the RM
 * configures it: RM:src/vm_config/vm_config.c:2958-2995), and a proxy-scheduled vCPU (unless
 * `proxy` is false) attached to it (unless `vpm` is false) — powered on if asked.
 */
export interface BuildVmOptions {
  readonly proxy?: boolean;
  readonly powerOn?: boolean;
  /** One CPU for every vCPU, or one per vCPU. */
  readonly affinity?: number | readonly number[];
  readonly priorities?: readonly number[];
  readonly vpm?: boolean;
  readonly vcpus?: number;
  /** Give the addrspace a one-page VM information area at this IPA (the PV-time records). */
  readonly infoAreaIpa?: number;
}

export function buildVm(s0: Machine, opts: BuildVmOptions = {}): [Machine, VmCaps] {
  let s = s0;
  const P = s.rootEnv.partition_capid;
  const CS = s.rootEnv.cspace_capid;
  let vmCs: bigint, as: bigint, me: bigint, vic: bigint, vcpu: bigint, vpm = 0n;
  [s, vmCs] = must(s, "partition_create_cspace", [P, CS]);
  [s] = must(s, "cspace_configure", [vmCs, 16]);
  [s] = must(s, "object_activate", [vmCs]);
  [s, as] = must(s, "partition_create_addrspace", [P, CS]);
  [s] = must(s, "addrspace_configure", [as, VM1.vmid]);
  [s] = must(s, "addrspace_configure_vmmio", [as, 0x0a00_0000, 0x1000, 0]);
  if (opts.infoAreaIpa !== undefined) {
    let info: bigint;
    [s, info] = must(s, "partition_create_memextent", [P, CS]);
    [s] = must(s, "memextent_configure", [info, VM1.ram + VM1.ramSize, 0x1000, 6]);
    [s] = must(s, "object_activate", [info]);
    [s] = must(s, "addrspace_configure_info_area", [as, info, opts.infoAreaIpa]);
  }
  [s] = must(s, "object_activate", [as]);
  [s, me] = must(s, "partition_create_memextent", [P, CS]);
  [s] = must(s, "memextent_configure", [me, VM1.ram, VM1.ramSize, 7]);
  [s] = must(s, "object_activate", [me]);
  [s] = must(s, "addrspace_map", [as, me, VM1.ipa, 0x0f_0077, 0, 0, 0]);
  [s, vic] = must(s, "partition_create_vic", [P, CS]);
  const n = opts.vcpus ?? 1;
  [s] = must(s, "vic_configure", [vic, n, 64, 0, 0]);
  [s] = must(s, "object_activate", [vic]);
  if (opts.vpm !== false) {
    [s, vpm] = must(s, "partition_create_vpm_group", [P, CS]);
    if (opts.proxy !== false) [s] = must(s, "vpm_group_configure", [vpm, 1]);
    [s] = must(s, "object_activate", [vpm]);
  }
  const vcpus: bigint[] = [];
  for (let i = 0; i < n; i++) {
    [s, vcpu] = must(s, "partition_create_thread", [P, CS]);
    [s] = must(s, "vcpu_configure", [vcpu, opts.proxy === false ? 0n : 1n << 9n]);
    const cpu = typeof opts.affinity === "number" ? opts.affinity : opts.affinity?.[i];
    if (cpu !== undefined) [s] = must(s, "vcpu_set_affinity", [vcpu, cpu, -1]);
    const prio = opts.priorities?.[i];
    if (prio !== undefined) [s] = must(s, "vcpu_set_priority", [vcpu, prio]);
    [s] = must(s, "cspace_attach_thread", [vmCs, vcpu]);
    [s] = must(s, "addrspace_attach_thread", [as, vcpu]);
    [s] = must(s, "vic_attach_vcpu", [vic, vcpu, i]);
    if (opts.vpm !== false) [s] = must(s, "vpm_group_attach_vcpu", [vpm, vcpu, i]);
    [s] = must(s, "object_activate", [vcpu]);
    vcpus.push(vcpu);
  }
  vcpu = vcpus[0]!;
  if (opts.powerOn) [s] = must(s, "vcpu_poweron", [vcpu, VM1.ipa, 0, 0]);
  return [s, { vmCs, as, me, vic, vcpu, vcpus, vpm }];
}

/** The RM runs VM 1's proxy-scheduled vCPU: vcpu_run must return READY. */
export function enter(s: Machine, vcpu: bigint): Machine {
  const [n, o] = hvc(s, "vcpu_run", [vcpu, 0, 0, 0, 0]);
  if (xs(o)[0] !== 0n || xs(o)[1] !== 0n) throw new Error(`vcpu_run did not return READY: ${xs(o).join(",")}`);
  return n;
}
