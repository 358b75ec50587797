import { describe, expect, it } from "vitest";
import { REG_PC, readReg } from "../src/cpu/index.ts";
import type { Machine } from "../src/model/machine.ts";
import { resolveScenario } from "../src/sim/resolve.ts";
import { probeExec } from "../src/gdb/trace/probe.ts";
import { focusThread, retiredBy, stateAtPosition } from "../src/timetravel/positions.ts";
import { seekerForTrace } from "../src/timetravel/open.ts";
import type { Seeker } from "../src/timetravel/seeker.ts";
import { readerOf, recordBytes } from "./helpers.ts";

// vm-code-minimal's first exec (#13) runs 521 instructions of guest code, loops included.
const seeker = seekerForTrace(readerOf(recordBytes(resolveScenario("vm-code-minimal"), { seed: 1 }))) as unknown as Seeker<Machine>;
const VCPU = { vm: 0x80, vcpu: 0 };
const EXEC = 13;

describe("the trace probe (breakpoints inside one recorded exec)", () => {
  it("a breakpoint in a loop is hit at every pass, where a linear scan of the PCs finds it", () => {
    const retired = retiredBy(seeker, EXEC);
    expect(retired).toBe(521);
    const pcs: number[] = [];
    for (let k = 0; k < retired; k++) pcs.push(Number(readReg(focusThread(stateAtPosition(seeker, { event: EXEC - 1, insns: k }), VCPU)!.cpu, REG_PC)));
    const passes = new Map<number, number>();
    for (const pc of pcs) passes.set(pc, (passes.get(pc) ?? 0) + 1);
    const [loop, times] = [...passes].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]!;
    expect(times).toBeGreaterThan(3);
    const before = seeker.stateAt(EXEC - 1);
    const thread = focusThread(before, VCPU)!.id;
    const hits = probeExec(before, { thread, t: seeker.event(EXEC).t, retired, breakpoints: new Set([loop]), watchpoints: [] });
    expect(hits.map((h) => h.j)).toEqual(pcs.flatMap((pc, k) => (pc === loop ? [k] : [])));
    // Two breakpoints on the same page: each pass of each.
    const other = [...passes.keys()].find((pc) => pc !== loop && (pc & ~0xfff) === (loop & ~0xfff) && passes.get(pc)! > 1)!;
    const both = probeExec(before, { thread, t: seeker.event(EXEC).t, retired, breakpoints: new Set([loop, other]), watchpoints: [] });
    expect(both.map((h) => [h.j, Number(h.address)])).toEqual(pcs.flatMap((pc, k) => (pc === loop || pc === other ? [[k, pc]] : [])));
  });
});
