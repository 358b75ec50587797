/**
 * Runs a VM's `guest:` steps on its boot vCPU, once per boot. Macros expand into the library's
 * behaviours (src/sim/lib/guest.ts, guest-gic.ts): `boot` brings up the vGIC and the virtual timer
 * (first tick taken), probes every virtio device Linux-style and prints a banner; `block-io` issues
 * requests and waits the device's latency for each interrupt; `timer` arms the virtual timer a
 * period (plus interrupt jitter) ahead, takes PPI 27 at the tick and runs its body. A VM with an
 * `image:` runs that code instead (src/sim/lib/cpu-guest.ts runCpuGuest): the scheduler enters the
 * vCPU (crosvm's VCPU_RUN) before its first `vcpu_exec` and after a slice end, and the guest's
 * exits are handled as crosvm's vCPU thread does.
 */
import type { Machine } from "../../model/machine.ts";
import { vmRunning } from "../lib/host.ts";
import { acceptParcel, blockIo, consoleWrite, goDown, initDevice, releaseParcelStep, touchStep, type DownHow, type GuestCtx } from "../lib/guest.ts";
import { gicInit, timerPeriod } from "../lib/guest-gic.ts";
import { mark, markOf, sleep, wait, type Program } from "../lib/program.ts";
import { die } from "../../core/errors.ts";
import { PHYS_ADDR_LIMIT } from "../../model/config.ts";
import { runCpuGuest } from "../lib/cpu-guest.ts";
import type { DevicePlan } from "../lib/vm-plan.ts";
import type { ActorSpec } from "../lib/scheduler.ts";
import type { Prng } from "../prng.ts";
import type { DownHowName, GuestStep } from "./scenario-schema.ts";
import { nextRpcSeq, type Streams, type VmRuntime } from "./runtime.ts";
import type { Where } from "./compile.ts";

const DOWN: Record<DownHowName, DownHow> = {
  poweroff: "PSCI_SYSTEM_OFF",
  reset: "PSCI_SYSTEM_RESET",
  panic: "PANIC",
  watchdog: "WATCHDOG_BITE",
  fault: "VCPU_FAULT",
};
const DEVICE_WAIT_NS = { min: 20_000, max: 200_000 };
/** The boot's first clock event: the timer is armed this far ahead (the tick comes then). */
const BOOT_TIMER_NS = { min: 10_000, max: 100_000 };
const TOUCH_BYTES = 64;
/**
 * IPA never mapped for a guest (below crosvm's RAM base, clear of the RM's info-area page at
 * 0x4000_0000 and the IPAs its allocator hands out after it): a DMA there must fault.
 */
export const OUTSIDE_IPA = 0x7000_0000;

interface Session {
  readonly where: Where;
  readonly rt: VmRuntime;
  readonly g: GuestCtx;
  readonly boot: number;
  readonly streams: Streams;
  readonly avail: Record<number, number>;
}

/** The guest's actor: one session per boot, each waiting for the host to (re)start the VM. */
export function guestActor(rt: VmRuntime, streams: Streams, latency: ActorSpec["latency"], where: Where): ActorSpec {
  let lastBoot = 0;
  let target = { vm: rt.host.vmid, vcpu: 0 };
  return {
    name: `guest:${rt.spec.name}`,
    latency,
    session: () => session(where, rt, streams, () => lastBoot, (b) => (lastBoot = b)),
    guard: (s: Machine) => rt.generation === lastBoot && vmRunning(s, rt.host.vmid),
    // The scheduler enters the boot vCPU (crosvm's VCPU_RUN) before each step the guest executes.
    // One object per VM id, not one per call: the scheduler asks before every event.
    proxied: { target: () => (target.vm === rt.host.vmid ? target : (target = { vm: rt.host.vmid, vcpu: 0 })) },
  };
}

function* session(where: Where, rt: VmRuntime, streams: Streams, lastBoot: () => number, setBoot: (b: number) => void): Program {
  yield wait(`${rt.spec.name} starts`, (s) => rt.generation > lastBoot() && vmRunning(s, rt.host.vmid));
  setBoot(rt.generation);
  if (rt.image !== undefined) return void (yield* runCpuGuest(rt.host, 0));
  const g: GuestCtx = { vmid: rt.host.vmid, vcpu: 0, plan: rt.plan, data: streams.data };
  yield* steps({ where, rt, g, boot: rt.generation, streams, avail: {} }, rt.spec.guest);
}

function* steps(x: Session, list: readonly GuestStep[]): Program {
  // Each step says where it is (no event, no randomness): an event the model refuses names it.
  for (const step of list) {
    yield markOf(x.where, step);
    yield* one(x, step);
  }
}

function* one(x: Session, step: GuestStep): Program {
  switch (step.op) {
    case "boot": return yield* boot(x);
    case "block-io": return yield* blockIos(x, step.count, step.writes, step.device);
    case "console": return yield* print(x, `${step.text}\n`);
    case "sleep": return void (yield sleep(step.ns));
    case "timer":
      for (let i = 0; i < step.count; i++) {
        // The virtual timer: arm CNTV_CVAL a period (plus interrupt jitter) ahead, take PPI 27 at the
        // tick that reaches it. A slice end this tick causes returns vcpu_run to crosvm, which
        // re-enters before the guest's next step (scheduler.ts).
        yield* timerPeriod(x.g, step.everyNs + x.streams.irq.rangeInclusive(0, Math.floor(step.everyNs / 16)));
        yield* steps(x, step.body);
      }
      return;
    case "loop": {
      const here = mark(x.where(step));
      for (let i = 0; i < step.count; i++) {
        yield here;
        yield* steps(x, step.body);
      }
      return;
    }
    case "if-boot": return step.boot === x.boot ? yield* steps(x, step.body) : undefined;
    case "accept": return yield* accept(x);
    case "release": return yield* release(x);
    case "dma": return yield* dma(x, step);
    case "shutdown": return yield* goDown(x.g, DOWN[step.how], nextRpcSeq(x.rt));
  }
}

/**
 * A Linux-like boot: bring up the GIC (distributor, redistributor, device SPIs, PPI 27) and the
 * virtual timer, take its first interrupt, probe every virtio-mmio device, print the banner.
 */
function* boot(x: Session): Program {
  yield* gicInit(x.g, x.rt.plan.devices);
  yield* timerPeriod(x.g, draw(x.streams.irq, BOOT_TIMER_NS));
  for (const d of x.rt.plan.devices) yield* initDevice(x.g, d);
  if (x.rt.plan.devices.some((d) => d.type === "virtio-console")) yield* print(x, `${x.rt.spec.name}: boot ${x.boot}\n`);
}

/** Console lines go round the transmit queue's slots; the key keeps them apart from block queues. */
function* print(x: Session, text: string): Program {
  const d = consoleOf(x);
  const key = 1000 + d.index;
  const n = x.avail[key] ?? 0;
  x.avail[key] = n + 1;
  yield* consoleWrite(x.g, d, text, n);
}

function* blockIos(x: Session, count: number, writes: { numerator: number; denominator: number }, index: number): Program {
  const d = x.rt.plan.devices.filter((p) => p.type === "virtio-blk")[index]!;
  for (let i = 0; i < count; i++) {
    const write = x.g.data.chance(writes);
    const sector = x.g.data.rangeInclusive(0, d.capacitySectors - 1);
    const avail = x.avail[d.index] ?? 0;
    x.avail[d.index] = avail + 1;
    yield* blockIo(x.g, d, avail, write, sector, draw(x.streams.device, DEVICE_WAIT_NS));
  }
}

function* accept(x: Session): Program {
  yield wait(`${x.rt.spec.name} gets a parcel`, () => x.rt.inbox.length > 0);
  const parcel = x.rt.inbox.shift()!;
  const ipa = yield* acceptParcel(x.g, parcel.handle, parcel.trans, nextRpcSeq(x.rt));
  if (ipa === null) return;
  x.rt.accepted.push({ parcel, ipa });
  yield touchStep(x.g, ipa, TOUCH_BYTES);
}

function* release(x: Session): Program {
  const held = x.rt.accepted.shift();
  if (held === undefined) return;
  const o = yield releaseParcelStep(x.g, held.parcel.handle, nextRpcSeq(x.rt));
  if (o.err === "OK") x.rt.released.push(held.parcel.handle);
}

function* dma(x: Session, step: Extract<GuestStep, { op: "dma" }>): Program {
  const held = x.rt.accepted.at(-1);
  const base = { image: x.rt.plan.image.gpa, shared: x.rt.plan.shared.gpa, parcel: held?.ipa, outside: OUTSIDE_IPA }[step.region];
  if (base === undefined) return; // no parcel held: nothing to DMA into
  // Static regions are checked at compile time (semantic.ts); a parcel's IPA is the RM's choice.
  if (base + step.offset + step.size > PHYS_ADDR_LIMIT) die("SCENARIO_INVALID", `${x.where(step)}: offset ${step.offset} into the parcel at IPA 0x${base.toString(16)} leaves the 48-bit address space`);
  yield { kind: "smmu_txn", stream: step.stream, iova: base + step.offset, access: step.access, sizeBytes: step.size };
}

const consoleOf = (x: Session): DevicePlan => x.rt.plan.devices.find((d) => d.type === "virtio-console")!;
const draw = (p: Prng, r: { min: number; max: number }): number => p.rangeInclusive(r.min, r.max);
