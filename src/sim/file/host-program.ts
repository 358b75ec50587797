/**
 * Runs the scenario's `host:` steps as crosvm (one VMM thread for all VMs, as a launcher would):
 * create, start, wait for an exit, stop, destroy, restart; give memory to running guests (lend or
 * share) and take it back; assign SMMU streams to VMs. A VM that runs code (`image:`) gets its
 * image copied in at every create, and learns of a parcel from the RM's MEM_SHARED notification.
 */
import { die } from "../../core/errors.ts";
import { MEM_NOTIFY_FLAG, VMID, rmMessageId } from "../../model/abi/rm.ts";
import { encodeMemNotify } from "../../model/rm/payloads.ts";
import { loadImage } from "../lib/cpu-guest.ts";
import type { Machine } from "../../model/machine.ts";
import { hostCollectExit, hostCreate, hostGive, hostReclaimStep, hostRelease, hostStopStep, vmRunning } from "../lib/host.ts";
import { mark, markOf, sleep, wait, type Program } from "../lib/program.ts";
import type { ActorSpec } from "../lib/scheduler.ts";
import type { HostStep } from "./scenario-schema.ts";
import { nextRpcSeq, type ParcelPool, type VmRuntime } from "./runtime.ts";
import type { Where } from "./compile.ts";

interface HostCtx {
  readonly where: Where;
  readonly vms: Record<string, VmRuntime>;
  readonly pool: ParcelPool;
  readonly rpc: { rpcSeq: number };
  labels: number;
}

export function hostActor(program: readonly HostStep[], vms: Record<string, VmRuntime>, pool: ParcelPool, latency: ActorSpec["latency"], where: Where): ActorSpec {
  let started = false;
  const ctx: HostCtx = { where, vms, pool, rpc: { rpcSeq: 0 }, labels: 0x100 };
  return {
    name: "host",
    latency,
    session: () => (started ? null : ((started = true), steps(ctx, program))),
  };
}

function* steps(h: HostCtx, list: readonly HostStep[]): Program {
  // Each step says where it is (no event, no randomness): an event the model refuses names it.
  for (const step of list) {
    yield markOf(h.where, step);
    yield* one(h, step);
  }
}

function* one(h: HostCtx, step: HostStep): Program {
  if (step.op === "sleep") return void (yield sleep(step.ns));
  if (step.op === "loop") {
    const here = mark(h.where(step));
    for (let i = 0; i < step.count; i++) {
      yield here;
      yield* steps(h, step.body);
    }
    return;
  }
  const rt = h.vms[step.vm]!;
  switch (step.op) {
    case "create": return yield* create(rt);
    case "start": return yield* start(rt);
    case "wait-exit": return yield* waitExit(rt);
    case "destroy": return yield* destroy(h, rt);
    case "restart":
      yield* destroy(h, rt);
      yield* create(rt);
      return yield* start(rt);
    case "stop": return void (yield hostStopStep(rt.host, nextRpcSeq(h.rpc)));
    case "lend":
    case "share": return yield* give(h, rt, step, step.op === "lend" ? "LEND" : "SHARE", step.size);
    case "reclaim": return yield* reclaimOldest(h, rt);
    case "assign": return void (yield { kind: "smmu_bind", stream: step.stream, vm: rt.host.vmid });
  }
}

/** CREATE and set up the VM; a VM running code gets its image copied in before START. */
function* create(rt: VmRuntime): Program {
  yield* hostCreate(rt.host, rt.plan);
  if (rt.image !== undefined) yield* loadImage(rt.host, rt.image, rt.plan.image.gpa);
}

/**
 * START; the guest's next boot may run once it succeeded. The vCPU thread's VCPU_RUNs are the guest
 * actor's (scheduler.ts enters the vCPU when the guest first acts, once an HLOS CPU is free).
 */
function* start(rt: VmRuntime): Program {
  const o = yield { kind: "vmm_ioctl", op: "START", fd: rt.host.fd };
  if (o.ret === 0) rt.generation += 1;
}

/** The vCPU thread blocks in VCPU_RUN until the guest is down, then sees the STATUS exit. */
function* waitExit(rt: VmRuntime): Program {
  if (rt.generation === 0) return;
  yield wait(`${rt.spec.name} exits`, (s: Machine) => !vmRunning(s, rt.host.vmid));
  yield* hostCollectExit(rt.host);
}

/** RELEASE (stop, reset, reclaim the VM's regions, deallocate), then reclaim what was given to it. */
function* destroy(h: HostCtx, rt: VmRuntime): Program {
  yield* hostRelease(rt.host);
  for (const p of [...rt.given]) yield* reclaim(h, rt, p.handle);
  rt.inbox.length = 0;
  rt.accepted.length = 0;
  rt.released.length = 0;
}

function* give(h: HostCtx, rt: VmRuntime, step: HostStep, trans: "LEND" | "SHARE", size: number): Program {
  const host = h.pool.free.shift();
  if (host === undefined) die("SCENARIO_INVALID", `${h.where(step)}: ${trans.toLowerCase()} to ${rt.spec.name}: every host parcel slot is in use (reclaim before giving more)`);
  if (size > h.pool.slotBytes) die("INTERNAL", `parcel of ${size} bytes exceeds the pool slot`);
  h.labels += 1;
  const parcel = yield* hostGive(rt.host, trans, host, size, h.labels, nextRpcSeq(h.rpc));
  if (parcel === null) {
    h.pool.free.push(host);
    return;
  }
  rt.given.push(parcel);
  rt.inbox.push(parcel);
  // Code learns of the parcel as a Linux guest does: the owner's MEM_NOTIFY SHARED makes the RM send
  // the borrower MEM_SHARED (RM:src/memparcel/memparcel.c). Scripted guests take it from the inbox.
  if (rt.image !== undefined) {
    const payload = encodeMemNotify({ handle: parcel.handle, flags: MEM_NOTIFY_FLAG.SHARED, memInfoTag: 0, vmids: [rt.host.vmid] });
    yield { kind: "rm_request", vm: VMID.HLOS, msgId: rmMessageId("MEM_NOTIFY"), rpcSeq: nextRpcSeq(h.rpc), payload };
  }
}

/** Waits until the guest released the oldest parcel (or is down), then takes it back. */
function* reclaimOldest(h: HostCtx, rt: VmRuntime): Program {
  const parcel = rt.given[0];
  if (parcel === undefined) return;
  yield wait(`${rt.spec.name} releases parcel ${parcel.handle}`, (s) => rt.released.includes(parcel.handle) || !vmRunning(s, rt.host.vmid));
  yield* reclaim(h, rt, parcel.handle);
}

function* reclaim(h: HostCtx, rt: VmRuntime, handle: number): Program {
  const o = yield hostReclaimStep(handle, nextRpcSeq(h.rpc));
  if (o.err !== "OK") return;
  const i = rt.given.findIndex((p) => p.handle === handle);
  const [parcel] = rt.given.splice(i, 1);
  h.pool.free.push(parcel!.host);
  const inInbox = rt.inbox.findIndex((p) => p.handle === handle);
  if (inInbox >= 0) rt.inbox.splice(inInbox, 1);
  const r = rt.released.indexOf(handle);
  if (r >= 0) rt.released.splice(r, 1);
}
