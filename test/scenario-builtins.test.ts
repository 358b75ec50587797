import { describe, expect, it } from "vitest";
import { builtinScenarios, DEFAULT_SCENARIO } from "../src/sim/builtin/index.ts";
import { resolveScenario } from "../src/sim/resolve.ts";
import { record } from "../src/sim/record.ts";
import { memorySink } from "../src/trace/source.ts";
import { cli, readerOf, recordBytes } from "./helpers.ts";
import type { EventBase, Outcome } from "../src/core/event.ts";

type Row = { ev: EventBase & Record<string, unknown>; outcome: Outcome };
const rows = (name: string, seed = 1): Row[] => [...readerOf(recordBytes(resolveScenario(name), { seed, checkInvariants: true })).events()] as Row[];
const rmCalls = (all: Row[], msg: string): Row[] => all.filter((r) => r.ev.kind === "rm_request" && r.outcome.msg === msg);
const exits = (all: Row[]): unknown[] => all.filter((r) => r.outcome.exit === "STATUS").map((r) => r.outcome.exitType);

describe("built-in scenarios", () => {
  it("the default is the protected-VM boot; hyp-secondary and the scenario files are listed; smoke is kept but not first", () => {
    const names = builtinScenarios().map((s) => s.name);
    expect(DEFAULT_SCENARIO.name).toBe("pvm-boot"); // issue #6: the AVF protected-VM boot is the default
    expect(names).toEqual(["pvm-boot", "pvm-compile", "pvm-tampered", "pvm-rollback", "pvm-host-read", "pvm-dma", "pvm-stolen-time", "pvm-demand-paging", "vm-secondary", "vm-code-minimal", "vm-code-linux", "hyp-secondary", "vm-restart", "vm-large-memory", "long-run", "mem-churn", "smmu-dma", "virtio-blk-heavy", "vm-code-two", "vm-crash-restart", "watchdog", "bug-reclaim-without-sanitise", "bug-host-s2-kept-after-lend", "bug-smmu-map-kept-after-reclaim", "bug-rollback-check-skipped", "bug-virq-wrong-vm", "bug-demand-page-kept-in-host", "smoke"]);
    expect(builtinScenarios().filter((s) => s.source !== undefined).map((s) => s.source)).toEqual([
      "scenarios/long-run.yaml", "scenarios/mem-churn.yaml", "scenarios/smmu-dma.yaml", "scenarios/virtio-blk-heavy.yaml", "scenarios/vm-code-two.yaml", "scenarios/vm-crash-restart.yaml", "scenarios/watchdog.yaml",
    ]);
  });

  it("hvsim scenarios marks the default and the files", async () => {
    const r = await cli("scenarios");
    expect(r.stdout[0]).toMatch(/^pvm-boot +AVF protected-VM boot: .* \(default\)$/);
    expect(r.stdout.find((l) => l.startsWith("mem-churn"))).toMatch(/\(file scenarios\/mem-churn\.yaml\)$/);
    expect(r.stdout.at(-1)).toMatch(/^smoke +The RM's vCPU/);
  });

  it("virtio-blk-heavy: 3200 block requests, each notified through the ioeventfd with an interrupt, then a clean power-off", () => {
    const all = rows("virtio-blk-heavy");
    const notifies = all.filter((r) => r.ev.kind === "vmm_mmio" && r.outcome.exit === "IOEVENTFD" && r.outcome.reg === "QueueNotify");
    expect(notifies).toHaveLength(3200);
    expect(notifies.every((r) => JSON.stringify(r.outcome.irq) === JSON.stringify({ vm: 0x80, spi: 33 }))).toBe(true);
    expect(exits(all)).toEqual([1]); // PLATFORM_OFF
  });

  it("mem-churn: 180 parcels given, accepted, released and reclaimed, every RM call OK", () => {
    const all = rows("mem-churn", 2);
    for (const msg of ["MEM_ACCEPT", "MEM_RELEASE", "MEM_RECLAIM"]) expect(rmCalls(all, msg).map((r) => r.outcome.err)).toEqual(Array(180).fill("OK"));
    expect(rmCalls(all, "MEM_LEND")).toHaveLength(120);
    expect(rmCalls(all, "MEM_SHARE")).toHaveLength(60);
    // Each guest gets its parcels at the IPA the RM picks above its own memory.
    expect(new Set(rmCalls(all, "MEM_ACCEPT").map((r) => r.ev.vm))).toEqual(new Set([0x80, 0x81, 0x82]));
  });

  it("smmu-dma: DMA outside a VM's memory faults (40 times), everything else reaches memory", () => {
    const txns = rows("smmu-dma").filter((r) => r.ev.kind === "smmu_txn");
    const faults = txns.filter((r) => r.outcome.result === "fault");
    expect(faults).toHaveLength(40);
    expect(faults.every((r) => r.outcome.reason === "translation" && (r.ev.iova as number) >= 0x7000_0000 && (r.ev.iova as number) < 0x7002_0000)).toBe(true);
    expect(txns.length - faults.length).toBe(80); // nic: shared, image, parcel; gpu: shared; 20 rounds
  });

  it("vm-crash-restart: the first boot panics (VM_EXIT), the host restarts it, the second powers off", () => {
    const all = rows("vm-crash-restart");
    expect(exits(all)).toEqual([0, 1]); // VM_EXIT, PLATFORM_OFF
    expect(all.filter((r) => r.ev.op === "CREATE_VM").map((r) => r.outcome.vmid)).toEqual([0x80, 0x80]);
  });

  it("watchdog: the hung VM exits with WATCHDOG_BITE, its neighbour is force-stopped", () => {
    const all = rows("watchdog");
    expect(exits(all)).toEqual([4, 7]); // WATCHDOG_BITE, VM_STOP_FORCED
    expect(all.filter((r) => r.ev.kind === "timer_tick").length).toBeGreaterThan(20);
  });

  it("long-run never ends on its own: it records exactly --max-events (1.2M by default; bench measures the full run)", () => {
    const s = resolveScenario("long-run");
    expect(s.maxEvents).toBe(1_200_000);
    const r = record(s, memorySink(), { seed: 3, maxEvents: 40_000 });
    expect(r).toMatchObject({ events: 40_000, stoppedBy: "max_events" });
  });
});
