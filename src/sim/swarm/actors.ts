/**
 * The swarm's other actors: the launcher (the HLOS at boot: pvmfw handed to the RM), the hostile
 * host (random RM calls from the HLOS, random ioctls on VMs of its own, reads of memory it gave
 * away) and the platform (IRQ storms, a device that keeps DMA-ing through its stream). The hostile
 * host counts what it did and checks every answer is one of Gunyah's; at the end it takes back
 * what it made (VMs, VMIDs, parcels), after the VMMs are done.
 */
import { MEM_RIGHTS, RM_ERRORS, VMID, rmMessageId } from "../../model/abi/rm.ts";
import { encodeFwSetVmFirmware } from "../../model/rm/protected.ts";
import { encodeMemCreate, encodeMemHandle, encodeU32s, encodeVmid, encodeVmStop } from "../../model/rm/payloads.ts";
import { ERRNO } from "../../model/vmm/state.ts";
import type { Program, Step } from "../lib/program.ts";
import type { ActorSpec } from "../lib/scheduler.ts";
import type { Prng } from "../prng.ts";
import { opActor, sequence } from "./actor.ts";
import { hostView, randomIoctl, randomRmRequest } from "./hostile.ts";
import { nextRpcSeq, pause, peek, replyWord, timedWait, type SwarmRun } from "./runtime.ts";
import { PVMFW_SIZE, sharedGpa, type HostileOp, type PlatformOp } from "./world.ts";

const MS = 1_000_000;
const RM_ERROR_NAMES = new Set(Object.keys(RM_ERRORS));
const ERRNOS = new Set<number>(Object.values(ERRNO));

/** Boot time, HLOS: donate pvmfw's image to the RM, register it (FW_SET_VM_FIRMWARE), FW_MILESTONE. */
export function launcherActor(run: SwarmRun, latency: ActorSpec["latency"]): ActorSpec {
  const host = run.world.pvmfwHost;
  const ops = host === null ? [] : [() => registerPvmfw(run, host)];
  return opActor(run, { name: "launcher", latency, next: sequence(ops) });
}

function* registerPvmfw(run: SwarmRun, host: number): Program {
  const rm = (msg: Parameters<typeof rmMessageId>[0], payload: Uint8Array): Step => ({ kind: "rm_request", vm: VMID.HLOS, msgId: rmMessageId(msg), rpcSeq: nextRpcSeq(run.rpc), payload });
  const donated = yield rm("MEM_DONATE", encodeMemCreate({ memType: 0, flags: 0, label: 0, acl: [{ vmid: VMID.RM, rights: MEM_RIGHTS.RWX }], sgl: [{ ipa: host, size: PVMFW_SIZE }], attrs: [] }));
  const handle = replyWord(donated);
  if (handle === null) return;
  yield rm("FW_SET_VM_FIRMWARE", encodeFwSetVmFirmware({ authType: 2, handle, offset: 0, size: PVMFW_SIZE }));
  yield rm("FW_MILESTONE", new Uint8Array(0));
}

/** Host memory worth naming in hostile calls: every VM's regions, the hostile arena. */
function hostRanges(run: SwarmRun): { base: number; size: number }[] {
  const out = [run.world.hostileArena];
  for (const vm of run.world.vms) {
    out.push({ base: vm.host.image, size: vm.memory }, { base: vm.host.shared, size: vm.shared });
    if (vm.host.firmware !== 0) out.push({ base: vm.host.firmware, size: 0x40_0000 });
    if (vm.host.parcelSlots > 0) out.push({ base: vm.host.parcels, size: vm.host.parcelSlots * vm.host.parcelBytes });
    if (vm.demand !== null) out.push({ base: vm.demand.host, size: vm.demand.pages * 0x1000 });
  }
  return out;
}

export function hostileActor(run: SwarmRun, p: Prng, latency: ActorSpec["latency"]): ActorSpec {
  const ops: (() => Program | null)[] = run.world.hostile.map((op) => () => hostileOp(run, p, op));
  ops.push(() => hostileHeal(run));
  return opActor(run, { name: "hostile-host", latency, next: sequence(ops) });
}

function unanswered(run: SwarmRun, what: string): void {
  run.stats.unanswered += 1;
  run.stats.firstUnanswered ??= `event ${run.seq}: ${what}`;
}

function* hostileOp(run: SwarmRun, p: Prng, op: HostileOp): Program {
  const ranges = hostRanges(run);
  switch (op.op) {
    case "sleep":
      return yield* pause(op.ns);
    case "rm-calls":
      for (let i = 0; i < op.count; i++) {
        const view = yield* peek((s) => hostView(s, ranges));
        const r = randomRmRequest(p, view);
        const o = yield { kind: "rm_request", vm: VMID.HLOS, msgId: r.msgId, rpcSeq: nextRpcSeq(run.rpc), payload: r.payload };
        run.stats.rmCalls += 1;
        if (typeof o.err !== "string" || !RM_ERROR_NAMES.has(o.err)) unanswered(run, `RM reply ${String(o.err)} to ${String(o.msg)}`);
        remember(run, o);
      }
      return;
    case "ioctls":
      for (let i = 0; i < op.count; i++) {
        const view = yield* peek((s) => hostView(s, ranges));
        const step = randomIoctl(p, run.hostileFds, view, run.world.features.includes("demand-paging"));
        const o = yield step;
        run.stats.ioctls += 1;
        const ret = o.ret;
        if (typeof ret !== "number" || (ret < 0 && !ERRNOS.has(-ret))) unanswered(run, `ioctl returned ${String(ret)}`);
        if (step.kind === "vmm_ioctl" && step.op === "CREATE_VM" && typeof ret === "number" && ret > 0) run.hostileFds.push(ret);
        if (step.kind === "vmm_ioctl" && step.op === "RELEASE") run.hostileFds.splice(run.hostileFds.indexOf(step.fd), 1);
      }
      return;
    case "create-vms":
      for (let i = 0; i < op.count; i++) {
        const o = yield { kind: "vmm_ioctl", op: "CREATE_VM" };
        run.stats.ioctls += 1;
        if (typeof o.ret === "number" && o.ret > 0) run.hostileFds.push(o.ret);
        else if (typeof o.ret !== "number" || !ERRNOS.has(-o.ret)) unanswered(run, `CREATE_VM returned ${String(o.ret)}`);
      }
      return;
    case "host-reads":
      for (let i = 0; i < op.count; i++) {
        const r = p.pick(ranges);
        const o = yield { kind: "host_read", ipa: r.base + 8 * p.rangeInclusive(0, Math.floor(r.size / 8) - 1), sizeBytes: p.pick([1, 2, 4, 8]) };
        run.stats.hostReads += 1;
        if (o.result !== "ok" && o.result !== "abort") unanswered(run, `host_read answered ${String(o.result)}`);
      }
      return;
  }
}

/** Parcel handles the hostile host made, so the heal can take them back (its VMs are found in the state). */
function remember(run: SwarmRun, o: Record<string, unknown>): void {
  const word = replyWord(o);
  if (word === null) return;
  if (o.msg === "MEM_LEND" || o.msg === "MEM_SHARE") run.hostileHandles.push(word);
}

/** The RM call that moves a VM in each state one step closer to VM_DEALLOCATE (RM:src/vm_mgnt/vm_mgnt.c state edges). */
const TOWARDS_DEALLOCATION: Partial<Record<string, Parameters<typeof rmMessageId>[0]>> = {
  RUNNING: "VM_STOP",
  PAUSED: "VM_STOP",
  AUTH: "VM_AUTH_IMAGE",
  INIT: "VM_INIT",
  READY: "VM_RESET",
  EXITED: "VM_RESET",
  INIT_FAILED: "VM_RESET",
  LOAD: "VM_DEALLOCATE",
  RESET: "VM_DEALLOCATE",
};

/**
 * After every VMM is done: release the hostile VMs, walk every VM of the host's that is left to its
 * deallocation, reclaim the hostile parcels and the strays retried requests made (every world runs this, so
 * the strays of a world without a hostile host are taken back too).
 */
function* hostileHeal(run: SwarmRun): Program {
  const vmms = run.world.vms.map((vm) => `vmm:${vm.name}`);
  yield* timedWait(run, "every VMM is done", 10_000 * MS, () => vmms.every((n) => run.finished.has(n)));
  const rm = (msg: Parameters<typeof rmMessageId>[0], payload: Uint8Array): Step => ({ kind: "rm_request", vm: VMID.HLOS, msgId: rmMessageId(msg), rpcSeq: nextRpcSeq(run.rpc), payload });
  for (const fd of [...run.hostileFds]) {
    const exists = yield* peek((s) => s.vmm.vms.byId[fd] !== undefined);
    if (exists) yield { kind: "vmm_ioctl", op: "RELEASE", fd };
  }
  run.hostileFds.length = 0;
  // Every VM of the host's that is left (its own, and crosvm's that a hostile call pushed into a state
  // RELEASE does not undo): walk it down the RM's state machine to its deallocation.
  const left = yield* peek((s) => s.rm.vms.ids.filter((id) => id !== VMID.HLOS && s.rm.vms.byId[id]!.owner === VMID.HLOS));
  for (const vmid of left) {
    for (let i = 0; i < 6; i++) {
      const status = yield* peek((s) => s.rm.vms.byId[vmid]?.status ?? null);
      const step = status === null ? null : TOWARDS_DEALLOCATION[status];
      if (step === undefined || step === null) break;
      yield rm(step, step === "VM_STOP" ? encodeVmStop({ vmid, flags: 1, stopReason: 3 }) : step === "VM_AUTH_IMAGE" ? encodeU32s(vmid) : encodeVmid(vmid));
    }
  }
  for (const handle of [...run.hostileHandles, ...run.strayHandles]) {
    const mine = yield* peek((s) => s.rm.parcels.byId[handle]?.owner === VMID.HLOS);
    if (!mine) continue;
    yield rm("MEM_RECLAIM", encodeMemHandle({ handle, flags: 0 }));
  }
}

export function platformActor(run: SwarmRun, p: Prng, latency: ActorSpec["latency"]): ActorSpec {
  const ops = run.world.platformOps.map((op) => () => platformOp(run, p, op));
  return opActor(run, { name: "platform", latency, next: sequence(ops) });
}

function* platformOp(run: SwarmRun, p: Prng, op: PlatformOp): Program {
  switch (op.op) {
    case "sleep":
      return yield* pause(op.ns);
    case "irq-storm":
      for (let i = 0; i < op.count; i++) yield { kind: "irq", hwirq: p.pick(op.spis) };
      return;
    case "dma": {
      const vm = run.world.vms[op.vm]!;
      const base = op.region === "image" ? 0x8000_0000 + Math.floor(vm.memory / 2) : sharedGpa(vm);
      yield { kind: "smmu_txn", stream: op.stream, iova: base + op.page * 0x1000 + 64 * p.rangeInclusive(0, 63), access: op.access, sizeBytes: 64 };
    }
  }
}
