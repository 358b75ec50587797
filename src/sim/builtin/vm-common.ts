/**
 * The pieces the TS VM scenarios (vm-secondary, vm-restart) are built from, in crosvm's default
 * layout. The behaviours themselves live in src/sim/lib (host.ts, guest.ts), parameterised by a
 * VmPlan so that scenario files can run them for any number of VMs; these wrappers keep the
 * original one-VM signatures (and produce exactly the same events).
 */
import { createHash } from "node:crypto";
import { DEFAULT_PLATFORM } from "../../model/machine.ts";
import type { Scenario } from "../scenario.ts";
import { VMID } from "../../model/abi/rm.ts";
import type { Outcome } from "../../core/event.ts";
import { US } from "../../core/event.ts";
import type { Proposal } from "../scenario.ts";
import type { Prng } from "../prng.ts";
import { DEFAULT_VM_PLAN, QUEUE_SIZE as LIB_QUEUE_SIZE, queueLayout as libQueueLayout, type DevicePlan } from "../lib/vm-plan.ts";
import { hostCollectExit, hostCreate, hostRelease, hostStart, type HostVm } from "../lib/host.ts";
import { blockIo, consoleWrite, goDown, initDevice, type DownHow, type GuestCtx } from "../lib/guest.ts";
import type { Step as LibStep, Steps as LibSteps } from "../lib/program.ts";

export type Step = LibStep;
export type Steps = LibSteps;
export type { HostVm } from "../lib/host.ts";

/** Guest physical layout (crosvm puts RAM at 0x8000_0000, reference §8.3) and where the host keeps it. */
export const LAYOUT = {
  imageGpa: 0x8000_0000,
  imageHost: 0x9000_0000,
  imageSize: 0x20_0000,
  dtbGpa: 0x801f_0000,
  sharedGpa: 0x8100_0000,
  sharedHost: 0x9400_0000,
  sharedSize: 0x10_0000,
  blockBase: 0x0a00_0000,
  consoleBase: 0x0a00_1000,
  blockIrq: 33,
  consoleIrq: 34,
  capacitySectors: 2048,
} as const;

const plan = DEFAULT_VM_PLAN;
const [blockDevice, consoleDevice] = plan.devices as [DevicePlan, DevicePlan];
/** The default plan's data is never drawn through this context (only writes draw, and they pass a stream). */
const ctx = (vmid: number, data?: Prng): GuestCtx => ({ vmid, vcpu: 0, plan, data: data as Prng });

/** crosvm: create the VM, register memory (image lent, swiotlb shared), devices, vCPU, irqfds, DTB; start. */
export function* hostSetup(vm: HostVm): Steps {
  yield* hostCreate(vm, plan);
  yield* hostStart(vm);
}

/** crosvm after the guest went down: VCPU_RUN sees the STATUS exit, then the last close tears the VM down. */
export function* hostTeardown(vm: HostVm): Steps {
  yield* hostCollectExit(vm);
  yield* hostRelease(vm);
}

export const queueLayout = (device: number, queue: number) => libQueueLayout(plan, device, queue);
export const QUEUE_SIZE = LIB_QUEUE_SIZE;

/** The Linux virtio-mmio probe and virtio init sequence (VIRTIO 1.x §3.1.1) for one device. */
export function* guestInitDevice(vm: number, base: number, device: number, queues: number): Steps {
  const d: DevicePlan = { type: queues === 1 ? "virtio-blk" : "virtio-console", index: device, base, irq: 0, capacitySectors: 0 };
  yield* initDevice(ctx(vm), d);
}

/** One virtio-blk request: header, data, status descriptors; avail entry; notify; interrupt ack. */
export function* guestBlockIo(vm: number, availIdx: number, write: boolean, sector: number, guest: Prng): Steps {
  yield* blockIo(ctx(vm, guest), blockDevice, availIdx, write, sector) as Steps;
}

/** The guest prints a line on the console's transmit queue (queue 1). */
export function* guestConsole(vm: number, text: string): Steps {
  yield* consoleWrite(ctx(vm), consoleDevice, text);
}

/** The guest goes down: PSCI SYSTEM_OFF/RESET (vCPU halt), a panic (VM_EXIT SOFTWARE_ERROR), or a watchdog bite. */
export function* guestDown(vm: number, how: DownHow): Steps {
  yield* goDown(ctx(vm), how);
}

/** Drives a generator as a scenario driver: stamps times from the `timing` stream, feeds outcomes back. */
export function runSteps(steps: Steps, timing: Prng) {
  let t = 0;
  let last: Outcome = {};
  let done = false;
  let first = true;
  return {
    next(): Proposal | null {
      if (done) return null;
      const r = first ? steps.next(undefined as unknown as Outcome) : steps.next(last);
      first = false;
      if (r.done === true) {
        done = true;
        return null;
      }
      t += timing.rangeInclusive(1 * US, 50 * US);
      // A step that waits for a moment (a guest's timer) comes no earlier than it.
      const { atLeast, ...step } = r.value as Step & { atLeast?: number };
      if (atLeast !== undefined) t = Math.max(t, atLeast);
      return { ...step, t } as Proposal;
    },
    observe(_ev: unknown, outcome: Outcome): void {
      last = outcome;
      // Guest code ran for `retired` ns of virtual time (vcpu_exec): the next event comes after it.
      if (typeof outcome.retired === "number") t += outcome.retired;
    },
  };
}

export const HLOS = VMID.HLOS;

/**
 * A built-in scenario written as one generator of steps. The hash covers the definition only (it
 * must be the same on every machine and under every TypeScript transformer): bump its `revision`
 * when the generator changes what it does.
 */
export function stepsScenario(
  definition: { readonly name: string; readonly description: string; readonly revision: number },
  maxEvents: number,
  steps: (guest: Prng) => Steps,
): Scenario {
  return {
    name: definition.name,
    description: definition.description,
    hash: createHash("sha256").update(JSON.stringify(definition)).digest("hex"),
    config: { platform: DEFAULT_PLATFORM },
    maxEvents,
    makeDriver: (stream) => runSteps(steps(stream("guest")), stream("timing")),
  };
}
