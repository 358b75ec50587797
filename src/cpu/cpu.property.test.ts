import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Prng } from "../../test/cpu/generator.ts";
import { stateHash } from "../core/hash.ts";
import { findNonSerializableValue } from "../core/serializable.ts";
import { decodeBody, encodeBody } from "../trace/codec.ts";
import { compileEach } from "./blocks.ts";
import type { RefusedAccess, RefusedAction, TrapKind } from "./bus.ts";
import { Core, EXIT_NONE } from "./core.ts";
import { compilePattern } from "./decode.ts";
import { FlatRam } from "./flat.ts";
import { A64 } from "./isa/index.ts";
import { run } from "./run.ts";
import { REG_WORDS, resetCpu, type CpuState } from "./state.ts";

/**
 * Properties of the CPU over random code: the fast path (cached blocks, TLB, chaining) and the
 * reference path (every instruction alone, no TLB) agree exactly; CPU state survives snapshots and
 * hashing unchanged; and no 32-bit word can make the interpreter throw.
 */

const RAM_BYTES = 1 << 16;
const CLASSES = A64.map(compilePattern);

/** A word from a random implemented class (random fields), or a wholly random word. */
function randomWord(p: Prng): number {
  if (p.chance(25)) return p.u32();
  const c = p.pick(CLASSES);
  return (c.value | (p.u32() & ~c.mask)) >>> 0;
}

/** Flat RAM where exceptions go on (vectors are more random code), HVC/SMC and BRK #0 exit, and nothing else does. */
class WildBus extends FlatRam {
  constructor() {
    super({ base: 0, sizeBytes: RAM_BYTES, stopOnUnvectoredException: false, stopOnWfi: false });
  }
  override trap(kind: TrapKind, imm: number): "exit" | "architectural" {
    return kind === "hvc" || kind === "smc" || (kind === "brk" && imm === 0) ? "exit" : "architectural";
  }
  override refused(_a: RefusedAccess): RefusedAction {
    return "abort";
  }
  override exceptionTaken(): boolean {
    return false;
  }
}

/** A random machine: RAM full of random code and data, registers pointing into it or anywhere. */
function randomMachine(seed: number): { bus: WildBus; state: CpuState } {
  const p = new Prng(seed);
  const bus = new WildBus();
  const bytes = new Uint8Array(RAM_BYTES);
  const view = new DataView(bytes.buffer);
  for (let o = 0; o < RAM_BYTES; o += 4) view.setUint32(o, randomWord(p), true);
  bus.write(0, bytes);
  const base = resetCpu({ pc: (p.int(RAM_BYTES / 4) * 4) & ~3, sp: BigInt(p.int(RAM_BYTES) & ~15) });
  const regs = base.regs.slice();
  const rv = new DataView(regs.buffer);
  for (let i = 0; i < 31; i++) rv.setBigUint64(i * 8, p.chance(60) ? BigInt(p.int(RAM_BYTES)) : p.u64(), true);
  const sctlr = base.sys.sctlr_el1 | (p.chance(50) ? 1n : 0n);
  return { bus, state: { ...base, regs, nzcv: p.int(16), daif: p.int(16), sys: { ...base.sys, sctlr_el1: sctlr, vbar_el1: BigInt(p.int(RAM_BYTES / 2048) * 2048) } } };
}

describe("CPU properties", () => {
  it("the fast and reference paths agree on random code (registers, PSTATE, system registers, memory, stop)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 }), fc.integer({ min: 1, max: 3000 }), (seed, budget) => {
        const a = randomMachine(seed);
        const b = randomMachine(seed);
        const fast = run(a.state, a.bus, budget, { blocks: true });
        const ref = run(b.state, b.bus, budget, { blocks: false });
        expect(fast.stop).toEqual(ref.stop);
        expect(fast.retired).toBe(ref.retired);
        expect(fast.state).toEqual(ref.state);
        expect(a.bus.read(0, RAM_BYTES)).toEqual(b.bus.read(0, RAM_BYTES));
      }),
      { numRuns: 25 },
    );
  });

  it("splitting a run at any instruction count changes nothing", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 }), fc.integer({ min: 0, max: 1500 }), fc.integer({ min: 0, max: 1500 }), (seed, n, m) => {
        const a = randomMachine(seed);
        const whole = run(a.state, a.bus, n + m);
        const b = randomMachine(seed);
        const first = run(b.state, b.bus, n);
        // A run that stopped early (an exit) is resumed only by its caller; compare where both ran on.
        fc.pre(first.stop.kind === "budget");
        const second = run(first.state, b.bus, m);
        expect(first.retired + second.retired).toBe(whole.retired);
        expect(second.state).toEqual(whole.state);
        expect(second.stop).toEqual(whole.stop);
      }),
      { numRuns: 40 },
    );
  });

  it("CPU state is plain data: a snapshot round trip and a save/load through the core keep its hash", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 }), (seed) => {
        const m = randomMachine(seed);
        const after = run(m.state, m.bus, 500).state;
        expect(findNonSerializableValue(after)).toBe(false);
        const h = stateHash(after);
        expect(stateHash(decodeBody(encodeBody(after)))).toBe(h);
        expect(stateHash(new Core(after, m.bus).save())).toBe(h);
        expect(after.regs.length).toBe(REG_WORDS * 8);
      }),
      { numRuns: 50 },
    );
  });

  it("pins the hash of a reset CPU (the canonical encoding of CPU state must not drift)", () => {
    expect(stateHash(resetCpu({ pc: 0x80000, sp: 0x8000000n }))).toMatchInlineSnapshot(`"55f7c5afb3c6a17bf72ea64136a60da52bcecf797032842bad8996f8eb4c9f45"`);
  });

  it("no 32-bit word makes the interpreter throw: 1M random words, each executed or taken as an exception", () => {
    const WORDS = 1_000_000;
    const BATCH = 2000;
    const pc = 0x1000;
    const bus = new WildBus();
    const p = new Prng(0x5eed);
    const core = new Core(resetCpu({ pc }), bus);
    // Register values come from a pool (half small addresses into RAM, half anything), read at random offsets.
    const pool = Int32Array.from({ length: 1 << 16 }, () => (p.chance(50) ? p.int(RAM_BYTES) : p.u32() | 0));
    let executed = 0;
    let excepted = 0;
    for (let done = 0; done < WORDS; done += BATCH) {
      const words = Array.from({ length: BATCH }, () => (p.chance(50) ? p.u32() : randomWord(p)));
      const fns = compileEach(words, pc);
      for (const fn of fns) {
        const at = p.int(pool.length - 64);
        core.R.set(pool.subarray(at, at + 64));
        core.pc = pc;
        core.exit = EXIT_NONE;
        const retired = fn(core);
        if (retired === 1 || core.exit !== EXIT_NONE) executed += 1;
        else if (retired === 0) excepted += 1;
      }
    }
    expect(executed + excepted).toBe(WORDS);
    console.log(`cpu: ${WORDS} random words: ${executed} executed, ${excepted} took an exception`);
  });
});


