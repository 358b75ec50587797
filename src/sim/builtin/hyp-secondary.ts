import { createHash } from "node:crypto";
import { MS, US, type Outcome } from "../../core/event.ts";
import { DEFAULT_PLATFORM, type Machine } from "../../model/machine.ts";
import { HYPERCALLS, type HypercallName } from "../../model/abi/hypercalls.ts";
import { PSCI, VCPU_RUN_STATE } from "../../model/abi/constants.ts";
import type { ThreadObject } from "../../model/vcpu/state.ts";
import { hasDeliverable } from "../../model/vgic/virq.ts";
import type { Driver, Proposal, Scenario } from "../scenario.ts";
import type { Prng } from "../prng.ts";

/**
 * hyp-secondary: the RM (VM 255, vCPU 0) creates a secondary VM with hypercalls the way Gunyah's RM
 * does (cspace, addrspace + VMMIO range, memextents with a derived child and a sparse extent fed by
 * donation, VIC, a proxy-scheduled vCPU, GIC vdevices, doorbell and message queues with caps copied
 * into the VM's cspace, a forwarded hardware IRQ), powers it on and then proxy-schedules it with
 * vcpu_run while the guest brings up its GIC, programs its timer, sleeps in WFI, talks over the
 * doorbell and queues, touches MMIO that exits to the proxy, takes an abort, and finally calls PSCI
 * SYSTEM_OFF. All randomness comes from the named streams "timing", "guest", "rm" and "irq".
 */
const definition = {
  name: "hyp-secondary",
  description:
    "The RM builds a secondary VM with Gunyah hypercalls and proxy-schedules its vCPU: GIC bring-up through EL2 emulation, " +
    "timer and WFI, doorbell and message-queue traffic, VMMIO exits with resume data, aborts, a forwarded hardware IRQ, PSCI SYSTEM_OFF.",
  events: 6_000,
  guestSteps: 2_200,
};

export const LAYOUT = {
  vmid: 1,
  ramIpa: 0x4000_0000,
  ramSize: 0x40_0000,
  sharedOffset: 0x3f_0000,
  sharedSize: 0x1_0000,
  sparseIpa: 0x5000_0000,
  sparseSize: 0x10_0000,
  donateSize: 0x4_0000,
  vmmioBase: 0x0a00_0000,
  vmmioSize: 0x1000,
  gicdIpa: 0x3f00_0000,
  gicrIpa: 0x3f10_0000,
  doorbellVirq: 40,
  mqRxVirq: 41,
  hwirq: 32,
  hwirqVirq: 50,
  rmMqVirq: 40,
} as const;

type Step = Omit<Proposal, "t"> extends infer P ? P : never;
type Gen = Generator<Step, void, Outcome>;

const x = (o: Outcome, i: number): bigint => ((o.x as bigint[] | undefined) ?? [])[i] ?? 0n;
const call = (name: HypercallName, args: (number | bigint)[], extra: { vm?: number; data?: Uint8Array } = {}): Step =>
  ({ kind: "hypercall", vm: extra.vm ?? 255, vcpu: 0, call: HYPERCALLS[name], args: args.map((a) => BigInt(a)), ...(extra.data ? { data: extra.data } : {}) }) as Step;

/** Caps the RM learns while building the VM. */
interface Built {
  vmCs: bigint;
  vcpu: bigint;
  vic: bigint;
  db: bigint;
  mqTx: bigint;
  mqRx: bigint;
  vmCaps: { db: bigint; mqTx: bigint; mqRx: bigint };
}

/** The RM's construction sequence; every step must succeed (a failure is a scenario bug). */
function* build(s: () => Machine): Generator<Step, Built, Outcome> {
  const env = s().rootEnv;
  const P = env.partition_capid;
  const CS = env.cspace_capid;
  const ok = function* (step: Step): Generator<Step, bigint, Outcome> {
    const o = yield step;
    if (x(o, 0) !== 0n) throw new Error(`hyp-secondary: setup step failed: ${JSON.stringify(step, (_k, v) => (typeof v === "bigint" ? v.toString(16) : v))} -> ${x(o, 0)}`);
    return x(o, 1);
  };
  const free = env.free_ranges[0]!.base;
  const vmCs = yield* ok(call("partition_create_cspace", [P, CS]));
  yield* ok(call("cspace_configure", [vmCs, 64]));
  yield* ok(call("object_activate", [vmCs]));
  const as = yield* ok(call("partition_create_addrspace", [P, CS]));
  yield* ok(call("addrspace_configure", [as, LAYOUT.vmid]));
  yield* ok(call("addrspace_configure_vmmio", [as, LAYOUT.vmmioBase, LAYOUT.vmmioSize, 0]));
  yield* ok(call("object_activate", [as]));
  const me = yield* ok(call("partition_create_memextent", [P, CS]));
  yield* ok(call("memextent_configure", [me, free, LAYOUT.ramSize, 7]));
  yield* ok(call("object_activate", [me]));
  yield* ok(call("addrspace_map", [as, me, LAYOUT.ramIpa, 0x0f_0077, 0, 0, 0]));
  const shared = yield* ok(call("partition_create_memextent", [P, CS]));
  yield* ok(call("memextent_configure_derive", [shared, me, LAYOUT.sharedOffset, LAYOUT.sharedSize, 6]));
  yield* ok(call("object_activate", [shared]));
  const sparse = yield* ok(call("partition_create_memextent", [P, CS]));
  yield* ok(call("memextent_configure", [sparse, free + LAYOUT.ramSize, LAYOUT.sparseSize, 0x1_0006]));
  yield* ok(call("object_activate", [sparse]));
  yield* ok(call("addrspace_map", [as, sparse, LAYOUT.sparseIpa, 0x0f_0066, 0, 0, 0]));
  yield* ok(call("memextent_donate", [0, P, sparse, 0, LAYOUT.donateSize]));
  const vic = yield* ok(call("partition_create_vic", [P, CS]));
  yield* ok(call("vic_configure", [vic, 1, 64, 0, 0]));
  yield* ok(call("object_activate", [vic]));
  // The VM's PSCI: a VPM group, no_aggregation for a proxy-scheduled VM (as the RM sets it up:
  // RM:src/vm_config/vm_config.c:2958-2995, 3130-3133). Without it the guest has no PSCI.
  const vpm = yield* ok(call("partition_create_vpm_group", [P, CS]));
  yield* ok(call("vpm_group_configure", [vpm, 1]));
  yield* ok(call("object_activate", [vpm]));
  const vcpu = yield* ok(call("partition_create_thread", [P, CS]));
  yield* ok(call("vcpu_configure", [vcpu, 1n << 9n]));
  yield* ok(call("cspace_attach_thread", [vmCs, vcpu]));
  yield* ok(call("addrspace_attach_thread", [as, vcpu]));
  yield* ok(call("vic_attach_vcpu", [vic, vcpu, 0]));
  yield* ok(call("vpm_group_attach_vcpu", [vpm, vcpu, 0]));
  yield* ok(call("object_activate", [vcpu]));
  yield* ok(call("addrspace_attach_vdevice", [as, vic, 0, LAYOUT.gicdIpa, 0x1_0000, 0]));
  yield* ok(call("addrspace_attach_vdevice", [as, vic, 1, LAYOUT.gicrIpa, 0x2_0000, 3]));
  const db = yield* ok(call("partition_create_doorbell", [P, CS]));
  yield* ok(call("object_activate", [db]));
  yield* ok(call("doorbell_bind_virq", [db, env.vic, LAYOUT.rmMqVirq + 1]));
  const mqTx = yield* ok(call("partition_create_msgqueue", [P, CS]));
  yield* ok(call("msgqueue_configure", [mqTx, (240 << 16) | 8]));
  yield* ok(call("object_activate", [mqTx]));
  yield* ok(call("msgqueue_bind_receive_virq", [mqTx, env.vic, LAYOUT.rmMqVirq]));
  const mqRx = yield* ok(call("partition_create_msgqueue", [P, CS]));
  yield* ok(call("msgqueue_configure", [mqRx, (240 << 16) | 8]));
  yield* ok(call("object_activate", [mqRx]));
  yield* ok(call("msgqueue_bind_receive_virq", [mqRx, vic, LAYOUT.mqRxVirq]));
  const vmDb = yield* ok(call("cspace_copy_cap_from", [CS, db, vmCs, 0x1]));
  const vmTx = yield* ok(call("cspace_copy_cap_from", [CS, mqTx, vmCs, 0x1]));
  const vmRx = yield* ok(call("cspace_copy_cap_from", [CS, mqRx, vmCs, 0x2]));
  const hw = env.vic_hwirq.find((h) => h.irq === LAYOUT.hwirq)!;
  yield* ok(call("hwirq_bind_virq", [hw.capid, vic, LAYOUT.hwirqVirq]));
  yield* ok(call("vcpu_poweron", [vcpu, LAYOUT.ramIpa, 0, 0]));
  return { vmCs, vcpu, vic, db, mqTx, mqRx, vmCaps: { db: vmDb, mqTx: vmTx, mqRx: vmRx } };
}

const guestOf = (s: Machine): ThreadObject | undefined => {
  const id = s.vms[LAYOUT.vmid]?.vcpus[0] ?? 0;
  const t = s.objects.byId[id];
  return t?.type === "thread" ? t : undefined;
};
const running = (s: Machine, vm: number): boolean => {
  const id = s.vms[vm]?.vcpus[0] ?? 0;
  return s.sched.cpus.some((c) => c.yieldTo === id || (c.yieldTo === 0 && c.current === id));
};

/** The guest's GIC bring-up, as a Linux GICv3 driver does it (through EL2 emulation). */
function gicInit(): Step[] {
  const g = (ipa: number, access: "read" | "write", sizeBytes: number, value?: bigint): Step =>
    ({ kind: "stage2_fault", vm: LAYOUT.vmid, vcpu: 0, ipa, access, sizeBytes, ...(value === undefined ? {} : { value }) }) as Step;
  const D = LAYOUT.gicdIpa;
  const R = LAYOUT.gicrIpa;
  return [
    g(D + 0xffe8, "read", 4), g(D + 0x4, "read", 4), g(D + 0x0, "write", 4, 0n), g(D + 0x84, "write", 4, 0xffff_ffffn),
    g(D + 0xc08, "write", 4, 0n), g(D + 0x420, "write", 4, 0xa0a0_a0a0n), g(D + 0x6100, "write", 8, 0n), g(D + 0x6190, "write", 8, 0n),
    g(D + 0x0, "write", 4, 0x13n), g(R + 0x8, "read", 8), g(R + 0x14, "write", 4, 0n), g(R + 0x14, "read", 4),
    g(R + 0x1_0080, "write", 4, 0xffff_ffffn), g(R + 0x1_0418, "write", 4, 0xa0a0_a0a0n), g(R + 0x1_0100, "write", 4, 1n << 27n),
    g(D + 0x104, "write", 4, 0xffff_ffffn),
  ];
}

function* scenario(s: () => Machine, r: { guest: Prng; rm: Prng; irq: Prng }): Gen {
  const built = yield* build(s);
  const G = LAYOUT.vmid;
  const acked: number[] = [];
  const init = gicInit();
  let lastRun = 0;
  let vmmioRead = false;
  let steps = 0;
  let offRequested = false;
  while (true) {
    const st = s();
    const guest = guestOf(st)!;
    if (running(st, G)) {
      steps++;
      if (steps > definition.guestSteps && !offRequested) {
        offRequested = true;
        yield { kind: "smccc_call", vm: G, vcpu: 0, conduit: "hvc", args: [BigInt(PSCI.SYSTEM_OFF)] } as Step;
        continue;
      }
      yield* guestStep(st, guest, built, init, acked, r.guest, () => running(s(), G));
      continue;
    }
    if (!running(st, 255)) throw new Error("hyp-secondary: nobody is running");
    if (lastRun === VCPU_RUN_STATE.POWERED_OFF && offRequested) {
      yield call("cspace_delete_cap_from", [st.rootEnv.cspace_capid, built.db]);
      return;
    }
    const o = yield* rmStep(built, r.rm, vmmioRead ? BigInt(r.rm.u32()) : 0n);
    if (o !== null) {
      lastRun = Number(x(o, 1));
      vmmioRead = lastRun === VCPU_RUN_STATE.ADDRSPACE_VMMIO_READ;
    }
  }
}

/** One RM action: mostly vcpu_run (the proxy), sometimes queue and doorbell work. Returns a vcpu_run outcome. */
function* rmStep(b: Built, rng: Prng, resume: bigint): Generator<Step, Outcome | null, Outcome> {
  const pick = rng.rangeInclusive(0, 9);
  if (pick < 6) return yield call("vcpu_run", [b.vcpu, resume, 0, 0, 0]);
  if (pick < 8) {
    yield call("msgqueue_receive", [b.mqTx, 0x1000, 240]);
    return null;
  }
  const data = Uint8Array.from({ length: rng.rangeInclusive(1, 64) }, () => rng.rangeInclusive(0, 255));
  yield call(pick === 8 ? "msgqueue_send" : "doorbell_receive", pick === 8 ? [b.mqRx, data.length, 0x2000, rng.rangeInclusive(0, 1)] : [b.db, 0xff], pick === 8 ? { data } : {});
  return null;
}

function* guestStep(st: Machine, t: ThreadObject, b: Built, init: Step[], acked: number[], rng: Prng, stillRunning: () => boolean): Gen {
  const G = LAYOUT.vmid;
  const first = init.shift();
  if (first !== undefined) return void (yield first);
  if (hasDeliverable(st, t) && rng.chance({ numerator: 3, denominator: 4 })) {
    const o = yield { kind: "virq_ack", vm: G, vcpu: 0 } as Step;
    const intid = o.intid as number;
    if (intid === 1023) return;
    acked.push(intid);
    // What a driver does in its handler: drain the queue, or re-arm the timer (which drops PPI 27).
    // A tick may have ended the proxy's slice in between: the rest of a sequence waits for the next run.
    if (intid === LAYOUT.mqRxVirq && stillRunning()) yield call("msgqueue_receive", [b.vmCaps.mqRx, 0x4000_2000, 240], { vm: G });
    if (intid === 27 && stillRunning()) yield* armTimer(st, rng, stillRunning);
    return;
  }
  // Handlers end with EOI before the guest does anything else (Linux never idles with an active IRQ).
  if (acked.length > 0) return void (yield { kind: "virq_eoi", vm: G, vcpu: 0, virq: acked.shift()! } as Step);
  const g = (name: HypercallName, args: (number | bigint)[], data?: Uint8Array): Step => call(name, args, { vm: G, ...(data ? { data } : {}) });
  const pick = rng.rangeInclusive(0, 99);
  if (pick < 22) {
    // Idle: like Linux, arm the next timer event first, then WFI.
    yield* armTimer(st, rng, stillRunning);
    if (stillRunning()) yield { kind: "vcpu_wfi", vm: G, vcpu: 0 } as Step;
    return;
  }
  if (pick < 42) {
    const ipa = rng.chance({ numerator: 4, denominator: 5 }) ? LAYOUT.ramIpa + rng.rangeInclusive(0, LAYOUT.ramSize / 8 - 1) * 8 : LAYOUT.sparseIpa + rng.rangeInclusive(0, LAYOUT.donateSize / 8 - 1) * 8;
    return void (yield { kind: "guest_access", vm: G, vcpu: 0, ipa, access: rng.pick(["read", "write"] as const), sizeBytes: 8 } as Step);
  }
  if (pick < 52) {
    const write = rng.chance({ numerator: 1, denominator: 2 });
    return void (yield { kind: "stage2_fault", vm: G, vcpu: 0, ipa: LAYOUT.vmmioBase + rng.rangeInclusive(0, 0x3ff) * 4, access: write ? ("write" as const) : ("read" as const), sizeBytes: 4, ...(write ? { value: BigInt(rng.u32()) } : { reg: rng.rangeInclusive(0, 7) }) } as unknown as Step);
  }
  if (pick < 55) return void (yield { kind: "stage2_fault", vm: G, vcpu: 0, ipa: 0x7000_0000 + rng.rangeInclusive(0, 255) * 0x1000, access: rng.pick(["read", "write", "exec"] as const), sizeBytes: 4 } as Step);
  if (pick < 57) return void (yield { kind: "stage2_fault", vm: G, vcpu: 0, ipa: LAYOUT.ramIpa + LAYOUT.sharedOffset + rng.rangeInclusive(0, 15) * 0x1000, access: "exec", sizeBytes: 4 } as Step);
  if (pick < 67) return void (yield g("doorbell_send", [b.vmCaps.db, 1n << BigInt(rng.rangeInclusive(0, 7))]));
  if (pick < 77) {
    const data = Uint8Array.from({ length: rng.rangeInclusive(1, 240) }, (_v, i) => (i * 7 + steps(rng)) & 0xff);
    return void (yield g("msgqueue_send", [b.vmCaps.mqTx, data.length, 0x4000_1000, rng.rangeInclusive(0, 1)], data));
  }
  if (pick < 85) return void (yield g("msgqueue_receive", [b.vmCaps.mqRx, 0x4000_2000, 240]));
  if (pick < 90) return void (yield { kind: "smccc_call", vm: G, vcpu: 0, conduit: "hvc", args: [BigInt(PSCI.VERSION)] } as Step);
  if (pick < 93) return void (yield g("hypervisor_identify", []));
  yield { kind: "stage2_fault", vm: G, vcpu: 0, ipa: LAYOUT.gicdIpa + 0x100 + 4 * rng.rangeInclusive(0, 2), access: "read", sizeBytes: 4 } as Step;
}
const steps = (rng: Prng): number => rng.rangeInclusive(0, 255);

/** CNTV_CVAL = now + 0.1..3 ms (62.5 MHz counter), then CNTV_CTL = ENABLE. */
function* armTimer(st: Machine, rng: Prng, stillRunning: () => boolean): Gen {
  const ticks = (BigInt(st.t) * 62_500_000n) / 1_000_000_000n;
  yield { kind: "sysreg_write", vm: LAYOUT.vmid, vcpu: 0, reg: "CNTV_CVAL_EL0", value: ticks + BigInt(rng.rangeInclusive(6_000, 200_000)) } as Step;
  if (stillRunning()) yield { kind: "sysreg_write", vm: LAYOUT.vmid, vcpu: 0, reg: "CNTV_CTL_EL0", value: 1n } as Step;
}

const lastWasWakeupWait = (o: Outcome): boolean => Array.isArray(o.x) && o.x.length === 5 && o.x[0] === 0n && o.x[1] === BigInt(VCPU_RUN_STATE.EXPECTS_WAKEUP);

export const hypSecondaryScenario: Scenario = {
  name: definition.name,
  description: definition.description,
  hash: createHash("sha256").update(JSON.stringify(definition) + JSON.stringify(LAYOUT)).digest("hex"),
  config: { platform: DEFAULT_PLATFORM, hlos: false },
  maxEvents: definition.events,
  makeDriver(stream: (name: string) => Prng): Driver {
    const timing = stream("timing");
    const irqRng = stream("irq");
    let state: Machine | null = null;
    const gen = scenario(() => state!, { guest: stream("guest"), rm: stream("rm"), irq: irqRng });
    let last: Outcome = {};
    let t = 0;
    let nextTick = MS;
    let started = false;
    let done = false;
    let fromGen = false;
    return {
      next(s: Machine): Proposal | null {
        if (done) return null;
        state = s;
        t += timing.rangeInclusive(2 * US, 120 * US);
        const g = guestOf(s);
        // Nothing to do until an interrupt: the RM would idle, so time moves to the next tick.
        if (g !== undefined && (g.wfi || g.power === "OFF") && !g.entered && g.power === "ON" && lastWasWakeupWait(last)) t = Math.max(t, nextTick);
        if (t >= nextTick) {
          t = nextTick;
          nextTick += MS;
          fromGen = false;
          return { kind: "timer_tick", t };
        }
        if (started && guestOf(s) !== undefined && irqRng.chance({ numerator: 1, denominator: 40 })) {
          fromGen = false;
          return { kind: "irq", t, hwirq: LAYOUT.hwirq };
        }
        const r = started ? gen.next(last) : gen.next();
        started = true;
        fromGen = true;
        if (r.done) {
          done = true;
          return null;
        }
        return { ...r.value, t } as Proposal;
      },
      observe(_ev, outcome) {
        if (fromGen) last = outcome;
      },
    };
  },
};
