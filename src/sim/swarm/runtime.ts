/**
 * What the swarm's actors share while one world runs: per VM, what its VMM holds (fd, VMID, boots,
 * parcels passed between host and guest); the hostile host's own VMs and parcels (so the heal can
 * take them back); the timed waits pending (so the driver can let time pass when nothing else
 * happens); the liveness failures found; and the counters the campaign reports. Driver-side
 * bookkeeping only: the machine state stays the truth, actors read it through `peek` and `wait`.
 */
import type { Machine } from "../../model/machine.ts";
import type { GivenParcel, HostVm } from "../lib/host.ts";
import type { VmPlan } from "../lib/vm-plan.ts";
import { sleep, wait, type Program, type Step } from "../lib/program.ts";
import type { Prng, Ratio } from "../prng.ts";
import type { Proposal } from "../scenario.ts";
import { GUEST, sharedGpa, type DownHow, type World, type WorldVm } from "./world.ts";

export interface SwarmVm {
  readonly index: number;
  readonly world: WorldVm;
  readonly plan: VmPlan;
  /** The VM the VMM holds now ({fd: 0} when none) and the last VMID it had (illegal orders use it). */
  current: HostVm;
  lastVmid: number;
  /** VMs this VMM created and has not released (a second create in an illegal order holds two). */
  readonly held: HostVm[];
  /** Successful STARTs: the guest's boot n runs while generation is n. */
  generation: number;
  /** CREATE_VMs issued: which payload a protected VM loads. */
  creates: number;
  /** How the guest of boot `generation` went down, once its last step was applied. */
  down: { readonly generation: number; readonly how: DownHow; readonly seq: number } | null;
  /** Host -> guest parcels: given and not accepted yet, accepted (with the guest IPA), released, all given. */
  readonly inbox: GivenParcel[];
  readonly accepted: { readonly parcel: GivenParcel; readonly ipa: number }[];
  readonly released: number[];
  readonly given: GivenParcel[];
  readonly freeSlots: number[];
  /** Guest -> host parcels: shared and not accepted yet, accepted by the host (host IPA), released by the host. */
  readonly fromGuest: { readonly handle: number; readonly gpa: number; readonly size: number }[];
  readonly hostHolds: { readonly handle: number; readonly ipa: number | null; readonly size: number }[];
  readonly hostReleased: number[];
  /** The guest's own RM calls. */
  readonly rpc: { seq: number };
}

/** A run that stops making progress, or a VM left in a state it should have left (VOPR's liveness mode). */
export interface LivenessFailure {
  readonly kind: "vm-not-down" | "stop-ignored" | "stuck-vm" | "leaked-parcel" | "stalled";
  /** Event index where it was found (the last event for end-of-run checks). */
  readonly index: number;
  readonly detail: string;
}

/** How many hostile calls were made and how they were answered (the campaign's 1M figures). */
export interface HostileStats {
  hypercalls: number;
  smccc: number;
  accesses: number;
  rmCalls: number;
  ioctls: number;
  hostReads: number;
  /** Outcomes that were not a Gunyah/RM error code, a success, an errno or a fault resolution: must stay 0. */
  unanswered: number;
  firstUnanswered: string | null;
}

export interface SwarmRun {
  readonly world: World;
  readonly vms: SwarmVm[];
  /** Deadlines (virtual ns) of timed waits in progress. */
  readonly deadlines: number[];
  readonly liveness: LivenessFailure[];
  readonly stats: HostileStats;
  /** The hostile host's own VMs (by fd) and the parcel handles it created. */
  readonly hostileFds: number[];
  readonly hostileHandles: number[];
  /** Parcels a retried request created a second time: the host takes them back at the end too. */
  readonly strayHandles: number[];
  /** The HLOS's own RM calls (outside the driver's ioctls). */
  readonly rpc: { seq: number };
  /** Actors that reached the end of their program (a VMM or the hostile host that did not: a stall). */
  readonly finished: Set<string>;
  /** Index of the last event applied, and the event proposed after it (the driver keeps both current). */
  seq: number;
  proposed: Proposal | null;
}

export function newRun(world: World): SwarmRun {
  return {
    world,
    vms: world.vms.map((w, index) => newVm(w, index)),
    deadlines: [],
    liveness: [],
    stats: { hypercalls: 0, smccc: 0, accesses: 0, rmCalls: 0, ioctls: 0, hostReads: 0, unanswered: 0, firstUnanswered: null },
    hostileFds: [],
    hostileHandles: [],
    strayHandles: [],
    rpc: { seq: 0 },
    finished: new Set(),
    seq: -1,
    proposed: null,
  };
}

function newVm(w: WorldVm, index: number): SwarmVm {
  return {
    index,
    world: w,
    plan: planOf(w),
    current: { fd: 0, vmid: 0 },
    lastVmid: 0,
    held: [],
    generation: 0,
    creates: 0,
    down: null,
    inbox: [],
    accepted: [],
    released: [],
    given: [],
    freeSlots: Array.from({ length: w.host.parcelSlots }, (_, i) => w.host.parcels + i * w.host.parcelBytes),
    fromGuest: [],
    hostHolds: [],
    hostReleased: [],
    rpc: { seq: 0 },
  };
}

/** The VM's layout as the library's guest and host programs take it. */
function planOf(w: WorldVm): VmPlan {
  return {
    name: w.name,
    vcpus: w.vcpus,
    image: { gpa: GUEST.ramGpa, host: w.host.image, size: w.memory },
    dtbGpa: GUEST.ramGpa + w.memory - 0x1_0000,
    shared: { gpa: sharedGpa(w), host: w.host.shared, size: w.shared },
    devices: w.devices.map((d, index) => ({ type: d.type, index, base: GUEST.mmioBase + index * GUEST.mmioStride, irq: d.irq, capacitySectors: d.capacitySectors })),
    attrs: w.attrs,
  };
}

/** Reads the state from inside a program (a wait that holds at once). */
export function* peek<T>(read: (s: Machine) => T): Program<T> {
  let v: T | undefined;
  yield wait("reads the state", (s) => ((v = read(s)), true));
  return v as T;
}

/**
 * Waits until `until` holds or `timeoutNs` of virtual time passed; true if it held. The deadline is
 * registered so that the driver, when no actor has anything to do, lets time pass to it.
 */
export function* timedWait(run: SwarmRun, why: string, timeoutNs: number, until: (s: Machine) => boolean): Program<boolean> {
  const deadline = yield* peek((s) => s.t + timeoutNs);
  run.deadlines.push(deadline);
  let held = false;
  try {
    yield wait(why, (s) => (held = until(s)) || s.t >= deadline);
  } finally {
    const i = run.deadlines.indexOf(deadline);
    if (i >= 0) run.deadlines.splice(i, 1);
  }
  return held;
}

/** RPC sequence numbers are 16-bit and never 0 on our side. */
export function nextRpcSeq(holder: { seq: number }): number {
  holder.seq = (holder.seq % 0xffff) + 1;
  return holder.seq;
}

/**
 * One RM request; with probability `retry` it is sent a second time, identical (same sequence
 * number), as a client does that timed out waiting for the reply. Returns the first outcome and,
 * when there was one, the retry's.
 */
export function* rmCall(step: Omit<Extract<Step, { kind: "rm_request" }>, "rpcSeq">, seq: { seq: number }, retry: Ratio, p: Prng): Program<{ first: Record<string, unknown>; again: Record<string, unknown> | null }> {
  const full = { ...step, rpcSeq: nextRpcSeq(seq) } as Step;
  const first = yield full;
  if (retry.numerator === 0 || !p.chance(retry)) return { first, again: null };
  const again = yield full;
  return { first, again };
}

/** Lets `ns` pass for this actor (0: nothing). */
export function* pause(ns: number): Program {
  if (ns > 0) yield sleep(ns);
}

/** The u32 at the start of a reply's data (a parcel handle, a VMID), or null when there is none. */
export function replyWord(o: Record<string, unknown>): number | null {
  const d = o.data;
  if (o.err !== "OK" || !(d instanceof Uint8Array) || d.length < 4) return null;
  return new DataView(d.buffer, d.byteOffset).getUint32(0, true);
}
