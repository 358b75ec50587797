/**
 * The swarm's guests: each VM's boot vCPU running the world's ops for its current boot. A protected
 * VM's boot starts in pvmfw (which may refuse the payload: the VM resets itself), then PV time; a
 * secondary VM's kernel starts at once. The ops reuse the library's Linux-like behaviours
 * (src/sim/lib: GIC and timer bring-up, virtio probe, block I/O, console, parcels, going down) and
 * add the hostile ones (random hypercalls, SMCCC calls, accesses) and the world's faults (a crash
 * or hang at a random point, late timer interrupts).
 */
import { PSCI } from "../../model/abi/constants.ts";
import { MEM_NOTIFY_FLAG, MEM_RIGHTS, VMID, rmMessageId } from "../../model/abi/rm.ts";
import { hvErrorName } from "../../model/abi/errors.ts";
import { HYPERCALLS } from "../../model/abi/hypercalls.ts";
import { encodeMemCreate, encodeMemHandle, encodeMemNotify } from "../../model/rm/payloads.ts";
import { reaches } from "../../model/rm/content.ts";
import { vmmVmByVmid } from "../../model/vmm/state.ts";
import { vmRunning } from "../lib/host.ts";
import { acceptParcel, blockIo, consoleWrite, goDown, initDevice, releaseParcelStep, type GuestCtx } from "../lib/guest.ts";
import { gicInit, timerPeriod } from "../lib/guest-gic.ts";
import type { Program, Step } from "../lib/program.ts";
import type { ActorSpec } from "../lib/scheduler.ts";
import type { Prng } from "../prng.ts";
import { opActor } from "./actor.ts";
import { guestView, randomAccess, randomHypercall, randomSmccc } from "./hostile.ts";
import { nextRpcSeq, peek, timedWait, replyWord, type SwarmRun, type SwarmVm } from "./runtime.ts";
import type { DownHow, GuestOp } from "./world.ts";
import { US } from "../../core/event.ts";

const PAGE = 0x1000;
const DEVICE_WAIT_NS = { min: 20 * US, max: 200 * US };
/** A hostile guest's or a touching guest's pages: a few hot ones, so later probes and DMAs meet them. */
const HOT_PAGES = 16;

export interface GuestStreams {
  readonly data: Prng;
  readonly device: Prng;
  readonly irq: Prng;
  readonly hostile: Prng;
}

const DOWN: Record<Exclude<DownHow, "hang">, Parameters<typeof goDown>[1]> = {
  poweroff: "PSCI_SYSTEM_OFF",
  reset: "PSCI_SYSTEM_RESET",
  panic: "PANIC",
  fault: "VCPU_FAULT",
  watchdog: "WATCHDOG_BITE",
};

interface Boot {
  readonly number: number;
  readonly vmid: number;
  readonly g: GuestCtx;
  readonly avail: Record<number, number>;
  ended: boolean;
}

/** The guest's actor: one op per session; a boot's ops wait for the VMM to start that boot. */
export function guestActor(run: SwarmRun, vm: SwarmVm, st: GuestStreams, latency: ActorSpec["latency"]): ActorSpec {
  let boot: Boot | null = null;
  let queue: (() => Program)[] = [];
  let boots = 0;
  const next = (): Program | null => {
    if (boot !== null && !boot.ended && queue.length > 0) return queue.shift()!();
    // Between boots: wait for the next START (the world's boots are finite: stop after the last).
    if (boots >= vm.world.vmm.filter((o) => o.op === "start").length + 1) return null;
    return startOfBoot();
  };
  function* startOfBoot(): Program {
    const last = boot?.number ?? 0;
    const started = yield* timedWait(run, `${vm.world.name} starts`, 2_000_000_000, (s) => vm.generation > last && vmRunning(s, vm.current.vmid));
    boots += 1;
    if (!started) return;
    const vmid = vm.current.vmid;
    const b: Boot = { number: vm.generation, vmid, g: { vmid, vcpu: 0, plan: vm.plan, data: st.data }, avail: {}, ended: false };
    boot = b;
    const ops = vm.world.boots[Math.min(b.number - 1, vm.world.boots.length - 1)]!;
    queue = [];
    if (vm.world.kind === "protected") queue.push(() => firmware(b));
    for (const op of ops) queue.push(() => one(run, vm, b, st, op));
  }
  return opActor(run, {
    name: `guest:${vm.world.name}`,
    latency,
    next,
    alive: (s) => {
      if (boot === null) return true;
      // The vCPU loop names the guest by VMID: after a hostile deallocation the VMID may name a newer VM.
      const ok = vm.generation === boot.number && vm.current.vmid === boot.vmid && vmRunning(s, boot.vmid) && vmmVmByVmid(s, boot.vmid)?.fd === vm.current.fd;
      if (!ok) boot.ended = true;
      return ok;
    },
    // crosvm's vCPU thread enters the boot vCPU before each step the guest executes (scheduler.ts).
    proxied: { target: () => ({ vm: boot?.vmid ?? vm.current.vmid, vcpu: 0 }) },
  });
}

/** pvmfw on the boot vCPU; a refused payload ends the boot (pvmfw resets the VM). */
function* firmware(b: Boot): Program {
  const o = yield { kind: "pvmfw_boot", vm: b.vmid, vcpu: 0 };
  if (o.result !== "payload") {
    b.ended = true;
    return;
  }
  yield { kind: "pv_time", vm: b.vmid, vcpu: 0 };
}

function* one(run: SwarmRun, vm: SwarmVm, b: Boot, st: GuestStreams, op: GuestOp): Program {
  const g = b.g;
  switch (op.op) {
    case "gic":
      yield* gicInit(g, vm.plan.devices);
      return yield* timerPeriod(g, st.irq.rangeInclusive(10, 100) * US, 0);
    case "probe":
      for (const d of vm.plan.devices) yield* initDevice(g, d);
      return;
    case "block-io": {
      const d = vm.plan.devices.filter((x) => x.type === "virtio-blk")[op.device];
      if (d === undefined) return;
      for (let i = 0; i < op.count; i++) {
        const n = b.avail[d.index] ?? 0;
        b.avail[d.index] = n + 1;
        yield* blockIo(g, d, n, g.data.chance({ numerator: 1, denominator: 2 }), g.data.rangeInclusive(0, d.capacitySectors - 1), st.device.rangeInclusive(DEVICE_WAIT_NS.min, DEVICE_WAIT_NS.max));
      }
      return;
    }
    case "console": {
      const d = vm.plan.devices.find((x) => x.type === "virtio-console");
      if (d === undefined) return;
      const n = b.avail[1000 + d.index] ?? 0;
      b.avail[1000 + d.index] = n + 1;
      return yield* consoleWrite(g, d, `${vm.world.name}: boot ${b.number} line ${n}\n`, n);
    }
    case "timer":
      for (let i = 0; i < op.periods; i++) yield* timerPeriod(g, op.everyNs + st.irq.rangeInclusive(0, Math.floor(op.everyNs / 16)), op.lateNs);
      return;
    case "touch":
      for (let i = 0; i < op.count; i++) yield touch(vm, g, st.data);
      return;
    case "accept":
      return yield* accept(vm, g);
    case "release": {
      const held = vm.accepted.shift();
      if (held === undefined) return;
      const o = yield releaseParcelStep(g, held.parcel.handle, nextRpcSeq(vm.rpc));
      if (o.err === "OK") vm.released.push(held.parcel.handle);
      return;
    }
    case "share-to-host":
      return yield* shareToHost(vm, g, op.pages, st.data);
    case "unshare":
      return yield* unshare(run, vm, g);
    case "dma": {
      const base = { image: vm.plan.image.gpa, shared: vm.plan.shared.gpa, parcel: vm.accepted.at(-1)?.ipa, outside: 0x4000_0000 }[op.region];
      if (base === undefined) return;
      return void (yield { kind: "smmu_txn", stream: op.stream, iova: base + op.page * PAGE + 64 * st.data.rangeInclusive(0, 63), access: op.access, sizeBytes: 64 });
    }
    case "hypercalls":
      return yield* hostileHypercalls(run, vm, g, st, op.count);
    case "smccc":
      return yield* hostileSmccc(run, vm, g, st, op.count);
    case "accesses":
      return yield* hostileAccesses(run, vm, g, st, op.count);
    case "demand":
      return yield* demandStores(vm, g, op.count, st.data);
    case "wfi":
      return void (yield { kind: "vcpu_wfi", vm: g.vmid, vcpu: 0 });
    case "down":
      if (op.how === "hang") {
        b.ended = true;
        return;
      }
      yield* goDown(g, DOWN[op.how], nextRpcSeq(vm.rpc));
      vm.down = { generation: b.number, how: op.how, seq: run.seq };
      b.ended = true;
      return;
  }
}

/** Hypercalls with hostile arguments; each must get one of Gunyah's answers. */
function* hostileHypercalls(run: SwarmRun, vm: SwarmVm, g: Boot["g"], st: GuestStreams, count: number): Program {
  for (let i = 0; i < count; i++) {
    const view = yield* peek((s) => guestView(s, g.vmid, ipasOf(vm)));
    const step = randomHypercall(st.hostile, view, 0) as Extract<Step, { kind: "hypercall" }>;
    const o = yield step;
    run.stats.hypercalls += 1;
    const x = o.x as readonly bigint[] | undefined;
    // X0 is the error code of every call but hypervisor_identify, which returns hyp_api_info there.
    const answered = x !== undefined && x.length > 0 && (step.call === HYPERCALLS.hypervisor_identify || hvErrorName(x[0]!) !== undefined);
    if (!answered) unanswered(run, `hypercall 0x${step.call.toString(16)} outcome ${JSON.stringify(o, big)}`);
  }
}

/** SMCCC calls with hostile arguments; each must be answered unless it legitimately does not return. */
function* hostileSmccc(run: SwarmRun, vm: SwarmVm, g: Boot["g"], st: GuestStreams, count: number): Program {
  for (let i = 0; i < count; i++) {
    const view = yield* peek((s) => guestView(s, g.vmid, ipasOf(vm)));
    const call = randomSmccc(st.hostile, view, 0);
    const o = yield call;
    run.stats.smccc += 1;
    // A PSCI call that succeeds by not returning (the VM or the vCPU goes down) has no X0 to answer with.
    const gone = Array.isArray(o.x) && o.x.length === 0 && NO_RETURN.has(Number((call as { args: readonly bigint[] }).args[0]));
    if (!gone && (!Array.isArray(o.x) || o.x.length === 0)) unanswered(run, `smccc outcome ${JSON.stringify(o, big)}`);
  }
}

/** Stage-2 accesses anywhere; each must be resolved (crosvm completes the VMMIO and demand-paged ones). */
function* hostileAccesses(run: SwarmRun, vm: SwarmVm, g: Boot["g"], st: GuestStreams, count: number): Program {
  for (let i = 0; i < count; i++) {
    const step = yield* peek((s) => randomAccess(st.hostile, s, guestView(s, g.vmid, ipasOf(vm)), 0));
    const o = yield step;
    run.stats.accesses += 1;
    const answered = step.kind === "stage2_fault" ? typeof o.resolution === "string" : typeof o.pa === "number";
    if (!answered) unanswered(run, `${step.kind} outcome ${JSON.stringify(o, big)}`);
    // A demand-paged page not provided yet (page_fault): crosvm's VCPU_RUN has the driver provide it.
    if (o.resolution === "vmmio" || o.resolution === "page_fault") yield* crosvmCompletes(g);
  }
}

/**
 * An access Gunyah forwarded to the VMM (VMMIO): crosvm's vCPU thread collects the exit, its bus
 * handles it (no device there: writes ignored, reads zero) and the next VCPU_RUN resumes the vCPU,
 * as for a device register (src/sim/lib/guest.ts mmio).
 */
function* crosvmCompletes(g: GuestCtx): Program {
  const run = { kind: "vmm_ioctl", op: "VCPU_RUN", vm: g.vmid, vcpu: g.vcpu } as const;
  const exit = yield run;
  if (exit.exit !== "MMIO" && exit.exit !== "IOEVENTFD") return;
  yield { kind: "vmm_mmio", vm: g.vmid, vcpu: g.vcpu };
  if (exit.exit !== "IOEVENTFD") yield run;
}

const big = (_k: string, v: unknown): unknown => (typeof v === "bigint" ? `0x${v.toString(16)}` : v instanceof Uint8Array ? `<${v.length} bytes>` : v);

/** PSCI calls whose success is not returning: the vCPU or the VM goes down (GH:hyp/vm/psci/src/psci.c). */
const NO_RETURN: ReadonlySet<number> = new Set([PSCI.CPU_OFF, PSCI.SYSTEM_OFF, PSCI.SYSTEM_RESET, PSCI.SYSTEM_RESET2_32, PSCI.SYSTEM_RESET2_64]);

function unanswered(run: SwarmRun, what: string): void {
  run.stats.unanswered += 1;
  run.stats.firstUnanswered ??= `event ${run.seq}: ${what}`;
}

/** Where the guest's own memory is: its RAM (the hot pages), its shared region, its guest_memfd binding, parcels it accepted. */
function ipasOf(vm: SwarmVm): number[] {
  const hot = vm.plan.image.gpa + Math.floor(vm.plan.image.size / 2);
  return [hot, vm.plan.shared.gpa, ...(vm.world.demand === null ? [] : [vm.world.demand.gpa]), ...vm.accepted.map((a) => a.ipa)];
}

/**
 * Stores into pages of the guest_memfd binding: a page the stage-2 does not map yet is a
 * translation fault Gunyah reports as vcpu_run PAGE_FAULT; crosvm's vCPU thread (VCPU_RUN) has the
 * driver provide it and resume with RETRY, and the store re-executes (pvm-demand-paging's guest).
 * A page already there takes the store at once.
 */
function* demandStores(vm: SwarmVm, g: GuestCtx, count: number, data: Prng): Program {
  const d = vm.world.demand;
  if (d === null) return;
  for (let i = 0; i < count; i++) {
    const ipa = d.gpa + PAGE * data.rangeInclusive(0, d.pages - 1) + 8 * data.rangeInclusive(0, 480);
    const text = new TextEncoder().encode(`${vm.world.name} page ${ipa.toString(16)}`);
    const mapped = yield* peek((s) => reaches(s, g.vmid, ipa, text.length, 2));
    if (!mapped) {
      const f = yield { kind: "stage2_fault", vm: g.vmid, vcpu: g.vcpu, ipa, access: "write", sizeBytes: 8, value: BigInt(ipa) };
      if (f.resolution !== "page_fault") continue;
      yield { kind: "vmm_ioctl", op: "VCPU_RUN", vm: g.vmid, vcpu: g.vcpu };
    }
    yield { kind: "vm_mem_write", vm: g.vmid, ipa, data: text };
  }
}

/** A store into one of the guest's hot RAM pages or a parcel it holds: the page now holds its data. */
function touch(vm: SwarmVm, g: GuestCtx, data: Prng) {
  const pages = Math.min(HOT_PAGES, Math.floor(vm.plan.image.size / 2 / PAGE));
  const held = vm.accepted.length > 0 && data.chance({ numerator: 1, denominator: 3 }) ? data.pick(vm.accepted).ipa : null;
  const ipa = held ?? vm.plan.image.gpa + Math.floor(vm.plan.image.size / 2) + PAGE * data.rangeInclusive(0, Math.max(0, pages - 1));
  const bytes = Uint8Array.from({ length: data.rangeInclusive(8, 64) }, () => data.rangeInclusive(1, 255));
  return { kind: "vm_mem_write" as const, vm: g.vmid, ipa: ipa + 64 * data.rangeInclusive(0, 62), data: bytes };
}

function* accept(vm: SwarmVm, g: GuestCtx): Program {
  const parcel = vm.inbox.shift();
  if (parcel === undefined) return;
  const ipa = yield* acceptParcel(g, parcel.handle, parcel.trans, nextRpcSeq(vm.rpc));
  if (ipa === null) return;
  vm.accepted.push({ parcel, ipa });
  yield { kind: "vm_mem_write", vm: g.vmid, ipa, data: Uint8Array.from({ length: 64 }, () => g.data.rangeInclusive(1, 255)) };
}

/**
 * The guest gives the host pages of its RAM: MEM_SHARE (both keep access) or MEM_LEND (the guest
 * loses it), then MEM_NOTIFY SHARED to the HLOS, as the pVM's bounce-buffer share does
 * (src/sim/builtin/pvm-common.ts pvmShareSwiotlb).
 */
function* shareToHost(vm: SwarmVm, g: GuestCtx, pages: number, data: Prng): Program {
  const lend = data.chance({ numerator: 1, denominator: 4 });
  const size = pages * PAGE;
  const gpa = vm.plan.image.gpa + vm.plan.image.size - 0x2_0000 - size - PAGE * 8 * vm.fromGuest.length;
  if (gpa < vm.plan.image.gpa + vm.plan.image.size / 2 + HOT_PAGES * PAGE) return;
  const acl = lend ? [{ vmid: VMID.HLOS, rights: MEM_RIGHTS.RW }] : [{ vmid: g.vmid, rights: MEM_RIGHTS.RW }, { vmid: VMID.HLOS, rights: MEM_RIGHTS.RW }];
  const o = yield { kind: "rm_request", vm: g.vmid, msgId: rmMessageId(lend ? "MEM_LEND" : "MEM_SHARE"), rpcSeq: nextRpcSeq(vm.rpc), payload: encodeMemCreate({ memType: 0, flags: 0, label: 0, acl, sgl: [{ ipa: gpa, size }], attrs: [] }) };
  const handle = replyWord(o);
  if (handle === null) return;
  vm.fromGuest.push({ handle, gpa, size });
  yield { kind: "rm_request", vm: g.vmid, msgId: rmMessageId("MEM_NOTIFY"), rpcSeq: nextRpcSeq(vm.rpc), payload: encodeMemNotify({ handle, flags: MEM_NOTIFY_FLAG.SHARED, memInfoTag: 0, vmids: [VMID.HLOS] }) };
}

/** The guest takes back the oldest page run it gave the host, once the host released it (or after a while). */
function* unshare(run: SwarmRun, vm: SwarmVm, g: GuestCtx): Program {
  const given = vm.fromGuest[0];
  if (given === undefined) return;
  yield* timedWait(run, `${vm.world.name}: the host releases parcel ${given.handle}`, 2_000_000, () => vm.hostReleased.includes(given.handle) || !vm.hostHolds.some((h) => h.handle === given.handle));
  const o = yield { kind: "rm_request", vm: g.vmid, msgId: rmMessageId("MEM_RECLAIM"), rpcSeq: nextRpcSeq(vm.rpc), payload: encodeMemHandle({ handle: given.handle, flags: 0 }) };
  if (o.err === "OK") vm.fromGuest.splice(vm.fromGuest.indexOf(given), 1);
}
