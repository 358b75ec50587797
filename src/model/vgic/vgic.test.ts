import { readReg } from "../../cpu/index.ts";
import { describe, expect, it } from "vitest";
import { MS } from "../../core/event.ts";
import { boot, buildVm, enter, errX, hvc, must, okX, rootCaps, step } from "../hyp/testkit.ts";
import type { ThreadObject } from "../vcpu/state.ts";
import type { VicObject } from "./state.ts";
import { acknowledge, hasDeliverable, irqForWrite } from "./virq.ts";
import { mutableCopy } from "../../core/reducer.ts";

const s0 = boot();
const { partition: P, cspace: CS } = rootCaps(s0);
const [sv, vm] = buildVm(s0, { powerOn: true });
const guest = (s: typeof s0): ThreadObject => s.objects.byId[s.vms[1]!.vcpus[0]!] as ThreadObject;
const gicd = (s: typeof s0, off: number, access: "read" | "write", value?: bigint) =>
  step(s, { kind: "stage2_fault", vm: 1, vcpu: 0, ipa: 0x0800_0000 + off, access, sizeBytes: 4, ...(value === undefined ? {} : { value }) });
const gicr = (s: typeof s0, off: number, access: "read" | "write", value?: bigint) =>
  step(s, { kind: "stage2_fault", vm: 1, vcpu: 0, ipa: 0x080a_0000 + off, access, sizeBytes: 4, ...(value === undefined ? {} : { value }) });

describe("vic_configure (0x28), vic_attach_vcpu (0x29)", () => {
  it("checks max_vcpus, max_virqs, options and max_msis", () => {
    const [s, vic] = must(s0, "partition_create_vic", [P, CS]);
    expect(hvc(s, "vic_configure", [vic, 0, 64, 0, 0])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(s, "vic_configure", [vic, 5, 64, 0, 0])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(s, "vic_configure", [vic, 1, 989, 0, 0])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(s, "vic_configure", [vic, 1, 64, 4, 0])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(s, "vic_configure", [vic, 1, 64, 1, 8])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(s, "vic_configure", [vic, 4, 988, 3, 0])[1]).toEqual(okX());
  });
  it("attach index beyond max_vcpus ⇒ ARGUMENT_INVALID; attaching to an INIT VIC ⇒ OBJECT_STATE", () => {
    let [s, th] = must(s0, "partition_create_thread", [P, CS]);
    expect(hvc(s, "vic_attach_vcpu", [5, th, 1])[1]).toEqual(errX("ARGUMENT_INVALID"));
    let vic: bigint;
    [s, vic] = must(s, "partition_create_vic", [P, CS]);
    expect(hvc(s, "vic_attach_vcpu", [vic, th, 0])[1]).toEqual(errX("OBJECT_STATE"));
  });
});

describe("GIC emulation at EL2 (stage2_fault on the platform GICD/GICR)", () => {
  it("reads TYPER/PIDR2 and keeps enables, priorities and routes", () => {
    let s = enter(sv, vm.vcpu);
    let o;
    [s, o] = gicd(s, 0x4, "read");
    expect(o).toEqual({ resolution: "emulated", reg: "GICD_TYPER", value: 0x248_0002n });
    [s, o] = gicd(s, 0xffe8, "read");
    expect(o).toEqual({ resolution: "emulated", reg: "GICD_PIDR2", value: 0x3bn });
    [s] = gicd(s, 0x104, "write", 0x0000_0003n);
    [s, o] = gicd(s, 0x104, "read");
    expect(o).toEqual({ resolution: "emulated", reg: "GICD_ISENABLER1", value: 3n });
    [s] = gicd(s, 0x184, "write", 0x1n);
    [s, o] = gicd(s, 0x104, "read");
    expect(o.value).toBe(2n);
    [s] = gicd(s, 0x420, "write", 0xffa0_8040n);
    [s, o] = gicd(s, 0x420, "read");
    expect(o.value).toBe(0xf8a0_8040n);
    [s, o] = gicr(s, 0x14, "read");
    expect(o).toEqual({ resolution: "emulated", reg: "GICR_WAKER", value: 6n });
    [s] = gicr(s, 0x14, "write", 0n);
    [s, o] = gicr(s, 0x14, "read");
    expect(o.value).toBe(0n);
    expect(readReg(guest(s).cpu, 0)).toBe(0n);
  });
});

describe("timer, WFI and wake-up; hardware IRQs; ack/EOI", () => {
  it("PPI 27 fires at CNTV_CVAL and wakes the vCPU from WFI", () => {
    let s = enter(sv, vm.vcpu);
    [s] = gicd(s, 0x0, "write", 0x3n);
    [s] = gicr(s, 0x1_0100, "write", 1n << 27n);
    let o;
    [s, o] = step(s, { kind: "sysreg_write", vm: 1, vcpu: 0, reg: "CNTV_CVAL_EL0", value: BigInt((s.t + 2 * MS) / 16) });
    [s, o] = step(s, { kind: "sysreg_write", vm: 1, vcpu: 0, reg: "CNTV_CTL_EL0", value: 1n });
    expect(o.fired).toBe(false);
    [s, o] = step(s, { kind: "vcpu_wfi", vm: 1, vcpu: 0 });
    expect(o).toEqual({ blocked: true });
    [s, o] = step(s, { kind: "timer_tick", t: s.t + 3 * MS });
    expect((o.fired as string[])[0]).toBe("vm1/vcpu0:vtimer(virq 27, woke)");
    expect(guest(s).wfi).toBe(false);
    s = enter(s, vm.vcpu);
    [s, o] = step(s, { kind: "virq_ack", vm: 1, vcpu: 0 });
    expect(o).toEqual({ intid: 27 });
    [s, o] = step(s, { kind: "virq_eoi", vm: 1, vcpu: 0, virq: 27 });
    expect(o).toEqual({ deactivated: true });
  });
  it("hwirq_bind_virq forwards a hardware SPI; unbound SPIs stay disabled", () => {
    let s = sv;
    expect(step(s, { kind: "irq", hwirq: 33 })[1]).toEqual({ delivered: false, reason: "unbound" });
    expect(hvc(s, "hwirq_bind_virq", [6, vm.vic, 31])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(s, "hwirq_bind_virq", [6, vm.vic, 96])[1]).toEqual(errX("ARGUMENT_INVALID"));
    [s] = must(s, "hwirq_bind_virq", [6, vm.vic, 50]);
    expect(hvc(s, "hwirq_bind_virq", [6, vm.vic, 51])[1]).toEqual(errX("VIRQ_BOUND"));
    expect(hvc(s, "hwirq_bind_virq", [7, vm.vic, 50])[1]).toEqual(errX("BUSY"));
    let o;
    [s, o] = step(s, { kind: "irq", hwirq: 32 });
    expect(o).toEqual({ delivered: true, virq: 50, vm: 1, vcpu: 0, woke: false });
    expect(step(s, { kind: "irq", hwirq: 32 })[1]).toEqual({ delivered: false, reason: "active" });
    expect(() => step(s, { kind: "irq", hwirq: 200 })).toThrow(/not a hardware IRQ/);
    [s] = must(s, "hwirq_unbind_virq", [6]);
    expect(hvc(s, "hwirq_unbind_virq", [6])[1]).toEqual(okX());
  });
});

describe("SPI index (virq.ts spiIds): delivery scans on a mutable state", () => {
  it("sees SPIs added after the index was built; equal priorities go in INTID order", () => {
    const s = mutableCopy(enter(sv, vm.vcpu));
    const t = guest(s);
    const vic = s.objects.byId[t.vic] as VicObject;
    vic.ctlr = 0x3;
    expect(acknowledge(s, t)).toBe(1023); // builds the index for this spis object
    expect(hasDeliverable(s, t)).toBe(false);
    for (const [intid, priority] of [[90, 0xa0], [40, 0xa0], [60, 0x80]] as const) {
      const i = irqForWrite(vic, undefined, intid)!;
      Object.assign(i, { enabled: true, pending: true, priority });
    }
    expect(hasDeliverable(s, t)).toBe(true);
    expect([acknowledge(s, t), acknowledge(s, t), acknowledge(s, t), acknowledge(s, t)]).toEqual([60, 40, 90, 1023]);
  });
});
