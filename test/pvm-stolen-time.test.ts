/**
 * Issue 17, stolen time you can see: the guest's PV-time reads, the hypervisor's accounting and the
 * scheduler's decisions agree (pvm-stolen-time; GH:hyp/vm/arm_pv_time/src/arm_pv_time.c).
 */
import { runScenario } from "./helpers.ts";
import { describe, expect, it } from "vitest";
import { hvModel, type Machine } from "../src/model/machine.ts";
import type { HypEvent } from "../src/model/events.ts";
import type { Outcome } from "../src/core/event.ts";
import { MS } from "../src/core/event.ts";
import type { Scenario } from "../src/sim/scenario.ts";
import { pvmStolenTimeScenario, STOLEN_ROUNDS, CONTENTION_NS } from "../src/sim/builtin/pvm-stolen-time.ts";
import { boot, buildVm, enter, step } from "../src/model/hyp/testkit.ts";
import { readStolenRecord } from "../src/model/vcpu/pv-time.ts";
import type { ThreadObject } from "../src/model/vcpu/state.ts";
import { vcpuInvariants } from "../src/model/vcpu/invariants.ts";
import { PerfettoBuilder, type ChromeEvent } from "../src/export/perfetto.ts";

function run(scenario: Scenario, seed = 1, perfetto?: PerfettoBuilder): { ev: HypEvent; out: Outcome }[] {
  perfetto?.start(hvModel.genesis(scenario.config)); // it reads only the CPU count
  return runScenario(scenario, seed, (ev, out, s) => perfetto?.event(ev, out, s)).log;
}

describe("pvm-stolen-time", () => {
  const log = run(pvmStolenTimeScenario);
  const reads = log.filter((x) => x.ev.kind === "pv_time");
  it("the guest finds its record with PV_TIME_FEATURES / PV_TIME_ST (0xC5000020 / 0xC5000021) at the info area", () => {
    const calls = log.filter((x) => x.ev.kind === "smccc_call").slice(0, 2).map((x) => (x.out as { x: bigint[] }).x[0]);
    expect(calls).toEqual([0n, 0x4000_0000n]);
    expect(reads.every((r) => r.out.ipa === 0x4000_0000)).toBe(true);
  });
  it("each read equals the hypervisor's count at the same event", () => {
    expect(reads.length).toBe(2 + STOLEN_ROUNDS);
    for (const r of reads) expect(r.out.stolenNs).toBe(r.out.hypStolenNs);
  });
  it("uncontended block I/O steals nothing; each contended round adds exactly the time between the slice end and crosvm's re-entry", () => {
    const ns = reads.map((r) => r.out.stolenNs as number);
    expect(ns[1]).toBe(ns[0]);
    for (let i = 0; i < STOLEN_ROUNDS; i++) {
      const at = log.indexOf(reads[2 + i]!);
      const tick = log[at - 2]!, run = log[at - 1]!;
      expect([tick.ev.kind, run.ev.kind]).toEqual(["timer_tick", "vmm_ioctl"]);
      const gap = run.ev.t - tick.ev.t;
      expect(gap).toBeGreaterThanOrEqual(CONTENTION_NS.min);
      expect(ns[2 + i]! - ns[1 + i]!).toBe(gap);
    }
    expect(ns).toEqual([3742, 3742, 664621, 1047011, 1544771, 2349095]);
  });
});

describe("the Perfetto export", () => {
  it("draws the pVM vCPU's stolen time as a counter on its VM's process, stepping to each value the guest reads", () => {
    const out: ChromeEvent[] = [];
    const log = run(pvmStolenTimeScenario, 1, new PerfettoBuilder((e) => out.push(e)));
    const vmid = log.find((x) => x.ev.kind === "pv_time")!.ev as { vm: number };
    const counter = out.filter((e) => e.ph === "C" && e.pid === 1000 + vmid.vm && e.name === "vCPU 0 stolen ns").map((e) => e.args!.stolen_ns);
    const reads = [...new Set(log.filter((x) => x.ev.kind === "pv_time").map((x) => x.out.stolenNs))];
    expect(counter).toEqual(reads);
  });
});

describe("PV-time record against the accounting (hyp testkit)", () => {
  const vcpuOf = (s: Machine): ThreadObject => s.objects.byId[s.vms[1]!.vcpus[0]!] as ThreadObject;
  const agree = vcpuInvariants.find((i) => i.name === "scheduler.pv_time_record_current")!;
  it("entered at once: reads 0; held back 3 ms then re-entered: reads 3 ms, the hypervisor's count", () => {
    let [s, vm] = buildVm(boot(), { powerOn: true, infoAreaIpa: 0x3000_0000 });
    s = enter(s, vm.vcpu);
    expect(vcpuOf(s).acct.stolenNs).toBe(0);
    expect(readStolenRecord(s, vcpuOf(s))).toBe(0);
    // The proxy's slice ends; the vCPU waits, runnable, for 3 ms.
    const t0 = s.sched.cpus.find((c) => c.yieldTo === vcpuOf(s).id)!.sliceEndNs;
    [s] = step(s, { kind: "timer_tick", t: t0 });
    expect(vcpuOf(s).acct.status).toBe("stolen");
    [s] = step(s, { kind: "timer_tick", t: t0 + 3 * MS });
    expect(readStolenRecord(s, vcpuOf(s))).toBe(0); // not switched in yet: the record is stale, as in Gunyah
    s = enter(s, vm.vcpu);
    expect(readStolenRecord(s, vcpuOf(s))).toBe(vcpuOf(s).acct.stolenNs);
    expect(vcpuOf(s).acct.stolenNs).toBe(s.t - t0);
    expect(agree.check(s)).toBeNull();
    // A record that lags the count while the vCPU runs is caught.
    const bad = structuredClone(s) as Machine;
    vcpuOf(bad).acct.stolenNs += 16;
    expect(agree.check(bad)?.detail).toMatch(/reading stolen_ns \d+ in its PV-time record, but the hypervisor counts/);
  });
});
