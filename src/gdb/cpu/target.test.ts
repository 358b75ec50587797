import fc from "fast-check";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { assemble } from "../../../test/cpu/asm.ts";
import { Prng } from "../../../test/cpu/generator.ts";
import { compilePattern } from "../../cpu/decode.ts";
import { A64, FlatRam, REG_PC, readReg, resetCpu, run, type CpuState } from "../../cpu/index.ts";
import type { Breakpoint, ResumeControl, ResumeRequest, Stop, Watchpoint } from "../target.ts";
import { BREAK_IMM } from "./bus.ts";
import { CpuHistory, comparePositions, type Position } from "./history.ts";
import { CpuTarget } from "./target.ts";

/**
 * The standalone CPU as a gdb target: positions, breakpoints and watchpoints forward and
 * backward, exceptions as places of their own, the end of a program, and (properties over random
 * code) that every position seeks back exactly and every hit agrees with a linear scan.
 */

const BASE = 0x1000;
const RAM_BYTES = 0x10000;
const never: ResumeControl = { interrupted: () => false };

function program(source: string, history = { checkpointInterval: 4, checkpointsMax: 4 }) {
  const ram = new FlatRam({ base: 0, sizeBytes: RAM_BYTES });
  ram.write(BASE, assemble(source));
  const target = new CpuTarget({ name: "test", initial: resetCpu({ pc: BASE, sp: BigInt(RAM_BYTES) }), ram, ramBase: 0, ramBytes: RAM_BYTES, history });
  const go = (direction: ResumeRequest["direction"], action: ResumeRequest["action"], o: { breakpoints?: number[]; watchpoints?: Watchpoint[]; control?: ResumeControl } = {}): Promise<Stop> =>
    target.resume({ direction, action, thread: 1, breakpoints: (o.breakpoints ?? []).map((a): Breakpoint => ({ address: BigInt(a) })), watchpoints: o.watchpoints ?? [] }, o.control ?? never);
  const state = (): CpuState => target.cpu(1)!;
  const pc = (): number => Number(readReg(state(), REG_PC));
  const where = async (): Promise<string> => (await target.monitor("where", 1, never)).output;
  const u64 = (address: number): bigint => {
    const span = target.readMemory(1, BigInt(address), 8)[0]!;
    return span.kind === "bytes" ? new DataView(span.bytes.buffer).getBigUint64(0, true) : -1n;
  };
  return { target, ram, go, state, pc, where, u64 };
}

// x0 += 3 and stored to 0x8000, 0x8008 loaded, ten times; then brk #0. Loop head at 0x100c, store at 0x1010.
const LOOP = ["mov x1, #0x8000", "mov x0, #0", "mov x2, #0", "1: add x0, x0, #3", "str x0, [x1]", "ldr x3, [x1, #8]", "add x2, x2, #1", "cmp x2, #10", "b.ne 1b", "brk #0"].join("\n");
const LOOP_HEAD = 0x100c;
const LOOP_STORE = 0x1010;
const LOOP_LOAD = 0x1014;
const instructionOf = (where: string): number => Number(/^instruction (\d+)/.exec(where)![1]);

describe("breakpoints", () => {
  it("continue stops at each breakpoint in turn, not at the one it starts from; reverse-continue walks them back", async () => {
    const p = program(LOOP);
    expect(await p.go("forward", "continue", { breakpoints: [LOOP_HEAD] })).toEqual({ thread: 1, reason: { kind: "breakpoint", address: BigInt(LOOP_HEAD) } });
    expect(instructionOf(await p.where())).toBe(3);
    await p.go("forward", "continue", { breakpoints: [LOOP_HEAD] });
    expect(instructionOf(await p.where())).toBe(9);
    await p.go("forward", "continue", { breakpoints: [LOOP_HEAD] });
    expect(instructionOf(await p.where())).toBe(15);
    expect((await p.go("reverse", "continue", { breakpoints: [LOOP_HEAD] })).reason).toEqual({ kind: "breakpoint", address: BigInt(LOOP_HEAD) });
    expect(instructionOf(await p.where())).toBe(9);
    await p.go("reverse", "continue", { breakpoints: [LOOP_HEAD] });
    expect(instructionOf(await p.where())).toBe(3);
    expect((await p.go("reverse", "continue", { breakpoints: [LOOP_HEAD] })).reason).toEqual({ kind: "history-start" });
    expect(instructionOf(await p.where())).toBe(0);
    expect(p.pc()).toBe(BASE);
  });

  it("memory never changes: gdb reads the real instruction where a breakpoint is", async () => {
    const p = program(LOOP);
    await p.go("forward", "continue", { breakpoints: [LOOP_HEAD, LOOP_STORE] });
    const span = p.target.readMemory(1, BigInt(LOOP_HEAD), 8)[0]!;
    expect(span.kind === "bytes" && [...span.bytes]).toEqual([...assemble("add x0, x0, #3\nstr x0, [x1]")]);
  });

  it("the program's own BRK with the breakpoint immediate is not a breakpoint: it takes the Breakpoint exception", async () => {
    const p = program(
      [
        "adr x0, vectors",
        "msr vbar_el1, x0",
        `brk #${BREAK_IMM}`,
        "mov x9, #1",
        "done: brk #0",
        ".balign 2048",
        "vectors: .skip 0x200",
        "mrs x5, elr_el1",
        "add x5, x5, #4",
        "msr elr_el1, x5",
        "mov x8, #7",
        "eret",
      ].join("\n"),
    );
    const stop = await p.go("forward", "continue", { breakpoints: [BASE + 16] });
    expect(stop.reason).toEqual({ kind: "breakpoint", address: BigInt(BASE + 16) });
    expect(readReg(p.state(), 8)).toBe(7n);
    expect(readReg(p.state(), 9)).toBe(1n);
    expect(p.state().sys.esr_el1 >> 26n).toBe(0x3cn);
  });

  it("self-modifying code under a breakpoint's page runs what was written", async () => {
    const source = ["adr x1, patch", "ldr w2, =0xd2800540", "str w2, [x1]", "patch: nop", "end: brk #0", ".ltorg"].join("\n");
    const p = program(source);
    const stop = await p.go("forward", "continue", { breakpoints: [BASE + 16] });
    expect(stop.reason.kind).toBe("breakpoint");
    expect(readReg(p.state(), 0)).toBe(42n); // movz x0, #42
  });
});

describe("watchpoints", () => {
  it("a write watchpoint stops before each store going forward, and after it going backward", async () => {
    const p = program(LOOP);
    const watch: Watchpoint[] = [{ kind: "write", address: 0x8000n, length: 8 }];
    expect((await p.go("forward", "continue", { watchpoints: watch })).reason).toEqual({ kind: "watchpoint", watch: "write", address: 0x8000n });
    expect(p.pc()).toBe(LOOP_STORE);
    expect(instructionOf(await p.where())).toBe(4);
    expect(p.u64(0x8000)).toBe(0n);
    // gdb steps over the store itself with the watchpoint removed.
    await p.go("forward", "step");
    expect(p.u64(0x8000)).toBe(3n);
    await p.go("forward", "continue", { watchpoints: watch });
    expect(instructionOf(await p.where())).toBe(10);
    await p.go("forward", "step");
    // Backward: the store just undone is the first hit (no movement), then the one before.
    expect((await p.go("reverse", "continue", { watchpoints: watch })).reason).toEqual({ kind: "watchpoint", watch: "write", address: 0x8000n });
    expect(instructionOf(await p.where())).toBe(11);
    await p.go("reverse", "step");
    expect(p.pc()).toBe(LOOP_STORE);
    expect(p.u64(0x8000)).toBe(3n);
    await p.go("reverse", "continue", { watchpoints: watch });
    expect(instructionOf(await p.where())).toBe(5);
    await p.go("reverse", "step");
    expect(p.u64(0x8000)).toBe(0n);
    expect((await p.go("reverse", "continue", { watchpoints: watch })).reason).toEqual({ kind: "history-start" });
  });

  it("read watchpoints see loads only, access watchpoints both; the hit address is the first watched byte touched", async () => {
    const p = program(LOOP);
    expect((await p.go("forward", "continue", { watchpoints: [{ kind: "read", address: 0x8000n, length: 16 }] })).reason).toEqual({ kind: "watchpoint", watch: "read", address: 0x8008n });
    expect(p.pc()).toBe(LOOP_LOAD);
    p.target.rewind();
    const access: Watchpoint[] = [{ kind: "access", address: 0x8004n, length: 8 }];
    expect((await p.go("forward", "continue", { watchpoints: access })).reason).toEqual({ kind: "watchpoint", watch: "access", address: 0x8004n });
    expect(p.pc()).toBe(LOOP_STORE);
    await p.go("forward", "step");
    expect((await p.go("forward", "continue", { watchpoints: access })).reason).toEqual({ kind: "watchpoint", watch: "access", address: 0x8008n });
    expect(p.pc()).toBe(LOOP_LOAD);
  });

  it("a step that would touch a watched byte reports the watchpoint instead (AArch64 watchpoints are not steppable)", async () => {
    const p = program(LOOP);
    const watch: Watchpoint[] = [{ kind: "write", address: 0x8000n, length: 8 }];
    for (let i = 0; i < 4; i++) expect((await p.go("forward", "step", { watchpoints: watch })).reason).toEqual({ kind: "step" });
    expect((await p.go("forward", "step", { watchpoints: watch })).reason.kind).toBe("watchpoint");
    expect(p.pc()).toBe(LOOP_STORE);
    await p.go("forward", "step");
    expect((await p.go("reverse", "step", { watchpoints: watch })).reason.kind).toBe("watchpoint");
    expect(instructionOf(await p.where())).toBe(5);
    expect((await p.go("reverse", "step")).reason).toEqual({ kind: "step" });
    expect(instructionOf(await p.where())).toBe(4);
  });
});

// Vectors at 0x1800: an SVC returns to the next instruction; anything else skips the faulting one.
const EXCEPTIONS = [
  "adr x0, vectors",
  "msr vbar_el1, x0",
  "svc #1",
  ".inst 0x00000000", // UNDEFINED at 0x100c
  "brk #0",
  ".balign 2048",
  "vectors: .skip 0x200",
  "mrs x5, esr_el1",
  "lsr x6, x5, #26",
  "cmp x6, #0x15",
  "b.eq 1f",
  "mrs x5, elr_el1",
  "add x5, x5, #4",
  "msr elr_el1, x5",
  "1: add x7, x7, #1",
  "eret",
].join("\n");
const VECTOR = 0x1a00;

describe("exceptions", () => {
  it("a vector entry is a position of its own; an SVC's is reached by the SVC's own step", async () => {
    const p = program(EXCEPTIONS);
    const trail: [string, number][] = [];
    for (let i = 0; i < 24 && trail.at(-1)?.[1] !== BASE + 16; i++) {
      await p.go("forward", "step");
      trail.push([/^instruction (\S+)/.exec(await p.where())![1]!, p.pc()]);
    }
    // svc (instruction 3) lands on the vector as instruction 3 retires; the UNDEFINED word does not retire.
    expect(trail.slice(0, 3)).toEqual([
      ["1", BASE + 4],
      ["2", BASE + 8],
      ["3", VECTOR],
    ]);
    const undefinedAt = trail.findIndex(([, pc]) => pc === BASE + 12);
    const [n] = trail[undefinedAt]!;
    expect(trail[undefinedAt + 1]).toEqual([`${n}+1`, VECTOR]);
    expect(trail[undefinedAt + 2]).toEqual([`${Number(n) + 1}`, VECTOR + 4]);
    // And back, through the same positions.
    await p.target.monitor(`goto ${Number(n) + 1}`, 1, never);
    await p.go("reverse", "step");
    expect([instructionOf(await p.where()), p.pc(), /^instruction (\S+)/.exec(await p.where())![1]]).toEqual([Number(n), VECTOR, `${n}+1`]);
    await p.go("reverse", "step");
    expect([/^instruction (\S+)/.exec(await p.where())![1], p.pc()]).toEqual([n, BASE + 12]);
  });

  it("a breakpoint on the vector stops at each entry, forward and backward", async () => {
    const p = program(EXCEPTIONS);
    const bp = { breakpoints: [VECTOR] };
    const position = async (): Promise<string> => /^instruction (\S+)/.exec(await p.where())![1]!;
    expect((await p.go("forward", "continue", bp)).reason.kind).toBe("breakpoint");
    const first = await position();
    expect(first).toBe("3");
    expect((await p.go("forward", "continue", bp)).reason.kind).toBe("breakpoint");
    const second = await position();
    expect(second).toMatch(/^\d+\+1$/);
    expect((await p.go("forward", "continue", bp)).reason).toEqual({ kind: "signal", signal: 5 });
    await p.go("reverse", "continue", bp);
    expect(await position()).toBe(second);
    await p.go("reverse", "continue", bp);
    expect(await position()).toBe(first);
  });
});

describe("the end of a program", () => {
  it("brk #0 ends the history: a signal on arrival, then the end of history; reverse goes on", async () => {
    const p = program(LOOP);
    expect(await p.go("forward", "continue")).toEqual({ thread: 1, reason: { kind: "signal", signal: 5 }, message: "hvsim: the program ended at brk #0 (instruction 63)" });
    expect(p.pc()).toBe(BASE + 0x24);
    expect(await p.go("forward", "continue")).toEqual({ thread: 1, reason: { kind: "history-end" }, message: "hvsim: the history ends here: the program ended at brk #0 (instruction 63)" });
    expect((await p.go("forward", "step")).reason).toEqual({ kind: "history-end" });
    expect((await p.go("reverse", "step")).reason).toEqual({ kind: "step" });
    expect(p.pc()).toBe(BASE + 0x20);
    expect((await p.target.monitor("history", 1, never)).output).toMatch(/^recorded: instructions 0\.\.63; it ends at instruction 63: the program ended at brk #0\ncheckpoints: \d+, every \d+ instructions$/);
  });

  it("an exception with no vectors stops at the faulting instruction, before it, with its syndrome in the message", async () => {
    const p = program(["mov x0, #5", "mov x1, #0x40000000", "ldr x2, [x1]", "brk #0"].join("\n"));
    const stop = await p.go("forward", "continue");
    expect(stop.reason).toEqual({ kind: "signal", signal: 11 });
    expect(stop.message).toMatch(/^hvsim: data abort at 0x1008 \(ESR_EL1 0x96[0-9a-f]{6}, FAR_EL1 0x40000000\) with no exception vectors installed \(VBAR_EL1 is 0\): the program ends here \(instruction 2\)$/);
    expect(p.pc()).toBe(BASE + 8);
    expect(p.state().sys.esr_el1).toBe(0n);
    expect(p.state().el).toBe(1);
    expect((await p.go("forward", "step")).reason).toEqual({ kind: "history-end" });
  });

  it("an endless loop runs until interrupted, and the position has moved on", async () => {
    const p = program("mov x0, #0\n1: add x0, x0, #1\nb 1b");
    let polls = 0;
    const stop = await p.go("forward", "continue", { control: { interrupted: () => ++polls > 2 } });
    expect(stop.reason).toEqual({ kind: "interrupted" });
    expect(readReg(p.state(), 0)).toBeGreaterThan(100_000n);
    expect(instructionOf(await p.where())).toBe(Number(readReg(p.state(), 0)) * 2 + 1 - (p.pc() === BASE + 4 ? 0 : 1));
  });
});

describe("history", () => {
  it("memory is copy-on-write against checkpoints: back at the start it is as loaded, forward again as it was", async () => {
    const p = program(LOOP);
    await p.go("forward", "continue");
    expect(p.u64(0x8000)).toBe(30n);
    p.target.rewind();
    expect(p.u64(0x8000)).toBe(0n);
    expect(p.pc()).toBe(BASE);
    await p.target.monitor("goto 41", 1, never);
    expect(p.u64(0x8000)).toBe(21n);
    await p.go("forward", "continue");
    expect(p.u64(0x8000)).toBe(30n);
  });

  it("monitor commands", async () => {
    const p = program(LOOP);
    expect((await p.target.monitor("help", 1, never)).output).toMatch(/^hvsim monitor commands/);
    expect(await p.target.monitor("goto 5", 1, never)).toEqual({ output: "instruction 5 of 5 recorded; pc 0x1014: ldr\tx3, [x1, #8]", moved: true });
    expect((await p.target.monitor("goto 1000", 1, never)).output).toBe("instruction 63 of 63 recorded; pc 0x1024: brk\t#0x0 (the end of history: the program ended at brk #0)");
    expect((await p.target.monitor("goto x", 1, never)).output).toBe("usage: monitor goto N (an instruction count; see monitor where)");
    expect((await p.target.monitor("frobnicate", 1, never)).output).toMatch(/^unknown monitor command 'frobnicate'\nhvsim monitor commands/);
    expect((await p.target.monitor("info", 1, never)).output).toBe("test on the standalone CPU (flat RAM 0x0..0x10000)");
  });

  it("memory reads: RAM as bytes, everything else unmapped", () => {
    const p = program(LOOP);
    expect(p.target.readMemory(1, 0xfffcn, 8).map((s) => [s.kind, s.kind === "bytes" ? s.bytes.length : s.length])).toEqual([
      ["bytes", 4],
      ["unmapped", 4],
    ]);
    expect(p.target.readMemory(1, 1n << 63n, 4)).toEqual([{ kind: "unmapped", length: 4 }]);
  });
});

// ---- properties over random code ------------------------------------------------------------------

const CLASSES = A64.map(compilePattern);
const RANDOM_RAM = 1 << 14;

/** Random code and data everywhere, random registers, vectors somewhere in it: exceptions galore. */
function randomMachine(seed: number): { ram: FlatRam; state: CpuState } {
  const p = new Prng(seed);
  const ram = new FlatRam({ base: 0, sizeBytes: RANDOM_RAM, stopOnUnvectoredException: false, stopOnWfi: false });
  const bytes = new Uint8Array(RANDOM_RAM);
  const view = new DataView(bytes.buffer);
  for (let o = 0; o < RANDOM_RAM; o += 4) {
    const c = p.pick(CLASSES);
    view.setUint32(o, p.chance(20) ? p.u32() : (c.value | (p.u32() & ~c.mask)) >>> 0, true);
  }
  ram.write(0, bytes);
  const base = resetCpu({ pc: p.int(RANDOM_RAM / 4) * 4, sp: BigInt(p.int(RANDOM_RAM) & ~15) });
  const regs = base.regs.slice();
  const rv = new DataView(regs.buffer);
  for (let i = 0; i < 31; i++) rv.setBigUint64(i * 8, p.chance(70) ? BigInt(p.int(RANDOM_RAM)) : p.u64(), true);
  return { ram, state: { ...base, regs, sys: { ...base.sys, sctlr_el1: base.sys.sctlr_el1 | 1n, vbar_el1: BigInt(p.int(RANDOM_RAM / 2048) * 2048) } } };
}

interface Record {
  readonly pos: Position;
  readonly state: CpuState;
  /** A digest of all of RAM. */
  readonly memory: string;
}

/** RAM as one digest (reading page by page, not byte by byte). */
function memoryOf(ram: FlatRam): string {
  const h = createHash("sha1");
  for (let p = 0; p < RANDOM_RAM; p += 4096) h.update(ram.pages.get(p) ?? new Uint8Array(4096));
  return h.digest("hex");
}

/** Every position one step at a time: the oracle the seeks and scans are checked against. */
async function linear(h: CpuHistory, steps: number): Promise<Record[]> {
  const out: Record[] = [{ pos: h.pos, state: h.state, memory: memoryOf(h.bus.ram) }];
  for (let i = 0; i < steps; i++) {
    const r = await h.advance({ steps: 1 });
    if (r.kind === "end") break;
    out.push({ pos: h.pos, state: h.state, memory: memoryOf(h.bus.ram) });
  }
  return out;
}

describe("properties over random code", () => {
  it("every position seeks back exactly (state and memory), and stepping back visits them all in reverse", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 }), fc.array(fc.nat(), { minLength: 5, maxLength: 12 }), async (seed, picks) => {
        const m = randomMachine(seed);
        const h = new CpuHistory(m.state, m.ram, { checkpointInterval: 16, checkpointsMax: 6 });
        const record = await linear(h, 150);
        for (const pick of picks) {
          const r = record[pick % record.length]!;
          await h.seek(r.pos);
          expect(h.pos).toEqual(r.pos);
          expect(h.state).toEqual(r.state);
          expect(memoryOf(h.bus.ram)).toBe(r.memory);
        }
        await h.seek(record.at(-1)!.pos);
        for (let i = record.length - 2; i >= 0; i--) {
          const before = h.predecessor(h.pos)!;
          expect(before).toEqual(record[i]!.pos);
          await h.seek(before);
        }
        expect(h.predecessor(h.pos)).toBe(null);
        // The same as the CPU alone, with no debugger in the way.
        const plain = randomMachine(seed);
        const last = record.at(-1)!;
        if (last.pos.entries === 0 && h.end === null) expect(run(plain.state, plain.ram, last.pos.count).state.retired).toBe(last.state.retired);
      }),
      { numRuns: 12 },
    );
  });

  it("breakpoint and watchpoint hits, forward and backward, are the linear scan's", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 }), fc.nat(), fc.nat(), async (seed, bpPick, watchPick) => {
        const m = randomMachine(seed);
        const oracle = new CpuHistory(m.state, m.ram, { checkpointInterval: 32, checkpointsMax: 4 });
        const record = await linear(oracle, 250);
        fc.pre(record.length > 10);
        const pcOf = (r: Record): number => Number(readReg(r.state, REG_PC));
        const bp = pcOf(record[bpPick % record.length]!);
        // A byte some step changed, if any: the write watchpoint's oracle is the steps where it changed.
        const changes: number[] = [];
        for (let i = 1; i < record.length; i++) if (record[i]!.memory !== record[i - 1]!.memory) changes.push(i);
        const t = new CpuHistory(randomMachine(seed).state, randomMachine(seed).ram, { checkpointInterval: 32, checkpointsMax: 4 });
        const end = record.at(-1)!.pos;
        // Forward: every position whose PC is the breakpoint, after the start; one outside RAM never
        // hits (random code jumps there, and the fetch aborts: the seeds in `examples` do).
        const inRam = bp < RANDOM_RAM;
        const expected = record.filter((r, i) => inRam && i > 0 && i < record.length - 1 && pcOf(r) === bp).map((r) => r.pos);
        const found: Position[] = [];
        for (;;) {
          const r = await t.advance({ limit: end, breakpoints: new Set([bp]), skipBreakpointAt: t.pos });
          if (r.kind !== "hit") break;
          found.push(r.hit.pos);
        }
        expect(found).toEqual(expected);
        // Backward from the end: the same positions, latest first, then the start (if it is one).
        const back: Position[] = [];
        const all = record.filter((r) => inRam && pcOf(r) === bp).map((r) => r.pos);
        await t.seek(end);
        for (let upTo = end; ; ) {
          let last: Position | null = null;
          for (const from of t.checkpointsBefore(upTo)) {
            await t.seek(from);
            await t.advance({ limit: upTo, breakpoints: new Set([bp]), onHit: (hit) => ((last = hit.pos), false) });
            if (last !== null) break;
            upTo = from;
          }
          if (last === null) break;
          back.push(last);
          upTo = last;
        }
        expect(back).toEqual(all.filter((p) => comparePositions(p, end) < 0).reverse());
        if (changes.length === 0) return;
        const step = changes[watchPick % changes.length]!;
        const bytesAt = async (i: number): Promise<Uint8Array> => {
          await oracle.seek(record[i]!.pos);
          return oracle.bus.ram.read(0, RANDOM_RAM);
        };
        const [was, now] = [await bytesAt(step - 1), await bytesAt(step)];
        const k = now.findIndex((b, i) => b !== was[i]);
        // The watched byte at every position, for the oracle of which steps changed it.
        const byteAt: number[] = [];
        for (const r of record) {
          await oracle.seek(r.pos);
          byteAt.push(oracle.bus.ram.read(k, 1)[0]!);
        }
        const watch: Watchpoint[] = [{ kind: "write", address: BigInt(k), length: 1 }];
        // Forward: each hit is before a step that writes the byte; every step that changed it is among them.
        const w = new CpuHistory(randomMachine(seed).state, randomMachine(seed).ram, { checkpointInterval: 32, checkpointsMax: 4 });
        const hits: Position[] = [];
        for (;;) {
          const r = await w.advance({ limit: end, watchpoints: watch });
          if (r.kind !== "hit") break;
          hits.push(r.hit.pos);
          await w.advance({ steps: 1 });
        }
        const changedAt = record.slice(1).flatMap((_, j) => (byteAt[j + 1] !== byteAt[j] ? [record[j]!.pos] : []));
        expect(changedAt.length).toBeGreaterThan(0);
        for (const c of changedAt) expect(hits).toContainEqual(c);
        // Backward: the same accesses, each placed after its instruction.
        const after = hits.map((h) => record[record.findIndex((r) => comparePositions(r.pos, h) === 0) + 1]!.pos);
        const backHits: Position[] = [];
        await w.seek(end);
        let upTo = end;
        for (const from of w.checkpointsBefore(end)) {
          const seen: Position[] = [];
          await w.seek(from);
          await w.advance({ limit: upTo, watchpoints: watch, watchAfter: true, onHit: (hit) => (seen.push(hit.pos), false) });
          backHits.unshift(...seen);
          upTo = from;
        }
        expect(backHits).toEqual(after);
      }),
      { numRuns: 12, examples: [[2113928938, 6, 0], [1402686346, 7689804, 0]] },
    );
  });
});
