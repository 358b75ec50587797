import { describe, expect, it } from "vitest";
import { compileScenarioFile } from "../src/sim/file/compile.ts";
import { describeEvent } from "../src/export/describe.ts";
import { readerOf, recordBytes } from "./helpers.ts";
import type { EventBase, Outcome } from "../src/core/event.ts";

/**
 * The `boot` macro brings up the vGIC and the virtual timer before probing virtio (Linux's
 * gic_dist_init / gic_cpu_init, arch_timer): GIC accesses are stage-2 faults HYP emulates at EL2
 * (GICD at 0x8000000, the boot vCPU's GICR at 0x80a0000, SGI frame +0x10000), the timer is
 * CNTV_CVAL/CNTV_CTL; the first tick raises PPI 27, which the guest takes. `timer` steps use it too.
 */
const TEXT = [
  "description: boot brings up the vGIC and the virtual timer",
  "vms:",
  "  - name: app",
  "    memory: 1MiB",
  "    devices: [{ type: virtio-blk, capacity: 64KiB }, { type: virtio-console }]",
  "    guest: [boot, { timer: { every: 1ms, count: 2, do: [{ console: tick }] } }, { shutdown: poweroff }]",
  "host: [{ create: app }, { start: app }, { wait-exit: app }, { destroy: app }]",
].join("\n");

type Row = { ev: EventBase & Record<string, unknown>; outcome: Outcome };
/** Timer and GIC lines, times and the VMMIO traffic left out: `kind register [value] [-> result]`. */
function gicTimerLines(rows: Row[]): string[] {
  const out: string[] = [];
  for (const { ev, outcome } of rows) {
    const isGic = ev.kind === "stage2_fault" && typeof outcome.reg === "string" && /^GIC[DR]_/.test(outcome.reg);
    const isTimer = ev.kind === "sysreg_write" || (ev.kind === "timer_tick" && ((outcome.fired as string[]) ?? []).some((f) => f.includes("vtimer")));
    const isPpi = (ev.kind === "virq_ack" && outcome.intid === 27) || (ev.kind === "virq_eoi" && ev.virq === 27);
    if (isGic || isTimer || isPpi) out.push(describeEvent(ev, outcome).replace(/^#\d+ t=\S+ /, "").replace(/(CNTV_CVAL_EL0 = )0x[0-9a-f]+/, "$1CVAL").replace(/due at t=\d+ns/, "due"));
  }
  return out;
}

describe("the boot macro brings up the vGIC and the virtual timer", () => {
  const rows = [...readerOf(recordBytes(compileScenarioFile("gic-boot.yaml", TEXT), { seed: 1, checkInvariants: true })).events()] as Row[];
  const lines = gicTimerLines(rows);
  const period = [
    "sysreg_write vm0x80/vcpu0 CNTV_CVAL_EL0 = CVAL",
    "sysreg_write vm0x80/vcpu0 CNTV_CTL_EL0 = 0x1 -> due",
    "timer_tick tick: vm128/vcpu0:vtimer(virq 27)",
    "virq_ack vm0x80/vcpu0 ICC_IAR1_EL1 -> INTID 27",
    "sysreg_write vm0x80/vcpu0 CNTV_CTL_EL0 = 0x0",
    "virq_eoi vm0x80/vcpu0 ICC_EOIR1_EL1 INTID 27",
  ];

  it("GICD_TYPER, GICD_CTLR, GICR_WAKER wake-up, SPI 33/34 and PPI 27 priority + enable, then the first timer interrupt, then two timer periods", () => {
    expect(lines).toEqual([
      "stage2_fault vm0x80/vcpu0 read 4B at IPA 0x8000004 -> emulated GICD_TYPER = 0x24800ff",
      "stage2_fault vm0x80/vcpu0 write 4B at IPA 0x8000000 value 0x12 -> emulated GICD_CTLR",
      "stage2_fault vm0x80/vcpu0 write 4B at IPA 0x80a0014 value 0x0 -> emulated GICR_WAKER",
      "stage2_fault vm0x80/vcpu0 read 4B at IPA 0x80a0014 -> emulated GICR_WAKER = 0x0",
      "stage2_fault vm0x80/vcpu0 write 4B at IPA 0x8000420 value 0xa0a0a0a0 -> emulated GICD_IPRIORITYR8",
      "stage2_fault vm0x80/vcpu0 write 4B at IPA 0x8000104 value 0x6 -> emulated GICD_ISENABLER1",
      "stage2_fault vm0x80/vcpu0 write 4B at IPA 0x80b0418 value 0xa0a0a0a0 -> emulated GICR_IPRIORITYR6",
      "stage2_fault vm0x80/vcpu0 write 4B at IPA 0x80b0100 value 0x8000000 -> emulated GICR_ISENABLER0",
      ...period,
      ...period,
      ...period,
    ]);
  });

  it("the GIC bring-up comes before the first virtio probe, and the VM powers off", () => {
    const firstGic = rows.findIndex((r) => r.ev.kind === "stage2_fault" && r.outcome.reg === "GICD_TYPER");
    const firstEoi27 = rows.findIndex((r) => r.ev.kind === "virq_eoi" && r.ev.virq === 27);
    const firstVirtio = rows.findIndex((r) => r.ev.kind === "stage2_fault" && r.outcome.resolution === "vmmio");
    expect(firstGic).toBeGreaterThan(0);
    expect(firstEoi27).toBeLessThan(firstVirtio);
    expect(rows.filter((r) => r.outcome.exit === "STATUS").length).toBe(1);
  });

  it("each CVAL is the counter a period ahead of the write: the tick that fires 27 comes at or after it", () => {
    const freq = 62_500_000n;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      if (r.ev.kind !== "sysreg_write" || r.ev.reg !== "CNTV_CVAL_EL0") continue;
      const tick = rows.slice(i).find((x) => x.ev.kind === "timer_tick")!;
      expect(BigInt(tick.ev.t) * freq / 1_000_000_000n >= (r.ev.value as bigint)).toBe(true);
    }
  });
});
