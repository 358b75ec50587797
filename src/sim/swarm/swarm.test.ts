import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { isHvsimError } from "../../core/errors.ts";
import { mutableCopy } from "../../core/reducer.ts";
import { checkInvariants } from "../../core/invariants.ts";
import { hvErrorName } from "../../model/abi/errors.ts";
import { HYPERCALLS } from "../../model/abi/hypercalls.ts";
import { RM_ERRORS, VMID } from "../../model/abi/rm.ts";
import type { HypEvent } from "../../model/events.ts";
import { DEFAULT_PLATFORM, hvModel, type Machine } from "../../model/machine.ts";
import { encodeVmid } from "../../model/rm/payloads.ts";
import { prng } from "../prng.ts";
import { builtinScenario } from "../builtin/index.ts";
import { SWARM_FEATURE_NAMES } from "./features.ts";
import { guestView, hostView, randomHypercall, randomRmRequest } from "./hostile.ts";
import { CoverageRecorder, scenarioCoverage } from "./coverage.ts";
import { endOfRunLiveness } from "./liveness.ts";
import { newRun } from "./runtime.ts";
import { parseSwarmRef } from "./scenario.ts";
import { drawWorld, RAM_BASE, sharedGpa } from "./world.ts";

const booted = (): Machine => mutableCopy(hvModel.genesis({ platform: DEFAULT_PLATFORM }));
const apply = (s: Machine, ev: Omit<HypEvent, "seq" | "t">) => hvModel.apply(s, { ...ev, seq: s.seq + 1, t: s.t + 1000 } as HypEvent);

describe("swarm worlds", () => {
  it("are the same for the same seed and differ between seeds", () => {
    expect(JSON.stringify(drawWorld(17))).toBe(JSON.stringify(drawWorld(17)));
    expect(new Set(Array.from({ length: 20 }, (_, i) => JSON.stringify(drawWorld(i + 1)))).size).toBe(20);
  });

  it("switch each feature on in some seeds and off in others (swarm testing), and always have a guest", () => {
    const worlds = Array.from({ length: 64 }, (_, i) => drawWorld(i + 1));
    for (const f of SWARM_FEATURE_NAMES) {
      const on = worlds.filter((w) => w.features.includes(f)).length;
      expect([f, on > 0 && on < 64]).toEqual([f, true]);
    }
    for (const w of worlds) expect(w.vms.length).toBeGreaterThan(0);
  });

  it("place each VM's host memory apart from every other's, inside the HLOS's RAM", () => {
    for (let seed = 1; seed <= 64; seed++) {
      const w = drawWorld(seed);
      const ranges = w.vms.flatMap((vm) => [
        { base: vm.host.image, size: vm.memory },
        { base: vm.host.shared, size: vm.shared },
        ...(vm.host.firmware === 0 ? [] : [{ base: vm.host.firmware, size: 0x40_0000 }]),
        ...(vm.host.parcelSlots === 0 ? [] : [{ base: vm.host.parcels, size: vm.host.parcelSlots * vm.host.parcelBytes }]),
        ...(vm.demand === null ? [] : [{ base: vm.demand.host, size: vm.demand.pages * 0x1000 }]),
      ]);
      ranges.push(w.hostileArena, ...(w.pvmfwHost === null ? [] : [{ base: w.pvmfwHost, size: 0x10_0000 }]));
      ranges.sort((a, b) => a.base - b.base);
      for (let i = 1; i < ranges.length; i++) expect(ranges[i]!.base).toBeGreaterThanOrEqual(ranges[i - 1]!.base + ranges[i - 1]!.size);
      expect(ranges[0]!.base).toBeGreaterThanOrEqual(RAM_BASE + 0x200_0000);
      expect(ranges.at(-1)!.base + ranges.at(-1)!.size).toBeLessThanOrEqual(RAM_BASE + w.platform.ramBytes);
    }
  });

  it("give protected VMs of demand-paging worlds guest_memfd RAM above their regions, and every boot stores into it", () => {
    let bound = 0;
    for (let seed = 1; seed <= 64; seed++) {
      const w = drawWorld(seed);
      for (const vm of w.vms) {
        expect([seed, vm.name, vm.demand !== null]).toEqual([seed, vm.name, vm.kind === "protected" && w.features.includes("demand-paging")]);
        if (vm.demand === null) {
          expect(vm.boots.flat().some((op) => op.op === "demand")).toBe(false);
          continue;
        }
        bound += 1;
        // Above the shared region (the RM's regions and the binding never overlap: VM_MAP_MEM would refuse).
        expect(vm.demand.gpa % 0x100_0000).toBe(0);
        expect(vm.demand.gpa).toBeGreaterThanOrEqual(sharedGpa(vm) + vm.shared);
        for (const boot of vm.boots) expect(boot.filter((op) => op.op === "demand").length).toBeGreaterThan(0);
      }
    }
    expect(bound).toBeGreaterThan(5);
  });

  it("are named swarm:SEED[:DEFECT]; anything else after swarm: is one clear error", () => {
    expect(parseSwarmRef("swarm:17")).toEqual({ seed: 17, defect: null });
    expect(parseSwarmRef("swarm:3:virq-wrong-vm")).toEqual({ seed: 3, defect: "virq-wrong-vm" });
    expect(parseSwarmRef("smoke")).toBeUndefined();
    expect(() => parseSwarmRef("swarm:x")).toThrow(/expected swarm:SEED or swarm:SEED:DEFECT/);
    expect(() => parseSwarmRef("swarm:1:no-such-bug")).toThrow(/unknown model defect 'no-such-bug' \(known: reclaim-without-sanitise, /);
  });
});

describe("hostile calls get Gunyah's answers", () => {
  it("random host RM requests: never an exception, always an RM error code, invariants hold", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), (seed) => {
        const s = booted();
        const p = prng(seed, "test");
        apply(s, { kind: "rm_request", vm: VMID.HLOS, msgId: 0x56000001, rpcSeq: 1, payload: encodeVmid(0) } as never);
        for (let i = 0; i < 60; i++) {
          const r = randomRmRequest(p, hostView(s, [{ base: 0x9000_0000, size: 0x100_0000 }]));
          const o = apply(s, { kind: "rm_request", vm: VMID.HLOS, msgId: r.msgId, rpcSeq: (i % 0xffff) + 1, payload: r.payload } as never) as { err: string };
          expect(Object.keys(RM_ERRORS)).toContain(o.err);
        }
        expect(checkInvariants(s, hvModel.invariants)).toBeNull();
      }),
      { numRuns: 12 },
    );
  });

  it("random hypercalls from a running vCPU: never an exception, X0 always one of Gunyah's error codes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), (seed) => {
        const s = booted();
        const p = prng(seed, "test");
        for (let i = 0; i < 150; i++) {
          // The RM's own vCPU (VM 255) runs at genesis: it has caps worth naming.
          const view = { ...guestView(s, VMID.RM, [0x8100_0000]), caps: Object.keys((s.objects.byId[s.rm.hv!.cspace] as { caps: object }).caps).map((k) => BigInt(k)) };
          const step = randomHypercall(p, view, 0) as Extract<HypEvent, { kind: "hypercall" }>;
          let o: { x: bigint[] };
          try {
            o = apply(s, step) as { x: bigint[] };
          } catch (e) {
            // The RM's vCPU may stop running (a call that blocks or powers it off): a trace error, not a crash.
            if (isHvsimError(e) && e.code === "TRACE_EVENT_INVALID" && /is not running/.test(e.message)) break;
            throw e;
          }
          if (step.call !== HYPERCALLS.hypervisor_identify) expect(hvErrorName(o.x[0]!)).toBeDefined();
        }
      }),
      { numRuns: 10 },
    );
  });
});

describe("coverage and liveness", () => {
  it("sees each VM status edge a restarting VM takes, the ones inside one event included", () => {
    const c = scenarioCoverage(builtinScenario("vm-restart")!, 1);
    for (const edge of ["NONE>LOAD", "LOAD>INIT", "INIT>READY", "READY>RUNNING", "RUNNING>EXITED", "EXITED>RESETTING", "RESETTING>RESET", "RESET>NONE"]) expect([edge, c.vmEdges[edge]]).toEqual([edge, 2]);
    expect(c.rmMessages.VM_START).toBe(2);
    expect(c.kinds.vmm_ioctl).toBeGreaterThan(10);
  });

  it("counts Gunyah's error codes, but not hypervisor_identify's API word", () => {
    const s = booted();
    const rec = new CoverageRecorder();
    for (const call of [HYPERCALLS.hypervisor_identify, 0x33]) {
      const ev = { kind: "hypercall", vm: VMID.RM, vcpu: 0, call, args: [], seq: s.seq + 1, t: s.t + 1 } as HypEvent;
      rec.observe(ev, hvModel.apply(s, ev), s);
    }
    expect(rec.coverage.errors).toEqual({ "hv:UNIMPLEMENTED": 1 });
  });

  it("a VM left behind, a parcel left behind and an actor that never finished are liveness failures", () => {
    const s = booted();
    const world = drawWorld(1);
    const run = newRun(world);
    for (const name of ["launcher", "hostile-host", "platform", ...world.vms.map((v) => `vmm:${v.name}`)]) run.finished.add(name);
    expect(endOfRunLiveness(run, s, 0)).toEqual([]);
    apply(s, { kind: "rm_request", vm: VMID.HLOS, msgId: 0x56000001, rpcSeq: 1, payload: encodeVmid(0) } as never);
    run.finished.delete("platform");
    expect(endOfRunLiveness(run, s, 7).map((f) => [f.kind, f.index, f.detail])).toEqual([
      ["stalled", 7, "no event can happen any more, but platform did not finish (each waits for something that never comes)"],
      ["stuck-vm", 7, "VM 128 is still LOAD after the host released every VM and VMID it had"],
    ]);
  });
});
