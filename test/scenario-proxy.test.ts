import { describe, expect, it } from "vitest";
import { compileScenarioFile } from "../src/sim/file/compile.ts";
import { readerOf, recordBytes } from "./helpers.ts";
import type { EventBase, Outcome } from "../src/core/event.ts";

/**
 * Guests act only while crosvm has entered their vCPU (vcpu_run from an HLOS vCPU), and the HLOS
 * vCPUs that can do so are few: on 2 CPUs only HLOS vCPU 1 runs guests (vCPU 0 shares CPU 0 with the
 * RM). Five guests must then take turns on it, each re-entered by VCPU_RUN whenever it lost the CPU.
 */
const NAMES = ["a", "b", "c", "d", "e"];
const TEXT = [
  "description: five guests take turns on the one HLOS CPU that can run them",
  "platform: { cpus: 2 }",
  "vms:",
  ...NAMES.flatMap((n) => [
    `  - name: ${n}`,
    "    memory: 1MiB",
    "    devices: [{ type: virtio-blk, capacity: 64KiB }, { type: virtio-console }]",
    "    guest: [boot, { loop: { count: 5, do: [{ block-io: { count: 2, writes: 1/2 } }, { sleep: 3ms }] } }, { shutdown: poweroff }]",
  ]),
  "host:",
  ...NAMES.flatMap((n) => [`  - create: ${n}`, `  - start: ${n}`]),
  ...NAMES.flatMap((n) => [`  - wait-exit: ${n}`, `  - destroy: ${n}`]),
].join("\n");

type Row = { ev: EventBase & Record<string, unknown>; outcome: Outcome };
const GUEST_KINDS = new Set(["stage2_fault", "vm_mem_write", "virq_ack", "virq_eoi", "rm_vm_halt"]);

describe("guests share the HLOS CPUs (proxy scheduling)", () => {
  const scenario = compileScenarioFile("multiplex.yaml", TEXT);
  const run = (seed: number): Row[] => [...readerOf(recordBytes(scenario, { seed, checkInvariants: true })).events()] as Row[];

  it("all five boot, do their I/O and power off, with every invariant checked", () => {
    const all = run(1);
    expect(all.filter((r) => r.outcome.exit === "STATUS").map((r) => r.outcome.exitType)).toEqual([1, 1, 1, 1, 1]);
    expect(all.filter((r) => r.ev.kind === "vmm_mmio" && r.outcome.reg === "QueueNotify").length).toBe(5 * (10 + 1));
  });

  it("they interleave: a guest acts again after others did, re-entered by a VCPU_RUN each time", () => {
    const all = run(2);
    const acting = all.filter((r) => GUEST_KINDS.has(r.ev.kind)).map((r) => r.ev.vm as number);
    const switches = acting.filter((vm, i) => i > 0 && vm !== acting[i - 1]).length;
    expect(switches).toBeGreaterThan(20);
    // Every switch to another guest went through crosvm's VCPU_RUN for it (READY: it runs now).
    for (let i = 1, last = -1; i < all.length; i++) {
      const r = all[i]!;
      if (r.ev.op === "VCPU_RUN" && r.outcome.state === "READY") last = r.ev.vm as number;
      if (GUEST_KINDS.has(r.ev.kind) && r.ev.kind !== "rm_vm_halt") expect(r.ev.vm).toBe(last);
    }
  });

  it("which guest gets the CPU is a seeded choice: the same seed, the same order; another seed, another", () => {
    const order = (seed: number) => run(seed).filter((r) => r.ev.kind === "stage2_fault").map((r) => r.ev.vm).join(",");
    expect(order(3)).toBe(order(3));
    expect(order(3)).not.toBe(order(4));
  });
});
