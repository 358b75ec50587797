import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { REG_PC, cpuView, parseImage, readReg } from "../src/cpu/index.ts";
import type { Machine } from "../src/model/machine.ts";
import { guestImagePath } from "../src/sim/builtin/guest-code.ts";
import { focusThread, readGuest, retiredBy, stateAtPosition, type Position } from "../src/timetravel/positions.ts";
import { openTrace } from "../src/timetravel/open.ts";
import type { Seeker } from "../src/timetravel/seeker.ts";
import { TraceReader } from "../src/trace/reader.ts";
import { fileSource } from "../src/trace/source.ts";
import { gdbBatch, mark, registersOf } from "./gdb-batch.ts";
import { cli, tempDir } from "./helpers.ts";

/**
 * The real gdb-multiarch (Debian's gdb 13) in batch mode against `hvsim gdb` on a recorded trace of
 * vm-code-minimal (guests/minimal under Gunyah). Every answer gdb shows is checked against the
 * positions engine read directly (stateAtPosition) or a linear scan of the recording.
 */

const dir = tempDir();
const bin = join(import.meta.dirname, "../bin/hvsim.mjs");
const trace = join(dir, "minimal.hvt");
const elf = guestImagePath("minimal");
const image = parseImage(new Uint8Array(readFileSync(elf)));
const symbol = (name: string): number => image.symbols.find((s) => s.name === name)!.address;
const VCPU = { vm: 0x80, vcpu: 0 };

let seeker: Seeker<Machine>;

const gdb = (commands: readonly string[]): Promise<Map<string, string[]>> => gdbBatch(elf, `target remote | ${process.execPath} ${bin} gdb ${trace} --stdio`, commands);

/** x0..x30, sp and pc of the vCPU at a position, read from the positions engine. */
function expectedRegisters(p: Position): Map<string, bigint> {
  const t = focusThread(stateAtPosition(seeker, p), VCPU)!;
  const v = cpuView(t.cpu);
  const out = new Map<string, bigint>();
  for (let i = 0; i < 31; i++) out.set(`x${i}`, BigInt(v[`x${i}`] as string));
  out.set("sp", BigInt(v.sp as string));
  out.set("pc", readReg(t.cpu, REG_PC));
  return out;
}

function expectRegisters(lines: readonly string[] | undefined, p: Position): void {
  const got = registersOf(lines);
  for (const [name, value] of expectedRegisters(p)) expect(got.get(name), name).toBe(value);
}

const positionOf = (lines: readonly string[] | undefined): string => /^at (#-?\d+(?:\+\d+)?) /.exec((lines ?? []).find((l) => l.startsWith("at #")) ?? "")?.[1] ?? "(none)";
const text = (p: Position): string => (p.insns > 0 ? `#${p.event}+${p.insns}` : `#${p.event}`);

const watched = (): number => symbol("line_len");
const valueAt = (p: Position): number => {
  const b = readGuest(stateAtPosition(seeker, p), VCPU.vm, watched(), 4)!;
  return new DataView(b.buffer, b.byteOffset).getUint32(0, true);
};

/**
 * Every guest store that changed line_len, by a linear scan: the events across which its value
 * changes, and inside each the instruction whose run changes it (the position before it).
 */
function storesToWatched(): Position[] {
  const out: Position[] = [];
  const read = (s: Machine): number | null => {
    const b = readGuest(s, VCPU.vm, watched(), 4);
    return b === null ? null : new DataView(b.buffer, b.byteOffset).getUint32(0, true);
  };
  let before = read(seeker.stateAt(-1));
  seeker.walk(0, seeker.count - 1, (i, s) => {
    const now = read(s);
    if (now !== before && seeker.event(i).kind === "vcpu_exec") {
      const r = retiredBy(seeker, i);
      // The first k after which the value is the new one (by halves): the store is instruction k-1.
      let lo = 1;
      let hi = r;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (valueAt({ event: i - 1, insns: mid }) !== before) hi = mid;
        else lo = mid + 1;
      }
      out.push({ event: i - 1, insns: lo - 1 });
    }
    before = now;
    return false;
  });
  return out;
}

describe("gdb-multiarch against hvsim gdb TRACE", () => {
  let s: Map<string, string[]>;
  let stores: Position[];
  beforeAll(async () => {
    const rec = await cli("record", "vm-code-minimal", "--seed", "1", "-o", trace);
    expect(rec.code).toBe(0);
    seeker = openTrace(TraceReader.open(fileSource(trace))).seeker();
    stores = storesToWatched();
    const between = stores[2]!;
    s = await gdb([
      mark("threads"),
      "info threads",
      mark("regs0"),
      "info registers",
      mark("insns"),
      "x/4i $pc",
      "stepi",
      mark("regs1"),
      "info registers",
      "reverse-stepi",
      mark("regs2"),
      "info registers",
      "break puts",
      "continue",
      mark("break1"),
      'printf "PC=%lx\\n", $pc',
      "monitor where",
      "info registers",
      "continue",
      mark("break2"),
      "monitor where",
      "reverse-continue",
      mark("back1"),
      "monitor where",
      "delete",
      `monitor goto ${between.event + 1}`,
      "maintenance flush register-cache",
      "watch *(int*)&line_len",
      mark("rwatch"),
      "reverse-continue",
      "monitor where",
      'printf "V=%d\\n", *(int*)&line_len',
      "continue",
      mark("fwatch"),
      "monitor where",
      "delete",
      mark("monitor"),
      `monitor s2 0x${watched().toString(16)}`,
      "monitor s2 0x12345000",
      "monitor rm vm 0x80",
      "monitor check",
      "monitor event",
      "monitor bogus",
      mark("end"),
      "continue",
      "monitor where",
      mark("start"),
      "reverse-continue",
      "monitor where",
    ]);
  }, 120_000);

  it("info threads lists the guest vCPU as a thread", () => {
    expect(s.get("threads")!.join("\n")).toMatch(/\* 1 +Thread 1 \(vm0x80 vCPU 0 \(EL1h\) at #12\) 0x0*80000000 in _start/);
  });

  it("info registers at connection is the vCPU before its first instruction (#12, before event 13's run)", () => {
    expectRegisters(s.get("regs0"), { event: 12, insns: 0 });
    expect(registersOf(s.get("regs0")).get("pc")).toBe(BigInt(symbol("_start")));
  });

  it("x/4i $pc disassembles the guest's code read through its stage-2", () => {
    expect(s.get("insns")![0]).toMatch(/=> 0x80000000 <_start>:\s+mov\s+x19, x0/);
    expect(s.get("insns")!.length).toBeGreaterThanOrEqual(4);
  });

  it("stepi moves one instruction into the exec; reverse-stepi comes back to identical registers", () => {
    expectRegisters(s.get("regs1"), { event: 12, insns: 1 });
    expect(registersOf(s.get("regs2"))).toEqual(registersOf(s.get("regs0")));
  });

  it("break on a guest function and continue stop there, between two instructions of an event", () => {
    expect(s.get("break1")).toContain(`PC=${symbol("puts").toString(16)}`);
    expect(positionOf(s.get("break1"))).toBe("#92+5");
    expectRegisters(s.get("break1"), { event: 92, insns: 5 });
    expect(positionOf(s.get("break2"))).toBe("#105+6");
    expect(readReg(focusThread(stateAtPosition(seeker, { event: 105, insns: 6 }), VCPU)!.cpu, REG_PC)).toBe(BigInt(symbol("puts")));
    expect(positionOf(s.get("back1"))).toBe("#92+5");
  });

  it("watch and reverse-continue stop at the store that last changed the variable (a linear scan agrees)", () => {
    expect(stores.length).toBeGreaterThan(3);
    // The last store of that event: back from its end until the value is not yet the final one.
    const exec = stores[2]!.event + 1;
    const final = valueAt({ event: exec, insns: 0 });
    let k = retiredBy(seeker, exec) - 1;
    while (k > 0 && valueAt({ event: exec - 1, insns: k }) === final) k--;
    const last = { event: exec - 1, insns: k };
    expect(positionOf(s.get("rwatch"))).toBe(text(last));
    expect(s.get("rwatch")).toContain(`V=${valueAt(last)}`);
    expect(s.get("rwatch")!.join("\n")).toMatch(/Hardware watchpoint \d+: \*\(int\*\)&line_len\s+Old value = \d+\s+New value = \d+/);
    // Forward from there, the same store again (gdb steps over it and reports the change after it).
    expect(positionOf(s.get("fwatch"))).toBe(text({ event: last.event, insns: last.insns + 1 }));
  });

  it("monitor commands: s2 translation, RM record, invariants, the event, unknown commands", () => {
    const m = s.get("monitor")!.join("\n");
    expect(m).toMatch(new RegExp(`vm0x80 IPA 0x${watched().toString(16)} -> PA 0x[0-9a-f]+ RWX memextent 0x[0-9a-f]+, owner \\S+`));
    expect(m).toContain("vm0x80 IPA 0x12345000: not mapped in its stage-2");
    expect(m).toMatch(/rm\.vms\.0x80 at #\d+/);
    expect(m).toMatch(/ok: \d+ invariants hold at #\d+/);
    expect(m).toMatch(/inside: #\d+ t=\S+ vcpu_exec vm0x80\/vcpu0 ran \d+ insns/);
    expect(m).toContain("unknown monitor command 'bogus'");
  });

  it("continue at the end stops with history end; reverse-continue with nothing set goes to the start", () => {
    const end = s.get("end")!.join("\n");
    let alive = -1;
    seeker.walk(0, seeker.count - 1, (i, st) => {
      if (focusThread(st, VCPU) !== undefined) alive = i;
      return false;
    });
    expect(alive).toBeLessThan(seeker.count - 1);
    expect(end).toContain(`hvsim: the vCPUs are gone after this (the trace goes on to #${seeker.count - 1}; hvsim log shows it), after event #${alive}`);
    expect(positionOf(s.get("end"))).toBe(`#${alive}`);
    const start = s.get("start")!.join("\n");
    // Not genesis: before the vCPU's first instruction, the earliest place with registers to show.
    expect(start).toContain("hvsim: the start of this vCPU's history (before its first instruction, at #12)");
    expect(start).toContain("No more reverse-execution history.");
    expect(positionOf(s.get("start"))).toBe("#12");
  });
});

describe("hvsim gdb TRACE: bad input", () => {
  it("a trace without guest code, a damaged trace, a bad --vm or --at: one line and exit 2", async () => {
    const scripted = join(dir, "scripted.hvt");
    expect((await cli("record", "smoke", "--seed", "1", "--max-events", "20", "-o", scripted)).code).toBe(0);
    // Each is refused before anything is served (in-process: nothing reads stdin).
    const none = await cli("gdb", scripted, "--stdio");
    expect(none.code).toBe(2);
    expect(none.stderr).toEqual([`hvsim: ${scripted}: no guest code in this trace (no vcpu_exec event): gdb needs a vCPU that runs`]);
    const cut = join(dir, "cut.hvt");
    writeFileSync(cut, readFileSync(trace).subarray(0, 3000));
    const damaged = await cli("gdb", cut, "--stdio");
    expect(damaged.code).toBe(2);
    expect(damaged.stderr[0]).toMatch(/^hvsim: .*cut\.hvt: incomplete trace: the recording did not finish: no footer after 0 whole blocks/);
    expect(damaged.stderr.join("\n")).not.toMatch(/\n\s+at /);
    expect((await cli("gdb", trace, "--vm", "0x99", "--stdio")).stderr).toEqual([`hvsim: ${trace}: no vCPU of VM 0x99 runs guest code in this trace`]);
    // Before the vCPU exists gdb would have no registers to ask for: refused, saying where it can stand.
    expect((await cli("gdb", trace, "--at", "5", "--stdio")).stderr).toEqual([`hvsim: ${trace}: no vCPU gdb could show exists at #5 (gdb needs one's registers); the first instruction is at #12, the last place with one is #132`]);
    const at = await cli("gdb", trace, "--at", "nope", "--stdio");
    expect(at.code).toBe(2);
    expect(at.stderr).toEqual(["hvsim: --at: expected N or N+K (an event index, K instructions into the next), got 'nope'"]);
    expect((await cli("gdb", trace, "--at", "12+600", "--stdio")).stderr).toEqual([`hvsim: ${trace}: no instruction 600 in event 13`]);
  }, 60_000);
});
