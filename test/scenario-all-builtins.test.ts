import { describe, expect, it } from "vitest";
import { builtinScenarios } from "../src/sim/builtin/index.ts";
import { record } from "../src/sim/record.ts";
import { memorySink } from "../src/trace/source.ts";
import { cli } from "./helpers.ts";

/**
 * Every built-in scenario (the protected-VM ones, pvm-* and bug-*, have their own suite) records
 * with every invariant checked after every event and ends by itself or at the event cap: never on a
 * trace error such as a guest acting while its vCPU is not running (the driver must enter it first,
 * and share the HLOS CPUs when there are more guests than CPUs). The cap keeps the suite well under
 * 30 s; long-run and virtio-blk-heavy are cut by it, the others end on their own.
 */
const CAP = 12_000;
const SEEDS = [1, 2];
const ours = builtinScenarios().filter((s) => !s.name.startsWith("pvm-") && !s.name.startsWith("bug-"));

describe("every built-in scenario records cleanly with every invariant checked", () => {
  for (const s of ours) {
    for (const seed of SEEDS) {
      it(`${s.name} --seed ${seed} --max-events ${CAP}`, () => {
        const r = record(s, memorySink(), { seed, maxEvents: CAP, checkInvariants: true });
        expect(r.violation).toBeNull();
        expect(["scenario_done", "max_events"]).toContain(r.stoppedBy);
        if (r.stoppedBy === "scenario_done") expect(r.events).toBeLessThan(CAP);
      });
    }
  }

  it("the list covers the secondary-VM scenarios, hyp-secondary, the files and smoke", () => {
    expect(ours.map((s) => s.name)).toEqual(expect.arrayContaining(["vm-secondary", "hyp-secondary", "vm-restart", "long-run", "mem-churn", "smmu-dma", "virtio-blk-heavy", "vm-crash-restart", "watchdog", "smoke"]));
  });

  it("hvsim check exits 0 on a scenario with more guests than HLOS CPUs (long-run: 4 VMs, 3 CPUs for them)", async () => {
    const r = await cli("check", "long-run", "--seed", "1", "--max-events", "3000");
    expect(r.code).toBe(0);
    expect(r.stdout.at(-1)).toMatch(/^ok: 3000 events checked/);
  });
});
