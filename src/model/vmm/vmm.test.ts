import { readReg } from "../../cpu/index.ts";
import { describe, expect, it } from "vitest";
import { mutableCopy } from "../../core/reducer.ts";
import { hvModel, DEFAULT_PLATFORM, type Machine } from "../machine.ts";
import type { HypEvent } from "../events.ts";
import { hostSetup, guestInitDevice, LAYOUT, type HostVm, type Steps } from "../../sim/builtin/vm-common.ts";
import { REG, STATUS } from "../virtio/regs.ts";
import type { Outcome } from "../../core/event.ts";
import { hostCreate, hostStart } from "../../sim/lib/host.ts";
import { DEFAULT_VM_PLAN } from "../../sim/lib/vm-plan.ts";
import { rmMessageId } from "../abi/rm.ts";

/** Runs a step generator through the fast path; returns the state and every outcome. */
function drive(steps: Steps, s: Machine = mutableCopy(hvModel.genesis({ platform: DEFAULT_PLATFORM }))) {
  const outs: Outcome[] = [];
  let r = steps.next(undefined as never);
  while (r.done !== true) {
    const out = hvModel.apply(s, { ...r.value, seq: s.seq + 1, t: s.t + 1000 } as HypEvent);
    outs.push(out);
    r = steps.next(out);
  }
  return { s, outs };
}
function* one(p: unknown): Steps {
  yield p as never;
}
const apply = (s: Machine, p: unknown) => hvModel.apply(s, { ...(p as object), seq: s.seq + 1, t: s.t + 1000 } as HypEvent);

describe("host VMM ioctls", () => {
  it("check their arguments as the driver does", () => {
    const vm: HostVm = { fd: 0, vmid: 0 };
    const { s } = drive(one({ kind: "vmm_ioctl", op: "CREATE_VM" }));
    vm.fd = 3;
    const region = { kind: "vmm_ioctl", op: "SET_USER_MEM_REGION", fd: 3, label: 0, flags: 7, guestPhysAddr: 0x8000_0000, memorySize: 0x10_0000, userspaceAddr: 0x9000_0000 };
    expect(apply(s, { ...region, memorySize: 0x123 })).toEqual({ ret: -22, rm: [] });
    expect(apply(s, { ...region, userspaceAddr: 0x10_0000 })).toEqual({ ret: -14, rm: [] }); // not host RAM
    expect(apply(s, region)).toEqual({ ret: 0, rm: [] });
    expect(apply(s, { ...region, label: 1 })).toEqual({ ret: -17, rm: [] }); // overlapping guest range
    expect(apply(s, { kind: "vmm_ioctl", op: "VCPU_RUN", fd: 3, vcpu: 0 })).toEqual({ ret: -19, rm: [] });
    expect(apply(s, { kind: "vmm_ioctl", op: "START", fd: 3 })).toEqual({ ret: -22, rm: [] }); // no DTB yet
    expect(() => apply(s, { kind: "vmm_ioctl", op: "START", fd: 9 })).toThrow(/fd 9 is not a VM fd/);
  });

  it("an all-lent VM: the device cannot reach its rings and asks for a reset", () => {
    function* lentOnly(): Steps {
      const vm: HostVm = { fd: 0, vmid: 0 };
      yield* hostSetup(vm);
      yield* guestInitDevice(vm.vmid, LAYOUT.blockBase, 0, 1);
    }
    // Same setup, but the "shared" region is lent instead.
    const steps = lentOnly();
    const s = mutableCopy(hvModel.genesis({ platform: DEFAULT_PLATFORM }));
    let r = steps.next(undefined as never);
    while (r.done !== true) {
      const p = r.value as { op?: string };
      const ev = p.op === "SET_USER_MEM_REGION" ? { ...p, op: "ANDROID_LEND_USER_MEM" } : p;
      r = steps.next(apply(s, ev));
    }
    // The guest's notify: a stage-2 fault forwarded as a VMMIO write, which the ioeventfd takes in the kernel.
    expect(apply(s, { kind: "stage2_fault", vm: 0x80, vcpu: 0, ipa: LAYOUT.blockBase + REG.QueueNotify, access: "write", sizeBytes: 4, value: 0n })).toEqual({ resolution: "vmmio", state: "ADDRSPACE_VMMIO_WRITE" });
    expect(apply(s, { kind: "vmm_ioctl", op: "VCPU_RUN", vm: 0x80, vcpu: 0 })).toMatchObject({ ret: 0, exit: "IOEVENTFD", physAddr: LAYOUT.blockBase + REG.QueueNotify, state: "READY" });
    const out = apply(s, { kind: "vmm_mmio", vm: 0x80, vcpu: 0 });
    expect(out).toMatchObject({ exit: "IOEVENTFD", irq: { vm: 0x80, spi: 33 }, pending: true, note: "q0: DEVICE_NEEDS_RESET (avail ring out of the device's reach)" });
    // The guest reads Status: fault, MMIO exit to crosvm, its bus answers, the next VCPU_RUN loads the value.
    apply(s, { kind: "stage2_fault", vm: 0x80, vcpu: 0, ipa: LAYOUT.blockBase + REG.Status, access: "read", sizeBytes: 4 });
    expect(apply(s, { kind: "vmm_ioctl", op: "VCPU_RUN", vm: 0x80, vcpu: 0 })).toMatchObject({ exit: "MMIO", isWrite: false, physAddr: LAYOUT.blockBase + REG.Status });
    expect(apply(s, { kind: "vmm_mmio", vm: 0x80, vcpu: 0 })).toMatchObject({ value: 0x4f });
    expect(apply(s, { kind: "vmm_ioctl", op: "VCPU_RUN", vm: 0x80, vcpu: 0 })).toMatchObject({ exit: "none", state: "READY" });
    const t = s.objects.byId[s.vms[0x80]!.vcpus[0]!] as unknown as { cpu: import("../../cpu/index.ts").CpuState };
    expect(readReg(t.cpu, 0)).toBe(0x4fn);
    expect(STATUS.DEVICE_NEEDS_RESET | 0xf).toBe(0x4f);
  });

  it("guest halt through PSCI: the vCPU's SMC powers it off, the host's VCPU_RUN sees it and the RM exits the VM", () => {
    const notes = (o: Outcome) => (o.rmNotify as { to: number; msg: string }[]).map((n) => [n.to, n.msg]);
    // The RM's vcpu_halt_callback (RM:src/vm_mgnt/vm_mgnt.c:2096-2183): exit_flags 0 except bit 15
    // for the 64-bit SYSTEM_RESET2 (:2143-2145); no RESTART flag; exit code NORMAL (0) without a crash message.
    const cases = [
      { args: [0x8400_0008n], state: "POWERED_OFF", halt: "PSCI_SYSTEM_OFF", exitType: 1, reason: [0] },
      { args: [0x8400_0009n], state: "PSCI_SYSTEM_RESET", halt: "PSCI_SYSTEM_RESET", exitType: 2, reason: [0] },
      // SYSTEM_RESET2 (64-bit), reset_type 5, cookie 0x1_0000_0002: bit 15, then type, cookie lo, hi.
      { args: [0xc400_0012n, 5n, 0x1_0000_0002n], state: "PSCI_SYSTEM_RESET", halt: "PSCI_SYSTEM_RESET2", exitType: 3, reason: [0x8000, 5, 2, 1] },
      // The 32-bit call: the cookie truncated to 32 bits, no flag.
      { args: [0x8400_0012n, 5n, 0x1_0000_0002n], state: "PSCI_SYSTEM_RESET", halt: "PSCI_SYSTEM_RESET2", exitType: 3, reason: [0, 5, 2, 0] },
    ];
    for (const c of cases) {
      const vm: HostVm = { fd: 0, vmid: 0 };
      const { s } = drive(hostSetup(vm));
      expect(apply(s, { kind: "smccc_call", vm: 0x80, vcpu: 0, conduit: "hvc", args: c.args })).toEqual({ x: [] }); // does not return
      // HYP's part only: the RM has not been told yet, the vCPU is off and out of vcpu_run.
      expect(s.rm.vms.byId[0x80]!.status).toBe("RUNNING");
      expect(s.objects.byId[s.vms[0x80]!.vcpus[0]!]).toMatchObject({ power: "OFF", entered: false });
      const o = apply(s, { kind: "vmm_ioctl", op: "VCPU_RUN", vm: 0x80, vcpu: 0 });
      expect({ ...o, rmNotify: notes(o) }).toEqual({ ret: 0, rm: [], exit: "STATUS", status: 2, exitType: c.exitType, reason: c.reason, state: c.state, halt: c.halt, rmNotify: [[3, "NOTIFY_VM_STATUS"], [3, "NOTIFY_VM_EXITED"]] });
      expect(s.rm.vms.byId[0x80]).toMatchObject({ status: "EXITED", exit: { type: c.exitType, reason: c.reason } });
      // The next VCPU_RUN finds the VM EXITED at entry: the same STATUS, no RM work.
      expect(apply(s, { kind: "vmm_ioctl", op: "VCPU_RUN", vm: 0x80, vcpu: 0 })).toEqual({ ret: 0, rm: [], exit: "STATUS", status: 2, exitType: c.exitType, reason: c.reason });
    }
  });

  it("the RM acts on the first vCPU halt VIRQ, not once every vCPU is down (RM:src/vm_mgnt/vm_mgnt.c:2096-2183 vcpu_halt_callback)", () => {
    const vm: HostVm = { fd: 0, vmid: 0 };
    const { s } = drive((function* () {
      yield* hostCreate(vm, { ...DEFAULT_VM_PLAN, vcpus: 2 });
      yield* hostStart(vm);
    })());
    // vCPU 0 powers on vCPU 1 (PSCI CPU_ON, MPIDR 1), which faults: its halt VIRQ goes up while vCPU 0 still runs.
    expect((apply(s, { kind: "smccc_call", vm: 0x80, vcpu: 0, conduit: "hvc", args: [0xc400_0003n, 1n, 0x8000_0000n, 0n] }).x as bigint[])[0]).toBe(0n); // PSCI SUCCESS
    expect(apply(s, { kind: "vmm_ioctl", op: "VCPU_RUN", vm: 0x80, vcpu: 1 })).toMatchObject({ exit: "none", state: "READY" });
    expect(apply(s, { kind: "stage2_fault", vm: 0x80, vcpu: 1, ipa: 0x7000_0000, access: "read", sizeBytes: 4, fsc: "ADDRESS_SIZE" })).toEqual({ resolution: "fault", fsc: "ADDRESS_SIZE" });
    const [t0, t1] = s.rm.hv!.vms[0x80]!.vcpus.map((id) => s.objects.byId[id] as { power: string; threadState: string });
    expect(t0!.power).toBe("ON");
    // FAULT: SOFTWARE_ERROR, flags 0, code NORMAL; the RM's exit then kills and reaps both vCPUs.
    expect(apply(s, { kind: "vmm_ioctl", op: "VCPU_RUN", vm: 0x80, vcpu: 1 })).toMatchObject({ exit: "STATUS", exitType: 5, reason: [0], state: "FAULT", halt: "VCPU_FAULT" });
    expect([t0!.threadState, t1!.threadState]).toEqual(["EXITED", "EXITED"]);
  });

  it("a crash message makes the exit code SOFTWARE_ERROR for a PSCI power-off too (RM:src/vm_mgnt/vm_mgnt.c:2116-2120)", () => {
    const vm: HostVm = { fd: 0, vmid: 0 };
    const { s } = drive(hostSetup(vm));
    const msg = apply(s, { kind: "rm_request", vm: 0x80, msgId: rmMessageId("VM_SET_CRASH_MSG"), rpcSeq: 1, payload: Uint8Array.of(3, 0, 0, 0, 0x62, 0x61, 0x64, 0) });
    expect(msg.err).toBe("OK");
    apply(s, { kind: "smccc_call", vm: 0x80, vcpu: 0, conduit: "hvc", args: [0x8400_0008n] });
    expect(apply(s, { kind: "vmm_ioctl", op: "VCPU_RUN", vm: 0x80, vcpu: 0 })).toMatchObject({ exit: "STATUS", exitType: 1, reason: [0x1_0000] });
  });

  it("START lends 1100 scattered pages as MEM_LEND (APPEND, 512), MEM_APPEND (512) and MEM_APPEND (76, DONE) (Linux rsc_mgr_rpc.c gh_rm_mem_lend_common, gh_rm_mem_append)", () => {
    const pages = 1100;
    const big = { label: 2, gpa: 0x8200_0000, host: 0xa000_0000, size: pages * 0x1000, backing: Array.from({ length: pages }, (_, i) => ({ addr: 0xa000_0000 + 2 * i * 0x1000, size: 0x1000 })) };
    const vm: HostVm = { fd: 0, vmid: 0 };
    const { s, outs } = drive((function* () {
      yield* hostCreate(vm, { ...DEFAULT_VM_PLAN, lent: [big] });
      yield* hostStart(vm);
    })());
    const start = outs.find((o) => (o.rm as { msg: string }[] | undefined)?.some((r) => r.msg === "VM_START"))!;
    expect((start.rm as { msg: string; err: string }[]).slice(2, 5).map((r) => [r.msg, r.err])).toEqual([["MEM_LEND", "OK"], ["MEM_APPEND", "OK"], ["MEM_APPEND", "OK"]]);
    const parcel = s.rm.parcels.ids.map((h) => s.rm.parcels.byId[h]!).find((p) => p.label === 2)!;
    expect(parcel.regions.map((r) => r.pa)).toEqual(big.backing.map((b) => b.addr));
    // A backing list that does not cover the region, or is not page-aligned, is the driver's EINVAL.
    const { s: s2 } = drive(one({ kind: "vmm_ioctl", op: "CREATE_VM" }));
    const region = { kind: "vmm_ioctl", op: "ANDROID_LEND_USER_MEM", fd: 3, label: 2, flags: 7, guestPhysAddr: 0x8200_0000, memorySize: 0x2000, userspaceAddr: 0xa000_0000 };
    expect(apply(s2, { ...region, backing: [{ addr: 0xa000_0000, size: 0x1000 }] })).toEqual({ ret: -22, rm: [] });
    expect(apply(s2, { ...region, backing: [{ addr: 0xa000_0800, size: 0x2000 }] })).toEqual({ ret: -22, rm: [] });
    expect(apply(s2, { ...region, backing: [{ addr: 0x10_0000, size: 0x2000 }] })).toEqual({ ret: -14, rm: [] }); // not host RAM
    expect(apply(s2, { ...region, backing: [{ addr: 0xa000_0000, size: 0x1000 }, { addr: 0xa000_2000, size: 0x1000 }] })).toEqual({ ret: 0, rm: [] });
  });

  it("a 64-bit MMIO write reaches crosvm with all 64 bits: the run page's data is u8[8] (reference §7.4)", () => {
    const vm: HostVm = { fd: 0, vmid: 0 };
    const { s } = drive(hostSetup(vm));
    apply(s, { kind: "stage2_fault", vm: 0x80, vcpu: 0, ipa: LAYOUT.blockBase + 0x100, access: "write", sizeBytes: 8, value: 0x1234_5678_9abc_def0n });
    expect(apply(s, { kind: "vmm_ioctl", op: "VCPU_RUN", vm: 0x80, vcpu: 0 })).toMatchObject({ exit: "MMIO", isWrite: true, len: 8, data: 0x1234_5678_9abc_def0n });
  });

  it("guest events that cannot happen are trace errors", () => {
    const vm: HostVm = { fd: 0, vmid: 0 };
    const { s } = drive(hostSetup(vm));
    expect(() => apply(s, { kind: "stage2_fault", vm: 0x80, vcpu: 0, ipa: LAYOUT.imageGpa, access: "read", sizeBytes: 4 })).toThrow(/maps IPA 0x80000000 with read access: no fault/);
    expect(() => apply(s, { kind: "vm_mem_write", vm: 0x80, ipa: 0x4000_0000, data: new Uint8Array(4) })).toThrow(/the store would fault/);
    expect(() => apply(s, { kind: "stage2_fault", vm: 0x80, vcpu: 1, ipa: LAYOUT.blockBase, access: "read", sizeBytes: 4 })).toThrow(/VM 128 has no vCPU 1/);
    expect(() => apply(s, { kind: "rm_vm_halt", vm: 0x81, vcpu: 0, cause: "PSCI_SYSTEM_OFF" })).toThrow(/VM 129 is not RUNNING/);
    expect(() => apply(s, { kind: "vmm_mmio", vm: 0x80, vcpu: 0 })).toThrow(/no MMIO exit or ioeventfd write/);
    apply(s, { kind: "stage2_fault", vm: 0x80, vcpu: 0, ipa: 0x0b00_0000, access: "read", sizeBytes: 4 });
    apply(s, { kind: "vmm_ioctl", op: "VCPU_RUN", vm: 0x80, vcpu: 0 });
    expect(apply(s, { kind: "vmm_mmio", vm: 0x80, vcpu: 0 })).toMatchObject({ exit: "MMIO", note: "no device", value: 0 });
  });
});
