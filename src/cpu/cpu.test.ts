import { describe, expect, it } from "vitest";
import { assemble } from "../../test/cpu/asm.ts";
import type { RefusedAccess, RefusedAction, TrapKind } from "./bus.ts";
import { Decoder } from "./decode.ts";
import { FlatRam } from "./flat.ts";
import { run, type RunResult } from "./run.ts";
import { REG_PC, readReg, resetCpu, currentSp, type CpuState } from "./state.ts";

/** Exact architectural outcomes of single instructions and short programs at EL1 (and EL0). */

const CODE = 0x1000;
const VECTORS = 0x8000;

/** Flat RAM with the knobs a hypervisor would turn: HVC/SMC exits, refused accesses, an IRQ line. */
class TestBus extends FlatRam {
  hvcExits = false;
  refuse: RefusedAction = "abort";
  /** The priority of the pending interrupt at `retired`, or -1. */
  irq = (_retired: number): number => -1;
  /** The IRQ line may rise on its own once `retired` reaches this (a timer). */
  riseAt = Infinity;
  constructor() {
    super({ base: 0, sizeBytes: 1 << 20, stopOnUnvectoredException: true });
  }
  override trap(kind: TrapKind, imm: number): "exit" | "architectural" {
    if ((kind === "hvc" || kind === "smc") && this.hvcExits) return "exit";
    return super.trap(kind, imm);
  }
  override refused(_a: RefusedAccess): RefusedAction {
    return this.refuse;
  }
  override pendingPriority(retired: number): number {
    return this.irq(retired);
  }
  override quietFor(retired: number): number {
    return Math.max(0, this.riseAt - retired);
  }
}

function boot(source: string, bus = new TestBus(), state: Partial<CpuState> = {}): { bus: TestBus; state: CpuState } {
  bus.write(CODE, assemble(source));
  return { bus, state: { ...resetCpu({ pc: CODE, sp: 0x80000n }), ...state } };
}

function exec(source: string, budget = 1000, bus = new TestBus(), state: Partial<CpuState> = {}, blocks = true): RunResult & { bus: TestBus } {
  const m = boot(source, bus, state);
  return { ...run(m.state, m.bus, budget, { blocks }), bus: m.bus };
}

const x = (r: RunResult, n: number): bigint => readReg(r.state, n);
const pc = (r: RunResult): bigint => readReg(r.state, REG_PC);
const esrEc = (r: RunResult): number => Number(r.state.sys.esr_el1 >> 26n);

/** Sets VBAR_EL1 to VECTORS, whose sync entries (current EL SPx, lower EL) end the run with brk #0. */
const WITH_VECTORS = `
  movz x9, #${VECTORS}
  msr vbar_el1, x9
`;
/** Opens the GIC CPU interface: group 1 enabled, priority mask 0xf0 (4 instructions). */
const GIC_ON = `
  mov x9, #1
  msr icc_igrpen1_el1, x9
  mov x9, #0xf0
  msr icc_pmr_el1, x9
`;
function withHandlers(bus = new TestBus()): TestBus {
  // Each 0x80-byte vector slot holds `brk #0`, so a test sees where it landed.
  const brk = assemble("brk #0");
  for (let off = 0; off < 0x800; off += 0x80) bus.write(VECTORS + off, brk);
  return bus;
}

describe("decode table", () => {
  it("refuses overlapping patterns, naming both", () => {
    const a = { name: "A", pattern: `1 ${".".repeat(31)}`, emit: () => "", text: () => "" };
    const b = { name: "B", pattern: "." + "0".repeat(31), emit: () => "", text: () => "" };
    expect(() => new Decoder([a, b])).toThrow("'A' and 'B' overlap");
  });
  it("refuses a pattern that is not 32 bits", () => {
    expect(() => new Decoder([{ name: "short", pattern: "0101", emit: () => "", text: () => "" }])).toThrow("short: pattern is 4 bits, not 32");
  });
});

describe("execution by budget", () => {
  const loop = `
    mov x0, #0
  1: add x0, x0, #1
    cmp x0, #100
    b.ne 1b
    brk #0`;

  it("stops at exactly the budget and reports why", () => {
    const r = exec(loop, 50);
    expect(r.retired).toBe(50);
    expect(r.stop).toEqual({ kind: "budget" });
    expect(r.state.retired).toBe(50);
  });

  it("resumes where it stopped: n + m instructions in two runs equal one run of n + m, on both paths", () => {
    for (const blocks of [true, false]) {
      const whole = exec(loop, 173, new TestBus(), {}, blocks);
      const m = boot(loop);
      const first = run(m.state, m.bus, 61, { blocks });
      const second = run(first.state, m.bus, 112, { blocks });
      expect(first.retired + second.retired).toBe(173);
      expect(second.state).toEqual(whole.state);
    }
  });

  it("ends at brk #0 with the PC on the BRK, not retired", () => {
    const r = exec(loop);
    expect(r.stop).toEqual({ kind: "brk", imm: 0 });
    expect(x(r, 0)).toBe(100n);
    expect(r.retired).toBe(1 + 3 * 100);
    expect(pc(r)).toBe(BigInt(CODE + 16));
  });
});

describe("exceptions taken to EL1", () => {
  it("SVC goes to VBAR_EL1 + 0x200 with ESR, ELR and SPSR set", () => {
    const r = exec(`${WITH_VECTORS}
      msr daifclr, #0xf
      mov x0, #0x60000000
      msr nzcv, x0
      svc #0x1234`, 100, withHandlers());
    expect(r.stop).toEqual({ kind: "brk", imm: 0 });
    expect(pc(r)).toBe(BigInt(VECTORS + 0x200));
    expect(r.state.sys.esr_el1).toBe((0x15n << 26n) | (1n << 25n) | 0x1234n);
    expect(r.state.sys.elr_el1).toBe(BigInt(CODE + 6 * 4));
    // SPSR: NZCV = 0110, DAIF clear, EL1h.
    expect(r.state.sys.spsr_el1).toBe(0x60000005n);
    expect(r.state.daif).toBe(0xf);
    expect(r.state.el).toBe(1);
  });

  it("ERET drops to EL0 on SP_EL0; an SVC from EL0 goes to VBAR + 0x400", () => {
    const r = exec(`${WITH_VECTORS}
      movz x1, #0x4000
      msr sp_el0, x1
      adr x2, 1f
      msr elr_el1, x2
      msr spsr_el1, xzr
      eret
    1: mov x3, sp
      mrs x4, nzcv
      svc #7`, 100, withHandlers());
    expect(pc(r)).toBe(BigInt(VECTORS + 0x400));
    expect(x(r, 3)).toBe(0x4000n);
    expect(Number(r.state.sys.esr_el1 >> 26n)).toBe(0x15);
    expect(r.state.sys.spsr_el1).toBe(0n);
    expect(currentSp(r.state)).toBe(0x80000n);
  });

  it("MRS of an EL1 register at EL0 is UNDEFINED", () => {
    const r = exec(`${WITH_VECTORS}
      adr x2, 1f
      msr elr_el1, x2
      msr spsr_el1, xzr
      eret
    1: mrs x0, vbar_el1`, 100, withHandlers());
    expect(pc(r)).toBe(BigInt(VECTORS + 0x400));
    expect(esrEc(r)).toBe(0);
  });

  it("an illegal exception return sets PSTATE.IL and the next instruction takes EC 0x0E", () => {
    const r = exec(`${WITH_VECTORS}
      adr x2, 1f
      msr elr_el1, x2
      mov x3, #9
      msr spsr_el1, x3
      eret
    1: nop`, 100, withHandlers());
    expect(esrEc(r)).toBe(0x0e);
    expect(r.state.sys.elr_el1).toBe(BigInt(CODE + 7 * 4));
    expect(r.state.il).toBe(0);
  });

  it("a floating-point instruction is UNDEFINED (EC 0x00), never a crash", () => {
    const r = exec(`${WITH_VECTORS}
      fadd s0, s1, s2`, 100, withHandlers());
    expect(esrEc(r)).toBe(0);
    expect(r.state.sys.esr_el1).toBe(1n << 25n);
    expect(r.state.sys.elr_el1).toBe(BigInt(CODE + 8));
  });

  it("with no vectors installed the run stops at the exception", () => {
    const r = exec("udf #1");
    expect(r.stop).toEqual({ kind: "exception", ec: 0 });
    expect(pc(r)).toBe(0x200n);
  });

  it("BRK with a non-zero immediate is the Breakpoint exception (EC 0x3C)", () => {
    const r = exec(`${WITH_VECTORS}
      brk #0x42`, 100, withHandlers());
    expect(r.state.sys.esr_el1).toBe((0x3cn << 26n) | (1n << 25n) | 0x42n);
    expect(r.state.sys.elr_el1).toBe(BigInt(CODE + 8));
  });

  it("an exception loop stops as stalled instead of spinning", () => {
    // VBAR points at unmapped memory: every vector fetch aborts again.
    const r = exec(`
      movz x9, #0x20, lsl #16
      msr vbar_el1, x9
      udf #0`, 100, new (class extends TestBus {
      override exceptionTaken(): boolean {
        return false;
      }
    })());
    expect(r.stop).toEqual({ kind: "stalled", ec: 0x21 });
  });
});

describe("memory", () => {
  it("with the MMU off, memory is Device: an unaligned load takes an alignment fault", () => {
    const r = exec(`${WITH_VECTORS}
      movz x1, #0x2001
      ldr x0, [x1]`, 100, withHandlers());
    expect(esrEc(r)).toBe(0x25);
    expect(r.state.sys.esr_el1 & 0x3fn).toBe(0x21n);
    expect(r.state.sys.far_el1).toBe(0x2001n);
    expect(r.state.sys.elr_el1).toBe(BigInt(CODE + 12));
  });

  it("with SCTLR_EL1.M set (Normal memory), the same load is allowed", () => {
    const bus = withHandlers();
    bus.write(0x2000, Uint8Array.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
    const base = resetCpu({ pc: CODE, sp: 0x80000n });
    const r = exec("movz x1, #0x2001\nldr x0, [x1]\nbrk #0", 100, bus, { sys: { ...base.sys, sctlr_el1: base.sys.sctlr_el1 | 1n } });
    expect(x(r, 0)).toBe(0x0807060504030201n);
  });

  it("an access outside RAM is a synchronous external abort (DFSC 0x10), or an exit the caller takes", () => {
    const aborted = exec(`${WITH_VECTORS}
      movz x1, #0x100, lsl #16
      str w2, [x1, #8]`, 100, withHandlers());
    expect(aborted.state.sys.esr_el1 & 0x7fn).toBe(0x50n); // WnR | DFSC 0x10
    expect(aborted.state.sys.far_el1).toBe(0x1000008n);

    const bus = new TestBus();
    bus.refuse = "exit";
    const exited = exec("movz x1, #0x100, lsl #16\nmovz w2, #0xbeef\nstr w2, [x1, #8]\nbrk #0", 100, bus);
    expect(exited.stop).toEqual({
      kind: "access",
      access: { address: 0x1000008n, sizeBytes: 4, access: 1, value: 0xbeefn, iss: (1 << 24) | (2 << 22) | (2 << 16) | (1 << 6), pc: CODE + 8 },
    });
    expect(exited.retired).toBe(2);
    expect(pc(exited)).toBe(BigInt(CODE + 8));
  });

  it("a store to code already run is seen by the next fetch (self-modifying code)", () => {
    const r = exec(`
      adr x1, 2f
      ldr w2, 3f
      mov x0, #1
    1: b 2f
    2: mov x0, #5
      cbz x3, 4f
      brk #0
    4: mov x3, #1
      str w2, [x1]
      b 1b
    3: mov x0, #9`, 100);
    expect(x(r, 0)).toBe(9n);
  });

  it("LDXR/STXR: the store succeeds once after the load, and fails without it", () => {
    const r = exec(`
      movz x1, #0x3000
      ldxr x2, [x1]
      add x2, x2, #1
      stxr w3, x2, [x1]
      stxr w4, x2, [x1]
      brk #0`);
    expect(x(r, 3)).toBe(0n);
    expect(x(r, 4)).toBe(1n);
    expect(r.bus.read(0x3000, 8)).toEqual(Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0));
  });

  it("DC ZVA zeroes the 64-byte block holding the address", () => {
    const bus = new TestBus();
    bus.write(0x3000, new Uint8Array(128).fill(0xff));
    const r = exec("movz x1, #0x3047\ndc zva, x1\nbrk #0", 100, bus);
    expect(r.bus.read(0x3000, 128)).toEqual(Uint8Array.from({ length: 128 }, (_, i) => (i >= 64 ? 0 : 0xff)));
  });

  it("SP alignment checking (SCTLR_EL1.SA) faults an SP-relative access with SP misaligned", () => {
    const base = resetCpu({ pc: CODE, sp: 0x80008n });
    const r = exec(`${WITH_VECTORS}\nldr x0, [sp]`, 100, withHandlers(), { sys: { ...base.sys, sctlr_el1: base.sys.sctlr_el1 | 8n }, regs: base.regs });
    expect(esrEc(r)).toBe(0x26);
  });
});

describe("control flow", () => {
  it("a branch to a misaligned address takes a PC alignment fault with FAR = the target", () => {
    const r = exec(`${WITH_VECTORS}
      adr x1, 1f
      add x1, x1, #2
      br x1
    1: nop`, 100, withHandlers());
    expect(esrEc(r)).toBe(0x22);
    expect(r.state.sys.far_el1).toBe(BigInt(CODE + 20 + 2));
  });

  it("a branch beyond the 48-bit address space takes an instruction abort with the exact address", () => {
    const r = exec(`${WITH_VECTORS}
      mov x1, #0xfedc000000000000
      movk x1, #0x1234
      br x1`, 100, withHandlers());
    expect(esrEc(r)).toBe(0x21);
    expect(r.state.sys.far_el1).toBe(0xfedc000000001234n);
    expect(r.state.sys.elr_el1).toBe(0xfedc000000001234n);
  });
});

describe("traps out of EL1", () => {
  it("HVC exits to the caller after the instruction, with its immediate", () => {
    const bus = new TestBus();
    bus.hvcExits = true;
    const r = exec("mov x0, #0x56\nhvc #0x1\nbrk #0", 100, bus);
    expect(r.stop).toEqual({ kind: "hvc", imm: 1 });
    expect(r.retired).toBe(2);
    expect(pc(r)).toBe(BigInt(CODE + 8));
  });

  it("with no EL2, HVC is UNDEFINED", () => {
    const r = exec(`${WITH_VECTORS}\nhvc #0`, 100, withHandlers());
    expect(esrEc(r)).toBe(0);
    expect(r.state.sys.elr_el1).toBe(BigInt(CODE + 8));
  });

  it("WFI exits with the PC after it", () => {
    const r = exec("nop\nwfi\nbrk #0");
    expect(r.stop).toEqual({ kind: "wfi" });
    expect(r.retired).toBe(2);
    expect(pc(r)).toBe(BigInt(CODE + 8));
  });
});

describe("interrupts", () => {
  it("are taken at the instruction boundary after DAIF.I clears, to VBAR + 0x280", () => {
    const bus = withHandlers();
    bus.irq = () => 0xa0;
    const r = exec(`${WITH_VECTORS}${GIC_ON}
      nop
      msr daifclr, #2
      nop`, 100, bus);
    expect(pc(r)).toBe(BigInt(VECTORS + 0x280));
    expect(r.state.sys.elr_el1).toBe(BigInt(CODE + 32));
    expect(r.state.sys.esr_el1).toBe(0n);
    expect(r.state.sys.spsr_el1).toBe(0x345n); // D (0x200), A (0x100), F (0x40) still masked; I clear; EL1h
  });

  it("the GIC CPU interface masks them: priority not above ICC_PMR_EL1, or group 1 disabled", () => {
    for (const [prio, setup] of [
      [0xf0, GIC_ON],
      [0xa0, "mov x9, #0xf0\nmsr icc_pmr_el1, x9"],
    ] as const) {
      const bus = withHandlers();
      bus.irq = () => prio;
      const r = exec(`${WITH_VECTORS}${setup}\nmsr daifclr, #2\nnop\nbrk #0`, 100, bus);
      expect(pc(r)).not.toBe(BigInt(VECTORS + 0x280));
      expect(r.stop).toEqual({ kind: "brk", imm: 0 });
    }
  });

  it("a line that rises on its own (a timer) is taken at the instruction the bus names", () => {
    const bus = withHandlers();
    bus.irq = (retired) => (retired >= 14 ? 0xa0 : -1);
    bus.riseAt = 14;
    const loop = `${WITH_VECTORS}${GIC_ON}\nmsr daifclr, #2\n1: add x0, x0, #1\nb 1b`;
    const r = exec(loop, 100, bus);
    // 7 set-up instructions, then add, b, add, b, add, b, add: the next is the b.
    expect(r.state.sys.elr_el1).toBe(BigInt(CODE + 32));
    expect(x(r, 0)).toBe(4n);
  });
});

describe("system registers", () => {
  it("reads the CPU's identity, CurrentEL and the counter", () => {
    const r = exec("mrs x0, midr_el1\nmrs x1, currentel\nmrs x2, mpidr_el1\nmrs x3, id_aa64pfr0_el1\nmrs x4, cntvct_el0\nbrk #0");
    expect([x(r, 0), x(r, 1), x(r, 2), x(r, 3), x(r, 4)]).toEqual([0x411fd073n, 4n, 0x80000000n, 0x01ff0111n, 0n]);
  });

  it("an unknown system register is UNDEFINED", () => {
    const r = exec(`${WITH_VECTORS}\nmrs x0, s3_0_c15_c2_0`, 100, withHandlers());
    expect(esrEc(r)).toBe(0);
  });

  it("the virtual timer: TVAL sets CVAL from the counter, CTL reports ISTATUS once it passes", () => {
    const r = exec(`
      mov x0, #2
      msr cntv_tval_el0, x0
      mov x1, #1
      msr cntv_ctl_el0, x1
      mrs x2, cntv_ctl_el0
      mov x5, #40
    1: subs x5, x5, #1
      b.ne 1b
      mrs x3, cntv_ctl_el0
      mrs x4, cntv_cval_el0
      brk #0`);
    expect(x(r, 2)).toBe(1n);
    expect(x(r, 3)).toBe(5n);
    expect(x(r, 4)).toBe(2n);
  });
});
