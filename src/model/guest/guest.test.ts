import { produce } from "immer";
import { describe, expect, it } from "vitest";
import { assemble } from "../../../test/cpu/asm.ts";
import { reduce } from "../../core/reducer.ts";
import { stateHash } from "../../core/hash.ts";
import { REG_PC, readReg } from "../../cpu/index.ts";
import { GIC, PSCI_VERSION_VALUE } from "../abi/constants.ts";
import { HYP_API_FLAGS0, HYP_API_INFO } from "../hyp/identify.ts";
import { VM1, boot, buildVm, enter, hvc, step, xs } from "../hyp/testkit.ts";
import { hvModel, type Machine } from "../machine.ts";
import { readPhys, labelOf, writePhys } from "../rm/content.ts";
import type { ThreadObject } from "../vcpu/state.ts";

/** Real guest code under the hypervisor: `vcpu_exec` runs VM 1's vCPU on the CPU. */

function withCode(s: Machine, source: string, at = 0): Machine {
  return produce(s, (d) => {
    writePhys(d, VM1.ram + at, assemble(source), "vm1");
  });
}

function guest(s: Machine): ThreadObject {
  return s.objects.byId[s.vms[VM1.vmid]!.vcpus[0]!] as ThreadObject;
}
const x = (s: Machine, n: number): bigint => readReg(guest(s).cpu, n);
const pc = (s: Machine): bigint => readReg(guest(s).cpu, REG_PC);

/** VM 1 with one vCPU on CPU 1 (not proxy-scheduled), powered on at the start of its RAM, running `source`. */
function running(source: string): Machine {
  const [s] = buildVm(boot(), { proxy: false, powerOn: true, affinity: 1 });
  return withCode(s, source);
}

function exec(s: Machine, budget: number, t?: number): [Machine, Record<string, unknown>] {
  return step(s, { kind: "vcpu_exec", vm: VM1.vmid, vcpu: 0, budget, ...(t === undefined ? {} : { t }) }) as [Machine, Record<string, unknown>];
}

describe("vcpu_exec", () => {
  it("runs until a hypercall; Gunyah's answer lands in X0.. and the guest continues after the HVC", () => {
    let s = running(`
      mov x5, #3
      add x5, x5, #4
      hvc #0x6000
      mov x6, x0
      hvc #0x6000`);
    const t0 = s.t;
    let o;
    [s, o] = exec(s, 1000);
    expect(o).toEqual({ retired: 3, pc: VM1.ipa + 8, insn: 0xd40c0002, after: "running", exit: { kind: "hvc", imm: 0x6000, call: "hypervisor_identify", x: [HYP_API_INFO, HYP_API_FLAGS0, 0n, 0n] } });
    expect(x(s, 0)).toBe(HYP_API_INFO);
    expect(x(s, 5)).toBe(7n);
    expect(s.t).toBe(t0 + 3);
    expect(s.hypercallCounts["0x00"]).toBe(1);
    [s, o] = exec(s, 1000);
    expect(o.retired).toBe(2);
    expect(x(s, 6)).toBe(HYP_API_INFO);
  });

  it("HVC #0 is an SMCCC call (PSCI_VERSION); an HVC outside Gunyah's table answers -1", () => {
    let s = running(`
      movz w0, #0x8400, lsl #16
      hvc #0
      hvc #0x1234`);
    [s] = exec(s, 100);
    expect(x(s, 0)).toBe(BigInt(PSCI_VERSION_VALUE));
    let o;
    [s, o] = exec(s, 100);
    expect(o.exit).toEqual({ kind: "hvc", imm: 0x1234, x: [0xffffffffffffffffn] });
    expect(x(s, 0)).toBe(0xffffffffffffffffn);
  });

  it("stops at exactly its budget, and time advances one nanosecond per instruction", () => {
    let s = running("1: add x1, x1, #1\nb 1b");
    const t0 = s.t;
    let o;
    [s, o] = exec(s, 1001);
    expect(o).toMatchObject({ retired: 1001, exit: { kind: "budget" } });
    expect(x(s, 1)).toBe(501n);
    expect(s.t).toBe(t0 + 1001);
    expect(() => exec(s, 10, t0 + 5)).toThrow(/before t=/);
    expect(() => exec(s, 0)).toThrow(/budget 0 is not an instruction count/);
  });

  it("guest stores are real bytes in the VM's memory, labelled as the VM's data", () => {
    let s = running(`
      movz x1, #0x4000, lsl #16
      movz x2, #0xbeef
      str x2, [x1, #0x800]
      ldr x13, [x1, #0x800]
      hvc #0x6000`);
    [s] = exec(s, 100);
    expect(x(s, 13)).toBe(0xbeefn);
    expect(readPhys(s, VM1.ram + 0x800, 2)).toEqual(Uint8Array.of(0xef, 0xbe));
    expect(labelOf(s, VM1.ram + 0x800)).toBe("vm1");
  });

  it("an access nothing claims injects a synchronous external abort into the guest's EL1", () => {
    let s = running(`
      movz x9, #0x4000, lsl #16
      add x9, x9, #0x800
      msr vbar_el1, x9
      movz x1, #0x5000, lsl #16
      ldr w2, [x1]`);
    let o;
    [s, o] = exec(s, 100);
    expect(o.exit).toEqual({ kind: "stage2_fault", ipa: 0x5000_0000, access: "read", sizeBytes: 4, value: 0n, iss: 0x1820000, resolution: "abort", fault: "translation", injected: "synchronous_external_abort" });
    const c = guest(s).cpu;
    expect(c.sys.esr_el1).toBe((0x25n << 26n) | (1n << 25n) | 0x10n);
    expect(c.sys.far_el1).toBe(0x5000_0000n);
    expect(c.sys.elr_el1).toBe(BigInt(VM1.ipa + 16));
    expect(pc(s)).toBe(BigInt(VM1.ipa + 0x800 + 0x200));
  });

  it("a GICD read is emulated at EL2: the register gets its value and the guest goes on", () => {
    let s = running(`
      movz x1, #0x800, lsl #16
      ldr w2, [x1, #4]
      hvc #0x6000`);
    let o;
    [s, o] = exec(s, 100);
    expect(o.exit).toMatchObject({ kind: "stage2_fault", ipa: GIC.GICD_BASE + 4, resolution: "emulated" });
    // GICD_TYPER: ITLinesNumber for the VIC's 64 SPIs, CPUNumber 0.
    expect(x(s, 2)).toBe(BigInt((o.exit as { value: bigint }).value));
    expect(pc(s)).toBe(BigInt(VM1.ipa + 8));
  });

  it("an MMIO read in the VMMIO range waits for the VMM; vcpu_run's resume data completes it", () => {
    let [s, vm] = buildVm(boot(), { proxy: true, powerOn: true });
    s = withCode(s, `
      movz x1, #0xa00, lsl #16
      ldrh w3, [x1, #0x10]
      hvc #0x6000`);
    s = enter(s, vm.vcpu);
    let o;
    [s, o] = exec(s, 100);
    expect(o.exit).toMatchObject({ kind: "stage2_fault", ipa: 0x0a00_0010, sizeBytes: 2, resolution: "vmmio", state: "ADDRSPACE_VMMIO_READ" });
    [s, o] = hvc(s, "vcpu_run", [vm.vcpu, 0, 0, 0, 0]);
    expect(xs(o)).toEqual([0n, 4n, 0x0a00_0010n, 2n, 0n]);
    [s, o] = hvc(s, "vcpu_run", [vm.vcpu, 0x12345, 0, 0, 0]);
    expect(x(s, 3)).toBe(0x2345n);
    expect(pc(s)).toBe(BigInt(VM1.ipa + 8));
  });

  it("WFI blocks; the virtual timer's IRQ wakes the vCPU and is taken at the next instruction", () => {
    // The vGIC up as Linux brings it up: distributor group 1 on, this CPU's redistributor awake,
    // PPI 27 enabled (each an access emulated at EL2), then the CPU interface.
    let s = running(`
      movz x9, #0x4000, lsl #16
      add x9, x9, #0x800
      msr vbar_el1, x9
      movz x1, #0x800, lsl #16
      mov w2, #2
      str w2, [x1]
      movz x1, #0x80a, lsl #16
      str wzr, [x1, #0x14]
      add x1, x1, #0x10, lsl #12
      mov w2, #0x8000000
      str w2, [x1, #0x100]
      mov x2, #1
      msr icc_igrpen1_el1, x2
      mov x2, #0xf0
      msr icc_pmr_el1, x2
      mov x0, #100
      msr cntv_tval_el0, x0
      mov x0, #1
      msr cntv_ctl_el0, x0
      msr daifclr, #2
      wfi
      nop`);
    s = withCode(s, "mrs x17, icc_iar1_el1\nhvc #0x6000", 0x800 + 0x280);
    let o;
    for (let k = 0; k < 3; k++) {
      [s, o] = exec(s, 100);
      expect(o.exit).toMatchObject({ kind: "stage2_fault", resolution: "emulated" });
    }
    [s, o] = exec(s, 100);
    expect(o.exit).toEqual({ kind: "wfi", blocked: true });
    expect(guest(s).wfi).toBe(true);
    // CVAL = CNTVCT + 100 ticks at 62.5 MHz = 1600 ns after the write.
    [s, o] = step(s, { kind: "timer_tick", t: s.t + 2000 });
    expect(guest(s).wfi).toBe(false);
    [s, o] = exec(s, 100);
    expect(o.exit).toMatchObject({ kind: "hvc", call: "hypervisor_identify" });
    expect(x(s, 17)).toBe(BigInt(GIC.VIRTUAL_TIMER_PPI));
    expect(guest(s).cpu.sys.elr_el1).toBe(BigInt(VM1.ipa + 21 * 4)); // the instruction after the WFI
  });

  it("replays the same on the pure and fast paths (one produce per event against in-place recipes)", () => {
    const s0 = running(`
      movz x1, #0x4000, lsl #16
    1: ldr x2, [x1, #0x800]
      add x2, x2, #3
      str x2, [x1, #0x800]
      b 1b`);
    let pure = s0;
    const fast = structuredClone(s0) as Machine;
    for (let i = 0; i < 5; i++) {
      const ev = { kind: "vcpu_exec", vm: VM1.vmid, vcpu: 0, budget: 37 + i, seq: pure.seq + 1, t: pure.t } as const;
      [pure] = reduce(hvModel, pure, ev);
      hvModel.apply(fast, ev);
    }
    expect(stateHash(fast)).toBe(stateHash(pure));
    expect(readPhys(pure, VM1.ram + 0x800, 1)[0]).toBeGreaterThan(0);
    // The starting state is untouched (copy-on-write on the pure path).
    expect(readPhys(s0, VM1.ram + 0x800, 1)[0]).toBe(0);
  });
});
