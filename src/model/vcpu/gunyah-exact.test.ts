/**
 * HYP behaviours checked line by line against quic/gunyah-hypervisor @36ca3a2 (issue 19). Each test
 * names the source it follows; each failed on the model before this changes.
 */
import { describe, expect, it } from "vitest";
import { REG_PC, readReg } from "../../cpu/index.ts";
import { MS } from "../../core/event.ts";
import type { Machine } from "../machine.ts";
import { boot, buildVm, enter, errX, hvc, must, okX, rootCaps, step, VM1 } from "../hyp/testkit.ts";
import type { ThreadObject } from "./state.ts";

const s0 = boot();
const { cspace: CS } = rootCaps(s0);
const vcpuOf = (s: Machine, i = 0): ThreadObject => s.objects.byId[s.vms[1]!.vcpus[i]!] as ThreadObject;
const smc = (s: Machine, vcpu: number, ...args: bigint[]) => step(s, { kind: "smccc_call", vm: 1, vcpu, conduit: "hvc", args });
const ALL = 0xffff_ffff_ffff_ffffn;
const W32 = 0xffff_ffffn;
const stolen = (s: Machine, t: ThreadObject): number => t.acct.stolenNs + (t.acct.status === "stolen" ? s.t - t.acct.since : 0);

describe("reserved inputs (GH:hyp/core/api/aarch64/templates/c_wrapper.c.tmpl:88-118)", () => {
  it("a non-zero res0 is ARGUMENT_INVALID before anything else, stubs included", () => {
    // partition_create_cspace X2 is res0 (partition_standard/hypercalls.hvc:21): the lookup never runs.
    expect(hvc(s0, "partition_create_cspace", [0xdead, 0xbeef, 1])[1]).toEqual(errX("ARGUMENT_INVALID"));
    // object_reset is a stub returning UNIMPLEMENTED, but its wrapper checks res0 first (object_standard/hypercalls.hvc:16).
    expect(hvc(s0, "object_reset", [1, 1])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(s0, "object_reset", [1, 0])[1]).toEqual(errX("UNIMPLEMENTED"));
  });
  it("res1 must be all ones (vcpu_set_affinity X2: vcpu/aarch64/hypercalls.hvc:27)", () => {
    const [s, vm] = buildVm(s0, { proxy: false });
    expect(hvc(s, "vcpu_set_affinity", [vm.vcpu, 1, 0])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(s, "vcpu_set_affinity", [vm.vcpu, 1, ALL])[1]).toEqual(okX());
  });
});

describe("vPSCI through the VPM group (GH:hyp/vm/psci/src/psci_common.c)", () => {
  it("a vCPU outside any VPM group gets no PSCI: calls unhandled, PSCI_FEATURES -1 (psci_common.c:284-295, 806-830)", () => {
    let [s, vm] = buildVm(s0, { powerOn: true, vpm: false });
    s = enter(s, vm.vcpu);
    expect(smc(s, 0, 0x8400_0000n)[1]).toEqual({ x: [ALL] });
    expect(smc(s, 0, 0x8400_000an, 0x8400_0000n)[1]).toEqual({ x: [W32, 0x8400_0000n, 0n, 0n] });
  });
  it("PSCI mode: CPU_OFF of the last online vCPU is DENIED; with another one on it powers off (psci_common.c:1240-1275)", () => {
    let [s, vm] = buildVm(s0, { proxy: false, vcpus: 2, affinity: [1, 2], powerOn: true });
    expect(smc(s, 0, 0x8400_0002n)[1]).toEqual({ x: [0xffff_fffdn, 0n, 0n, 0n] }); // DENIED (-3), 32-bit
    let o;
    [s, o] = smc(s, 0, 0xc400_0003n, 1n, BigInt(VM1.ipa + 0x100), 0x55n); // CPU_ON vCPU 1
    expect(o).toEqual({ x: [0n, 1n, BigInt(VM1.ipa + 0x100), 0x55n] });
    expect(vcpuOf(s, 1)).toMatchObject({ power: "ON" });
    expect(readReg(vcpuOf(s, 1).cpu, REG_PC)).toBe(BigInt(VM1.ipa + 0x100));
    expect(s.objects.byId[vcpuOf(s).vpm]).toMatchObject({ online: 2 });
    [s, o] = smc(s, 0, 0x8400_0002n);
    expect(o).toEqual({ x: [] }); // does not return
    expect(vcpuOf(s).power).toBe("OFF");
    expect(hvc(s, "vcpu_run_check", [vm.vcpus[0]!])[1]).toEqual(okX(2, 0, 0, 0));
    // CPU_ON of a valid CPU index that is not a member: INTERNAL_FAILURE (-6) (psci_common.c:474-499).
    expect(smc(s, 1, 0xc400_0003n, 5n, 0n, 0n)[1]).toEqual({ x: [BigInt.asUintN(64, -6n), 5n, 0n, 0n] });
  });
  it("proxy VMs (no_aggregation, as the RM sets it) may CPU_OFF the last vCPU; SYSTEM_SUSPEND is not built", () => {
    let [s, vm] = buildVm(s0, { powerOn: true });
    s = enter(s, vm.vcpu);
    expect(smc(s, 0, 0x8400_000en)[1]).toEqual({ x: [ALL] }); // psci.ev:23 commented out
    expect(smc(s, 0, 0x8400_0002n)[1]).toEqual({ x: [] });
  });
  it("a power-down CPU_SUSPEND warm-resets at the entry point with X0 = context when woken (psci_common.c:337-344)", () => {
    let [s, vm] = buildVm(s0, { powerOn: true });
    s = enter(s, vm.vcpu);
    [s] = step(s, { kind: "stage2_fault", vm: 1, vcpu: 0, ipa: 0x0800_0000, access: "write", sizeBytes: 4, value: 3n });
    [s] = step(s, { kind: "stage2_fault", vm: 1, vcpu: 0, ipa: 0x080b_0100, access: "write", sizeBytes: 4, value: 1n << 27n });
    [s] = step(s, { kind: "sysreg_write", vm: 1, vcpu: 0, reg: "CNTV_CVAL_EL0", value: BigInt((s.t + 2 * MS) / 16) });
    [s] = step(s, { kind: "sysreg_write", vm: 1, vcpu: 0, reg: "CNTV_CTL_EL0", value: 1n });
    let o;
    [s, o] = smc(s, 0, 0xc400_0001n, 0x1_0001n, 0x4000_2000n, 0x77n);
    expect(o).toEqual({ x: [] });
    expect(hvc(s, "vcpu_run", [vm.vcpu, 0, 0, 0, 0])[1]).toEqual(okX(1, 0x1_0001, 2, 0)); // EXPECTS_WAKEUP from CPU_SUSPEND
    [s] = step(s, { kind: "timer_tick", t: s.t + 3 * MS });
    expect(readReg(vcpuOf(s).cpu, REG_PC)).toBe(0x4000_2000n);
    expect(readReg(vcpuOf(s).cpu, 0)).toBe(0x77n);
    // PSCI_FEATURES(CPU_SUSPEND) = 2: platform co-ordinated, original format (psci_pc.c:60-68).
    s = enter(s, vm.vcpu);
    expect(smc(s, 0, 0x8400_000an, 0xc400_0001n)[1]).toEqual({ x: [2n, 0xc400_0001n, 0n, 0n] });
  });
  it("SYSTEM_OFF kills the other members without their halt VIRQs and halts the caller (psci_common.c:614-642)", () => {
    let [s, vm] = buildVm(s0, { vcpus: 2, powerOn: true });
    [s] = must(s, "vcpu_bind_virq", [vm.vcpus[0]!, vm.vic, 40, 0]);
    [s] = must(s, "vcpu_bind_virq", [vm.vcpus[1]!, vm.vic, 41, 0]);
    s = enter(s, vm.vcpu);
    [s] = smc(s, 0, 0x8400_0008n);
    const v = s.objects.byId[vcpuOf(s).vic] as { spis: Record<number, { level: boolean } | undefined> };
    expect(vcpuOf(s)).toMatchObject({ power: "OFF", halted: true, threadState: "READY" });
    expect(vcpuOf(s, 1)).toMatchObject({ threadState: "KILLED", halted: false });
    expect(v.spis[40]?.level).toBe(true); // the caller's halt source asserted
    expect(v.spis[41]?.level ?? false).toBe(false);
  });
});

describe("FPRR scheduler (GH:hyp/core/scheduler_fprr)", () => {
  it("a preempted thread keeps the rest of its slice (update_timeslice, scheduler_fprr.c:101-120, 473-518)", () => {
    let [s, vm] = buildVm(s0, { proxy: false, vcpus: 2, affinity: 1, priorities: [32, 40] });
    const t0 = s.t;
    [s] = must(s, "vcpu_poweron", [vm.vcpus[0]!, VM1.ipa, 0, 0]);
    expect(s.sched.cpus[1]).toMatchObject({ current: vcpuOf(s).id, sliceEndNs: t0 + 5 * MS });
    [s] = must(s, "vcpu_poweron", [vm.vcpus[1]!, VM1.ipa, 0, 0], { t: t0 + 2 * MS });
    expect(s.sched.cpus[1]!.current).toBe(vcpuOf(s, 1).id);
    [s] = step(s, { kind: "vcpu_wfi", vm: 1, vcpu: 1, t: t0 + 3 * MS });
    expect(s.sched.cpus[1]).toMatchObject({ current: vcpuOf(s).id, sliceEndNs: t0 + 6 * MS }); // 3 ms left, not a fresh 5
  });
  it("YIELD_TO is a directed yield; a plain yield by its target ends it (scheduler_fprr.c:649-721)", () => {
    let [s, vm] = buildVm(s0, { proxy: false, affinity: 0, powerOn: true });
    const rm = s.sched.cpus[0]!.current;
    [s] = must(s, "scheduler_yield", [1, vm.vcpu]);
    expect(s.sched.cpus[0]).toMatchObject({ current: rm, yieldTo: vcpuOf(s).id });
    [s] = step(s, { kind: "hypercall", vm: 1, vcpu: 0, call: 0x3b, args: [0n, 0n] });
    expect(s.sched.cpus[0]).toMatchObject({ current: rm, yieldTo: 0 });
    // The old model gave the RM's slice away instead: the guest became CPU 0's current thread.
    expect(hvc(s, "scheduler_yield", [1, CS])[1]).toEqual(errX("CSPACE_WRONG_OBJECT_TYPE"));
  });
});

describe("stolen time (GH:hyp/vm/arm_pv_time/src/arm_pv_time.c)", () => {
  it("a proxy-scheduled vCPU waiting for its host's vcpu_run accrues stolen time; WFI does not (arm_pv_time.c:123-199)", () => {
    let [s, vm] = buildVm(s0, { powerOn: true });
    const t0 = s.t;
    [s] = step(s, { kind: "timer_tick", t: t0 + 3 * MS });
    expect(stolen(s, vcpuOf(s))).toBe(3 * MS);
    s = enter(s, vm.vcpu);
    [s] = step(s, { kind: "vcpu_wfi", vm: 1, vcpu: 0 });
    [s] = step(s, { kind: "timer_tick", t: t0 + 9 * MS });
    expect(stolen(s, vcpuOf(s))).toBe(3 * MS);
  });
  it("PV_TIME_FEATURES and PV_TIME_ST follow the info area (arm_pv_time.c:22-79)", () => {
    let [s, vm] = buildVm(s0, { powerOn: true, infoAreaIpa: 0x3000_0000 });
    s = enter(s, vm.vcpu);
    expect(smc(s, 0, 0xc500_0020n, 0xc500_0021n)[1]).toEqual({ x: [0n, 0xc500_0021n, 0n, 0n] });
    expect(smc(s, 0, 0xc500_0021n)[1]).toEqual({ x: [0x3000_0000n, 0n, 0n, 0n] });
    let [n, vm2] = buildVm(s0, { powerOn: true });
    n = enter(n, vm2.vcpu);
    expect(smc(n, 0, 0xc500_0020n, 0xc500_0021n)[1]).toEqual({ x: [ALL, 0xc500_0021n, 0n, 0n] });
    expect(smc(n, 0, 0xc500_0021n)[1]).toEqual({ x: [ALL, 0n, 0n, 0n] });
  });
});
