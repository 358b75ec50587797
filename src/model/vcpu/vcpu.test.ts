import { readReg } from "../../cpu/index.ts";
import { describe, expect, it } from "vitest";
import { MS } from "../../core/event.ts";
import { boot, buildVm, enter, errX, hvc, must, okX, rootCaps, step, VM1 } from "../hyp/testkit.ts";
import type { ThreadObject } from "./state.ts";

const s0 = boot();
const { partition: P, cspace: CS, vcpu: RMV } = rootCaps(s0);
const [sv, vm] = buildVm(s0, { powerOn: true });
const guest = (s: typeof s0): ThreadObject => s.objects.byId[s.vms[1]!.vcpus[0]!] as ThreadObject;

describe("vcpu_configure / set_priority / set_timeslice / set_affinity (INIT-time calls)", () => {
  const [s, th] = must(s0, "partition_create_thread", [P, CS]);
  it("rejects unknown option bits", () => {
    expect(hvc(s, "vcpu_configure", [th, 1n << 40n])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(s, "vcpu_configure", [th, 1n << 9n])[1]).toEqual(okX());
  });
  it("priority > 62 ⇒ DENIED; timeslice outside 100 µs..100 ms ⇒ ARGUMENT_INVALID", () => {
    expect(hvc(s, "vcpu_set_priority", [th, 63])[1]).toEqual(errX("DENIED"));
    expect(hvc(s, "vcpu_set_priority", [th, 62])[1]).toEqual(okX());
    expect(hvc(s, "vcpu_set_timeslice", [th, 99_999])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(s, "vcpu_set_timeslice", [th, 100_000_000])[1]).toEqual(okX());
    expect(hvc(s0, "vcpu_set_priority", [RMV, 10])[1]).toEqual(errX("OBJECT_STATE"));
  });
  it("affinity: a missing CPU ⇒ ARGUMENT_INVALID; CPU_INDEX_INVALID needs DISABLE", () => {
    expect(hvc(s, "vcpu_set_affinity", [th, 4, -1])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(s, "vcpu_set_affinity", [th, 0xffff, -1])[1]).toEqual(okX());
    const [s2, weak] = must(s, "cspace_copy_cap_from", [CS, th, CS, 0x2]);
    expect(hvc(s2, "vcpu_set_affinity", [weak, 0xffff, -1])[1]).toEqual(errX("CSPACE_INSUFFICIENT_RIGHTS"));
    expect(hvc(s2, "vcpu_set_affinity", [weak, 1, -1])[1]).toEqual(okX());
  });
});

describe("vcpu_poweron / register_write / kill / poweroff", () => {
  it("poweron sets PC and X0; a second poweron ⇒ BUSY", () => {
    const t = guest(sv);
    expect(t.power).toBe("ON");
    expect([readReg(t.cpu, 33), readReg(t.cpu, 0)]).toEqual([BigInt(VM1.ipa), 0n]);
    expect(hvc(sv, "vcpu_poweron", [vm.vcpu, 0, 0, 0])[1]).toEqual(errX("BUSY"));
    expect(hvc(sv, "vcpu_poweron", [vm.vcpu, 0, 0, 4])[1]).toEqual(errX("ARGUMENT_INVALID"));
  });
  it("register_write needs the vCPU off; checks set, index and alignment", () => {
    expect(hvc(sv, "vcpu_register_write", [vm.vcpu, 0, 1, 5])[1]).toEqual(errX("BUSY"));
    const [s, fresh] = buildVm(s0);
    const c = fresh.vcpu;
    expect(hvc(s, "vcpu_register_write", [c, 0, 31, 5])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(s, "vcpu_register_write", [c, 1, 0, 6])[1]).toEqual(errX("ARGUMENT_ALIGNMENT"));
    expect(hvc(s, "vcpu_register_write", [c, 2, 1, 8])[1]).toEqual(errX("ARGUMENT_ALIGNMENT"));
    expect(hvc(s, "vcpu_register_write", [c, 3, 0, 0])[1]).toEqual(errX("ARGUMENT_INVALID"));
    const [s2, o] = hvc(s, "vcpu_register_write", [c, 0, 3, 0xabc]);
    expect(o).toEqual(okX());
    expect(readReg(guest(s2).cpu, 3)).toBe(0xabcn);
  });
  it("kill of an activated, never-started vCPU is OK: it is READY from activation (GH:hyp/core/thread_standard/src/thread.c:128, 208-229)", () => {
    const [s, fresh] = buildVm(s0);
    const [s1, o] = hvc(s, "vcpu_kill", [fresh.vcpu]);
    expect(o).toEqual(okX());
    expect(guest(s1).threadState).toBe("KILLED"); // proxy-scheduled: it unwinds in the next vcpu_run
  });
  it("a killed proxy vCPU is BLOCKED until it exits: run_check BUSY, vcpu_run runs it to POWERED_OFF exited (GH:hyp/vm/vcpu_run/src/vcpu_run.c:84-88, 197-199)", () => {
    const [s2] = must(sv, "vcpu_kill", [vm.vcpu]);
    expect(guest(s2).threadState).toBe("KILLED");
    expect(hvc(s2, "vcpu_kill", [vm.vcpu])[1]).toEqual(okX());
    expect(hvc(s2, "vcpu_run_check", [vm.vcpu])[1]).toEqual(errX("BUSY"));
    const [s3, o] = hvc(s2, "vcpu_run", [vm.vcpu, 0, 0, 0, 0]);
    expect(o).toEqual(okX(2, 1, 0, 0)); // POWERED_OFF, exited
    expect(guest(s3).threadState).toBe("EXITED");
    expect(hvc(s3, "vcpu_run_check", [vm.vcpu])[1]).toEqual(okX(2, 1, 0, 0));
    // Powering a killed or exited vCPU that is off: FAILURE (GH:hyp/vm/vcpu/aarch64/src/aarch64_init.c:369-371).
    const [s4, fresh] = buildVm(s0);
    const [s5] = must(s4, "vcpu_kill", [fresh.vcpu]);
    expect(hvc(s5, "vcpu_poweron", [fresh.vcpu, 0, 0, 0])[1]).toEqual(errX("FAILURE"));
    // ...and the flags are checked before the cap lookup (hypercalls.c:225-228).
    expect(hvc(s5, "vcpu_poweron", [0xdead, 0, 0, 4])[1]).toEqual(errX("ARGUMENT_INVALID"));
  });
  it("poweroff only for the caller itself", () => {
    expect(hvc(sv, "vcpu_poweroff", [vm.vcpu, 0])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(s0, "vcpu_poweroff", [RMV, 0])[1]).toEqual(errX("DENIED")); // it is the last vCPU of VM 255
  });
});

describe("vcpu_run (0x65): proxy scheduling", () => {
  it("a non-proxy vCPU, or a vCPU already running ⇒ BUSY", () => {
    const [s, v2] = buildVm(s0, { proxy: false, powerOn: true, affinity: 1 });
    expect(hvc(s, "vcpu_run", [v2.vcpu, 0, 0, 0, 0])[1]).toEqual(errX("BUSY"));
    const s2 = enter(sv, vm.vcpu);
    expect(guest(s2).entered).toBe(true);
    expect(() => hvc(s2, "vcpu_run", [vm.vcpu, 0, 0, 0, 0])).toThrow(/not running/); // the RM yielded its CPU
  });
  it("WFI → EXPECTS_WAKEUP (WFI); run_check reports it; a powered-off vCPU → POWERED_OFF", () => {
    let s = enter(sv, vm.vcpu);
    [s] = step(s, { kind: "vcpu_wfi", vm: 1, vcpu: 0 });
    expect(hvc(s, "vcpu_run", [vm.vcpu, 0, 0, 0, 0])[1]).toEqual(okX(1, 0, 1, 0));
    expect(hvc(s, "vcpu_run_check", [vm.vcpu])[1]).toEqual(okX(1, 0, 1, 0));
    expect(hvc(sv, "vcpu_run_check", [vm.vcpu])[1]).toEqual(errX("BUSY"));
    const [off, fresh] = buildVm(s0);
    expect(hvc(off, "vcpu_run", [fresh.vcpu, 0, 0, 0, 0])[1]).toEqual(okX(2, 0, 0, 0));
  });
  it("VMMIO read: exit, then the resume data lands in the destination register and PC advances", () => {
    let s = enter(sv, vm.vcpu);
    [s] = step(s, { kind: "stage2_fault", vm: 1, vcpu: 0, ipa: 0x0a00_0010, access: "read", sizeBytes: 2, reg: 3 });
    let o;
    [s, o] = hvc(s, "vcpu_run", [vm.vcpu, 0, 0, 0, 0]);
    expect(o).toEqual(okX(4, 0x0a00_0010, 2, 0));
    const pc = readReg(guest(s).cpu, 33);
    [s] = hvc(s, "vcpu_run", [vm.vcpu, 0x12345, 0, 0, 0]);
    expect(readReg(guest(s).cpu, 3)).toBe(0x2345n);
    expect(readReg(guest(s).cpu, 33)).toBe(pc + 4n);
  });
  it("a forced system reset is reported as PSCI_SYSTEM_RESET", () => {
    let s = enter(sv, vm.vcpu);
    [s] = step(s, { kind: "smccc_call", vm: 1, vcpu: 0, conduit: "smc", args: [0x8400_0009n] });
    expect(hvc(s, "vcpu_run", [vm.vcpu, 0, 0, 0, 0])[1]).toEqual(okX(0x100, 1n << 63n, 0, 0));
  });
});

describe("scheduler: FPRR and accounting", () => {
  it("a ready vCPU on the RM's CPU at equal priority waits (stolen) until the RM's slice ends", () => {
    let [s, v2] = buildVm(s0, { proxy: false, affinity: 0 });
    [s] = must(s, "vcpu_poweron", [v2.vcpu, VM1.ipa, 0, 0]);
    const t0 = s.t;
    [s] = step(s, { kind: "timer_tick", t: t0 + 5 * MS });
    expect(s.sched.cpus[0]!.current).toBe(guest(s).id);
    expect(guest(s).acct.stolenNs).toBe(5 * MS);
    [s] = step(s, { kind: "timer_tick", t: t0 + 10 * MS });
    expect(s.sched.cpus[0]!.current).toBe(4);
    const a = guest(s).acct;
    expect(a.runNs + a.stolenNs + a.idleNs + (s.t - a.since)).toBe(s.t - a.activatedAt);
  });
  it("scheduler_yield: bit31 or hint 2 ⇒ ARGUMENT_INVALID; hint 0 gives up the slice", () => {
    expect(hvc(s0, "scheduler_yield", [0x8000_0000, 0])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(s0, "scheduler_yield", [2, 0])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(s0, "scheduler_yield", [0, 0])[1]).toEqual(okX());
  });
});
