import { describe, expect, it } from "vitest";
import { boot, buildVm, enter, hvc, must, rootCaps, step, VM1 } from "../hyp/testkit.ts";

const s0 = boot();
const [sv, vm] = buildVm(s0, { powerOn: true });
const se = enter(sv, vm.vcpu);
const fault = (s: typeof s0, ipa: number, access: "read" | "write" | "exec", extra: object = {}) =>
  step(s, { kind: "stage2_fault", vm: 1, vcpu: 0, ipa, access, sizeBytes: 4, ...extra });

describe("stage2_fault resolution (reference §5.4)", () => {
  it("forwards an access in a VMMIO range of a proxy-scheduled vCPU", () => {
    const [s, o] = fault(se, 0x0a00_0100, "write", { value: 0x1_2345_6789n });
    expect(o).toEqual({ resolution: "vmmio", state: "ADDRSPACE_VMMIO_WRITE" });
    expect(hvc(s, "vcpu_run", [vm.vcpu, 0, 0, 0, 0])[1]).toEqual({ x: [0n, 5n, 0x0a00_0100n, 4n, 0x2345_6789n] });
  });
  it("injects a synchronous external abort for unmapped memory, and for a permission fault", () => {
    expect(fault(se, 0x7000_0000, "read")[1]).toEqual({ resolution: "abort", fault: "translation", injected: "synchronous_external_abort" });
    expect(fault(se, 0x0a00_0100, "exec")[1]).toEqual({ resolution: "abort", fault: "translation", injected: "synchronous_external_abort" });
    const [s] = must(sv, "addrspace_update_access", [vm.as, vm.me, VM1.ipa, 0x55, 0, 0, 0]);
    expect(fault(enter(s, vm.vcpu), VM1.ipa + 8, "write")[1]).toEqual({ resolution: "abort", fault: "permission", injected: "synchronous_external_abort" });
  });
  it("halts a non-critical vCPU in FAULT for other fault kinds; vcpu_run reports FAULT", () => {
    const [s, o] = fault(se, 0x7000_0000, "read", { fsc: "access_flag" });
    expect(o).toEqual({ resolution: "fault", fsc: "access_flag" });
    expect(hvc(s, "vcpu_run", [vm.vcpu, 0, 0, 0, 0])[1]).toEqual({ x: [0n, 6n, 0n, 0n, 0n] });
  });
  it("a fault the stage-2 satisfies, or from a vCPU that is not running, is a trace error with its index", () => {
    expect(() => fault(se, VM1.ipa, "read")).toThrow(/event \d+ \(stage2_fault\) cannot happen here: the stage-2 of VM 1 maps IPA 0x40000000/);
    expect(() => fault(sv, 0x7000_0000, "read")).toThrow(/not running/);
  });
});

describe("guest_access", () => {
  it("names the physical page and its owner", () => {
    const [, o] = step(se, { kind: "guest_access", vm: 1, vcpu: 0, ipa: VM1.ipa + 0x10, access: "write", sizeBytes: 8 });
    const me = se.objects.byId[3]!;
    const id = me.type === "cspace" ? me.caps[Number(vm.me)]!.object : 0;
    expect(o).toEqual({ pa: VM1.ram + 0x10, owner: { type: "EXTENT", id }, memextent: id });
  });
  it("is a trace error when the stage-2 would fault", () => {
    expect(() => step(se, { kind: "guest_access", vm: 1, vcpu: 0, ipa: 0x7000_0000, access: "read", sizeBytes: 8 })).toThrow(/does not allow read/);
  });
});

describe("smccc_call: PSCI and Gunyah calls through SMCCC IDs", () => {
  it("PSCI_VERSION 1.1, SMCCC 1.3, the Gunyah UID, unknown IDs ⇒ -1 (a handled call writes X0-X3: GH:hyp/vm/smccc/aarch64/src/smccc_64.c:84-119)", () => {
    const c = (fid: number, x1 = 0n) => step(se, { kind: "smccc_call", vm: 1, vcpu: 0, conduit: "hvc", args: [BigInt(fid), x1] })[1];
    expect(c(0x8400_0000, 0x1_2345_6789n)).toEqual({ x: [0x1_0001n, 0x2345_6789n, 0n, 0n] }); // 32-bit: X1 comes back truncated
    expect(c(0x8000_0000)).toEqual({ x: [0x1_0003n, 0n, 0n, 0n] });
    expect(c(0x8600_ff01)).toEqual({ x: [0xcd8fd5c1n, 0xdb5f53a4n, 0x36ce6592n, 0x145f3d67n] });
    expect(c(0x8400_0033)).toEqual({ x: [0xffff_ffff_ffff_ffffn] });
    expect(c(0x8600_8000)).toEqual({ x: [0xffff_ffff_ffff_ffffn] }); // hypercall class but not SMC64
  });
  it("0xC6008000 + N runs hypercall N with inputs from X1", () => {
    const { partition: P, cspace: CS } = rootCaps(s0);
    const [, o] = step(s0, { kind: "smccc_call", vm: 255, vcpu: 0, conduit: "smc", args: [0xc600_8006n, BigInt(P), BigInt(CS)] });
    expect(o).toEqual({ x: [0n, 38n] });
  });
  it("CPU_OFF powers the caller off; vcpu_run then reports POWERED_OFF", () => {
    const [s] = step(se, { kind: "smccc_call", vm: 1, vcpu: 0, conduit: "smc", args: [0x8400_0002n] });
    expect(hvc(s, "vcpu_run", [vm.vcpu, 0, 0, 0, 0])[1]).toEqual({ x: [0n, 2n, 0n, 0n, 0n] });
  });
});
