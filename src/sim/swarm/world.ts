/**
 * A swarm world: everything a seed chooses before the run starts (TigerBeetle's `options_swarm`).
 * The platform, the VMs and their kinds, memory, devices and SMMU streams, what each VM's VMM does
 * (in legal and, with `wrong-order`, illegal orders), what each guest does per boot, what the
 * hostile host and the platform's faults do. Plain data: printed before a run, hashed into the
 * scenario, and the same for the same seed on every machine. The run itself (timing, random
 * arguments) draws from other streams of the run's seed.
 */
import { MS, US } from "../../core/event.ts";
import { ratio, streams, type Prng } from "../prng.ts";
import { drawFeatures, type SwarmFeature } from "./features.ts";

/** Bump when the generator below changes what a seed draws (it is part of the scenario hash). */
export const WORLD_REVISION = 2;

const KiB = 0x400;
const MiB = 0x10_0000;
const PAGE = 0x1000;

/** The AVB payloads a protected VM's VMM may load (test/fixtures/avb; tampered: one flipped bit). */
export type PayloadName = "ri5" | "ri3" | "untrusted" | "tampered";

export type DownHow = "poweroff" | "reset" | "panic" | "fault" | "watchdog" | "hang";

/** One step of a guest's boot. */
export type GuestOp =
  | { readonly op: "gic" }
  | { readonly op: "probe" }
  | { readonly op: "block-io"; readonly count: number; readonly device: number }
  | { readonly op: "console" }
  | { readonly op: "timer"; readonly periods: number; readonly everyNs: number; readonly lateNs: number }
  | { readonly op: "touch"; readonly count: number }
  | { readonly op: "accept" }
  | { readonly op: "release" }
  | { readonly op: "share-to-host"; readonly pages: number }
  | { readonly op: "unshare" }
  | { readonly op: "dma"; readonly stream: number; readonly region: "image" | "shared" | "parcel" | "outside"; readonly page: number; readonly access: "read" | "write" }
  | { readonly op: "hypercalls"; readonly count: number }
  | { readonly op: "smccc"; readonly count: number }
  | { readonly op: "accesses"; readonly count: number }
  | { readonly op: "wfi" }
  /** Stores into pages of the guest_memfd binding (demand-paging): a first store faults and the host provides the page. */
  | { readonly op: "demand"; readonly count: number }
  | { readonly op: "down"; readonly how: DownHow };

/** One step of a VM's VMM (crosvm and the gunyah driver under it). */
export type VmmOp =
  | { readonly op: "create" }
  | { readonly op: "start" }
  | { readonly op: "wait-exit"; readonly timeoutNs: number }
  | { readonly op: "stop" }
  | { readonly op: "release" }
  | { readonly op: "lend" | "share"; readonly pages: number }
  | { readonly op: "reclaim" }
  | { readonly op: "accept-guest" }
  | { readonly op: "release-guest" }
  | { readonly op: "bind"; readonly stream: number }
  | { readonly op: "probe" }
  | { readonly op: "vcpu-run" }
  | { readonly op: "sleep"; readonly ns: number };

/** What the hostile host does, in order, besides the VMMs. */
export type HostileOp =
  | { readonly op: "rm-calls"; readonly count: number }
  | { readonly op: "ioctls"; readonly count: number }
  | { readonly op: "host-reads"; readonly count: number }
  | { readonly op: "create-vms"; readonly count: number }
  | { readonly op: "sleep"; readonly ns: number };

/** Faults the platform injects (hardware, not the model). */
export type PlatformOp =
  | { readonly op: "irq-storm"; readonly count: number; readonly spis: readonly number[] }
  | { readonly op: "dma"; readonly stream: number; readonly vm: number; readonly region: "image" | "shared"; readonly page: number; readonly access: "read" | "write" }
  | { readonly op: "sleep"; readonly ns: number };

export interface WorldDevice {
  readonly type: "virtio-blk" | "virtio-console";
  readonly irq: number;
  readonly capacitySectors: number;
}

export interface WorldDemand {
  readonly gpa: number;
  readonly host: number;
  readonly pages: number;
  readonly flags: number;
  readonly bootContext: boolean;
}

export interface WorldVm {
  readonly name: string;
  readonly kind: "secondary" | "protected";
  readonly vcpus: number;
  /** Guest RAM (the image region) and the swiotlb region shared with the host, bytes. */
  readonly memory: number;
  readonly shared: number;
  readonly devices: readonly WorldDevice[];
  readonly attrs: readonly string[];
  /** SMMU streams the platform assigns to this VM's devices. */
  readonly streams: readonly number[];
  /** Protected VMs: the payload the VMM loads at each create, in order (the last repeats), and the instance. */
  readonly payloads: readonly PayloadName[];
  readonly instance: string;
  /**
   * demand-paging (protected VMs): a guest_memfd of `pages` pages at `host`, bound at `gpa` with
   * VM_MAP_MEM `flags`, and maybe an SP_EL1 boot context; null: no guest_memfd.
   */
  readonly demand: WorldDemand | null;
  /** Host memory behind the VM: image, shared, firmware window (protected), parcel slots. */
  readonly host: { readonly image: number; readonly shared: number; readonly firmware: number; readonly parcels: number; readonly parcelSlots: number; readonly parcelBytes: number };
  /** The guest's steps for boot 1, 2, ... (the last repeats). */
  readonly boots: readonly (readonly GuestOp[])[];
  readonly vmm: readonly VmmOp[];
  /** Extra latency before each VMM step that makes RM calls (rm-delay), ns; 0 when off. */
  readonly rmDelayNs: number;
  /** Ratio of RM requests sent twice (rm-retry), as numerator/denominator. */
  readonly rmRetry: { readonly numerator: number; readonly denominator: number };
}

export interface World {
  readonly revision: number;
  readonly seed: number;
  readonly features: readonly SwarmFeature[];
  readonly platform: { readonly cpus: number; readonly ramBytes: number; readonly smmuStreams: readonly number[] };
  /** pvmfw's image in host memory before the HLOS donates it to the RM (protected worlds). */
  readonly pvmfwHost: number | null;
  readonly vms: readonly WorldVm[];
  readonly hostile: readonly HostileOp[];
  /** Host memory the hostile host lends and shares from (besides the VMs' own). */
  readonly hostileArena: { readonly base: number; readonly size: number };
  readonly platformOps: readonly PlatformOp[];
  readonly maxEvents: number;
}

export const RAM_BASE = 0x8000_0000;
/** Guest physical layout (crosvm's): RAM at 0x8000_0000, devices from 0x0a00_0000, the pVM firmware window 4 MiB below RAM. */
export const GUEST = { ramGpa: 0x8000_0000, mmioBase: 0x0a00_0000, mmioStride: 0x1000, firmwareGpa: 0x7fc0_0000, firmwareSize: 0x40_0000 } as const;
/** Where the VMs' host memory starts: above the HLOS kernel's own first 64 MiB (hyp 16 MiB, RM 16 MiB, kernel). */
const HOST_FIRST = RAM_BASE + 64 * MiB;
export const PVMFW_SIZE = MiB;

const alignUp = (v: number, a: number): number => Math.ceil(v / a) * a;

/** The shared region's guest address: the next 16 MiB boundary after RAM (crosvm's swiotlb placement). */
export const sharedGpa = (vm: Pick<WorldVm, "memory">): number => GUEST.ramGpa + alignUp(vm.memory, 16 * MiB);

/** Draws the world of a seed. */
export function drawWorld(seed: number): World {
  const stream = streams(`swarm-world:${seed}`);
  const features = drawFeatures(stream);
  const on = (f: SwarmFeature): boolean => features.includes(f);
  const p = stream("world:platform");
  const platform = {
    cpus: p.rangeInclusive(2, 8),
    ramBytes: p.pick([512, 1024, 2048]) * MiB,
    smmuStreams: on("smmu") ? distinct(p, p.rangeInclusive(1, 4), 0, 15) : [],
  };
  const kinds: WorldVm["kind"][] = [];
  const v = stream("world:vms");
  const count = on("memory-pressure") ? v.rangeInclusive(3, 6) : v.rangeInclusive(1, 3);
  for (let i = 0; i < count; i++) kinds.push(on("protected") && (!on("secondary") || v.chance(HALF)) ? "protected" : "secondary");
  let cursor = HOST_FIRST;
  const place = (bytes: number): number => {
    const at = cursor;
    cursor = alignUp(cursor + bytes, 2 * MiB);
    return at;
  };
  const pvmfwHost = kinds.includes("protected") ? place(PVMFW_SIZE) : null;
  const streamsLeft = [...platform.smmuStreams];
  const vms = kinds.map((kind, i) => drawVm(stream, on, i, kind, place, streamsLeft));
  const hostileArena = { base: place(16 * MiB), size: 16 * MiB };
  const hostile = on("hostile-host") ? drawHostile(stream("world:hostile")) : [];
  // Memory pressure: more VMs than the RM has VMIDs for (63 dynamic ones), at a random moment.
  if (on("memory-pressure")) hostile.splice(stream("world:flood").rangeInclusive(0, hostile.length), 0, { op: "create-vms", count: stream("world:flood").rangeInclusive(60, 70) });
  const platformOps = drawPlatform(stream("world:platform-ops"), on, vms);
  return { revision: WORLD_REVISION, seed, features, platform, pvmfwHost, vms, hostile, hostileArena, platformOps, maxEvents: 40_000 };
}

const HALF = ratio(1, 2);
const QUARTER = ratio(1, 4);

function distinct(p: Prng, n: number, min: number, max: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 64 && out.length < n; i++) {
    const x = p.rangeInclusive(min, max);
    if (!out.includes(x)) out.push(x);
  }
  return out.sort((a, b) => a - b);
}

function drawVm(
  stream: (name: string) => Prng,
  on: (f: SwarmFeature) => boolean,
  index: number,
  kind: WorldVm["kind"],
  place: (bytes: number) => number,
  streamsLeft: number[],
): WorldVm {
  const p = stream(`world:vm${index}`);
  const name = `${kind === "protected" ? "pvm" : "vm"}${index}`;
  const devices: WorldDevice[] = [];
  if (on("block")) for (let i = p.rangeInclusive(kind === "protected" ? 1 : 0, 2); i > 0; i--) devices.push({ type: "virtio-blk", irq: 0, capacitySectors: p.pick([64, 512, 2048]) });
  if (on("console") && p.chance(ratio(3, 4))) devices.push({ type: "virtio-console", irq: 0, capacitySectors: 0 });
  const numbered = devices.map((d, i) => ({ ...d, irq: 33 + i }));
  const memory = kind === "protected" ? p.pick([2, 4]) * MiB : p.pick([512 * KiB, 1 * MiB, 2 * MiB, 4 * MiB, 8 * MiB]);
  const shared = Math.max(numbered.length * 64 * KiB, p.pick([256 * KiB, 1 * MiB]));
  const vcpus = on("multi-vcpu") ? p.rangeInclusive(1, 4) : 1;
  const myStreams = streamsLeft.length > 0 && p.chance(ratio(2, 3)) ? [streamsLeft.shift()!] : [];
  const parcelSlots = on("lending") || on("memory-pressure") ? 8 : 0;
  const parcelBytes = on("memory-pressure") ? 64 * PAGE : 16 * PAGE;
  const host = {
    image: place(memory),
    shared: place(shared),
    firmware: kind === "protected" ? place(GUEST.firmwareSize) : 0,
    parcels: parcelSlots === 0 ? 0 : place(parcelSlots * parcelBytes),
    parcelSlots,
    parcelBytes,
  };
  const attrs = p.chance(QUARTER) ? [p.pick(["no-shutdown", "no-reset", "crash-fatal"])] : [];
  const bootCount = on("restart") ? p.rangeInclusive(2, 3) : 1;
  const payloads: PayloadName[] = [];
  if (kind === "protected") for (let b = 0; b < bootCount; b++) payloads.push(p.pick(["ri5", "ri5", "ri5", "ri3", "ri3", "untrusted", "tampered"]));
  const vm = { name, kind, vcpus, memory, shared, devices: numbered, attrs, streams: myStreams, payloads, instance: `instance-${p.rangeInclusive(1, 2)}`, host };
  const boots: GuestOp[][] = [];
  for (let b = 0; b < bootCount; b++) boots.push(drawBoot(stream(`world:vm${index}:boot${b}`), on, vm));
  const vmm = drawVmm(stream(`world:vm${index}:vmm`), on, vm, bootCount);
  // From streams of its own, after everything else, so a world without demand paging draws as before.
  const demand = kind === "protected" && on("demand-paging") ? drawDemand(stream(`world:vm${index}:demand`), vm, place) : null;
  if (demand !== null) for (const [b, ops] of boots.entries()) addDemandOps(stream(`world:vm${index}:demand:boot${b}`), ops);
  return {
    ...vm,
    demand,
    boots,
    vmm,
    rmDelayNs: on("rm-delay") ? p.pick([200 * US, 2 * MS, 20 * MS]) : 0,
    rmRetry: on("rm-retry") ? ratio(1, p.pick([2, 4, 8])) : ratio(0, 1),
  };
}

/** One boot of a guest: bring-up, work drawn from the enabled features, then how it goes down. */
function drawBoot(p: Prng, on: (f: SwarmFeature) => boolean, vm: Pick<WorldVm, "devices" | "streams" | "kind">): GuestOp[] {
  const ops: GuestOp[] = [];
  if (p.chance(ratio(7, 8))) ops.push({ op: "gic" });
  if (vm.devices.length > 0 && p.chance(ratio(7, 8))) ops.push({ op: "probe" });
  const blk = vm.devices.filter((d) => d.type === "virtio-blk").length;
  const work: (() => GuestOp | null)[] = [
    () => (blk > 0 ? { op: "block-io", count: p.rangeInclusive(1, 6), device: p.rangeInclusive(0, blk - 1) } : null),
    () => (vm.devices.some((d) => d.type === "virtio-console") ? { op: "console" } : null),
    () => (on("timer") ? { op: "timer", periods: p.rangeInclusive(1, 4), everyNs: p.pick([100 * US, 1 * MS]), lateNs: on("late-timers") ? p.pick([0, 1 * MS, 30 * MS]) : 0 } : null),
    () => ({ op: "touch", count: p.rangeInclusive(1, 8) }),
    () => (on("lending") ? { op: "accept" } : null),
    () => (on("lending") ? { op: "release" } : null),
    () => (on("guest-share") ? { op: "share-to-host", pages: p.rangeInclusive(1, 4) } : null),
    () => (on("guest-share") ? { op: "unshare" } : null),
    () => (vm.streams.length > 0 ? { op: "dma", stream: p.pick(vm.streams), region: p.pick(["image", "shared", "parcel", "outside"] as const), page: p.rangeInclusive(0, 15), access: p.pick(["read", "write"] as const) } : null),
    () => (on("hostile-guest") ? { op: "hypercalls", count: p.rangeInclusive(20, 120) } : null),
    () => (on("hostile-guest") ? { op: "smccc", count: p.rangeInclusive(2, 12) } : null),
    () => (on("hostile-guest") ? { op: "accesses", count: p.rangeInclusive(10, 60) } : null),
    () => (p.chance(QUARTER) ? { op: "wfi" } : null),
  ];
  for (let i = p.rangeInclusive(2, 10); i > 0; i--) {
    const op = p.pick(work)();
    if (op !== null) ops.push(op);
  }
  // A hostile guest spends most of its boot on random calls and accesses: a long burst of each somewhere in it.
  if (on("hostile-guest")) {
    ops.splice(p.rangeInclusive(0, ops.length), 0, { op: "hypercalls", count: p.rangeInclusive(50, 400) });
    ops.splice(p.rangeInclusive(0, ops.length), 0, { op: "accesses", count: p.rangeInclusive(20, 150) });
  }
  const downs: DownHow[] = ["poweroff", "poweroff", "reset"];
  if (on("crash")) downs.push("panic", "fault", "reset");
  if (on("hang")) downs.push("hang", "watchdog");
  const down: GuestOp = { op: "down", how: p.pick(downs) };
  // A crash or hang may come at any point of the boot, not only at its end.
  const at = on("crash") || on("hang") ? p.rangeInclusive(0, ops.length) : ops.length;
  ops.splice(at, ops.length - at, down);
  return ops;
}

/** GUNYAH_VM_MAP_MEM flags (reference gunyah-rm-and-host §7.3): FORCE_LEND | ALLOW_READ | ALLOW_WRITE, and | ALLOW_EXEC. */
const DEMAND_FLAGS = [0x31, 0x31, 0x71] as const;

/**
 * A guest_memfd for a protected VM (the later Linux driver, src/model/vmm/gmem.ts): host folios
 * of its own, bound at the next 16 MiB boundary after the shared region, as pvm-demand-paging
 * binds its one after the swiotlb pool.
 */
function drawDemand(p: Prng, vm: Pick<WorldVm, "memory" | "shared">, place: (bytes: number) => number): WorldDemand {
  const pages = p.pick([16, 32, 64]);
  return { gpa: sharedGpa(vm) + alignUp(vm.shared, 16 * MiB), host: place(pages * PAGE), pages, flags: p.pick(DEMAND_FLAGS), bootContext: p.chance(HALF) };
}

/** One to three bursts of first stores into the binding, somewhere before the boot goes down. */
function addDemandOps(p: Prng, ops: GuestOp[]): void {
  for (let i = p.rangeInclusive(1, 3); i > 0; i--) ops.splice(p.rangeInclusive(0, Math.max(0, ops.length - 1)), 0, { op: "demand", count: p.rangeInclusive(1, 12) });
}

/** The VMM's program: boots (create, start, work, wait for the exit, release), with illegal orders when asked. */
function drawVmm(p: Prng, on: (f: SwarmFeature) => boolean, vm: Pick<WorldVm, "streams" | "kind">, boots: number): VmmOp[] {
  const ops: VmmOp[] = [];
  const parcels = on("lending") || on("memory-pressure");
  for (let b = 0; b < boots; b++) {
    ops.push({ op: "create" });
    for (const stream of vm.streams) ops.push({ op: "bind", stream });
    ops.push({ op: "start" });
    if (on("vmm-death") && p.chance(QUARTER)) {
      ops.push({ op: "sleep", ns: p.rangeInclusive(0, 200) * US }, { op: "release" });
      continue;
    }
    const middle: VmmOp[] = [];
    for (let i = p.rangeInclusive(0, 5); i > 0; i--) {
      const choice = p.rangeInclusive(0, 6);
      if (choice <= 1 && parcels) middle.push({ op: p.pick(["lend", "share"] as const), pages: on("memory-pressure") ? p.pick([1, 16, 64]) : p.rangeInclusive(1, 16) });
      else if (choice === 2 && parcels) middle.push({ op: "reclaim" });
      else if (choice === 3 && on("guest-share")) middle.push({ op: "accept-guest" }, { op: "sleep", ns: p.rangeInclusive(10, 500) * US }, { op: "release-guest" });
      else if (choice === 4 && on("host-probe")) middle.push({ op: "probe" });
      else middle.push({ op: "sleep", ns: p.rangeInclusive(10, 2000) * US });
    }
    ops.push(...middle);
    if (on("hang") && p.chance(QUARTER)) ops.push({ op: "stop" });
    ops.push({ op: "wait-exit", timeoutNs: p.pick([5, 50, 200]) * MS });
    if (on("host-probe")) ops.push({ op: "probe" });
    ops.push({ op: "release" });
    if (on("host-probe")) ops.push({ op: "probe" });
  }
  if (on("memory-pressure")) for (let i = p.rangeInclusive(4, 12); i > 0; i--) ops.splice(p.rangeInclusive(0, ops.length), 0, { op: "lend", pages: p.pick([16, 64]) });
  return on("wrong-order") ? scramble(p, ops, vm.streams) : ops;
}

/** Illegal orders: steps inserted where they do not belong, dropped, or swapped with a neighbour. */
function scramble(p: Prng, ops: VmmOp[], vmStreams: readonly number[]): VmmOp[] {
  const out = [...ops];
  const strays: VmmOp[] = [{ op: "start" }, { op: "release" }, { op: "stop" }, { op: "reclaim" }, { op: "vcpu-run" }, { op: "lend", pages: 1 }, { op: "share", pages: 2 }, { op: "create" }, { op: "release-guest" }, { op: "wait-exit", timeoutNs: 1 * MS }];
  if (vmStreams.length > 0) strays.push({ op: "bind", stream: vmStreams[0]! });
  for (let i = p.rangeInclusive(1, 6); i > 0; i--) {
    const at = p.rangeInclusive(0, out.length);
    const what = p.rangeInclusive(0, 2);
    if (what === 0) out.splice(at, 0, p.pick(strays));
    else if (what === 1 && at < out.length && out[at]!.op !== "create") out.splice(at, 1);
    else if (at + 1 < out.length) [out[at], out[at + 1]] = [out[at + 1]!, out[at]!];
  }
  return out;
}

function drawHostile(p: Prng): HostileOp[] {
  const ops: HostileOp[] = [];
  for (let i = p.rangeInclusive(2, 5); i > 0; i--) {
    ops.push({ op: "sleep", ns: p.rangeInclusive(0, 3000) * US });
    ops.push(p.pick<HostileOp>([
      { op: "rm-calls", count: p.rangeInclusive(50, 300) },
      { op: "rm-calls", count: p.rangeInclusive(50, 300) },
      { op: "ioctls", count: p.rangeInclusive(5, 40) },
      { op: "host-reads", count: p.rangeInclusive(5, 30) },
    ]));
  }
  return ops;
}

function drawPlatform(p: Prng, on: (f: SwarmFeature) => boolean, vms: readonly WorldVm[]): PlatformOp[] {
  const ops: PlatformOp[] = [];
  const rogue = vms.flatMap((vm, i) => vm.streams.map((stream) => ({ stream, vm: i })));
  for (let i = p.rangeInclusive(0, 8); i > 0; i--) {
    ops.push({ op: "sleep", ns: p.rangeInclusive(50, 5000) * US });
    if (on("irq-storm") && p.chance(HALF)) ops.push({ op: "irq-storm", count: p.rangeInclusive(5, 50), spis: distinct(p, p.rangeInclusive(1, 4), 32, 63) });
    // A device keeps DMA-ing through its stream at the same pages, before, during and after its VM's life.
    else if (rogue.length > 0) {
      const r = p.pick(rogue);
      ops.push({ op: "dma", stream: r.stream, vm: r.vm, region: p.pick(["image", "shared"] as const), page: p.rangeInclusive(0, 3), access: p.pick(["read", "write"] as const) });
    }
  }
  return ops;
}
