import { describe, expect, it } from "vitest";
import { truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Invariant } from "../src/core/invariants.ts";
import { hvModel, type Machine } from "../src/model/machine.ts";
import { smokeScenario } from "../src/sim/builtin/smoke.ts";
import { builtinScenarios } from "../src/sim/builtin/index.ts";
import { bisect, scanFirst } from "../src/timetravel/bisect.ts";
import { findInvariant, invariantCondition, predicateCondition } from "../src/timetravel/condition.ts";
import { seekerForTrace } from "../src/timetravel/open.ts";
import { cli, readerOf, recordBytes, tempDir } from "./helpers.ts";

/** A test-only invariant over the smoke state: fewer than five unknown 0x33 calls. */
const fewUnknown33: Invariant<Machine> = {
  name: "test.few_unknown_0x33",
  description: "fewer than five hypercalls 0x33 (test only)",
  check: (s) => ((s.hypercallCounts["0x33"] ?? 0) >= 5 ? { path: "hypercallCounts.0x33", detail: "five or more 0x33 calls" } : null),
};

describe("bisect agrees with a linear scan", () => {
  const predicates = ["hypercallCounts.0x33 >= 3", "hypercallCounts.0x00 >= 700", "t >= 300_000_000", "len(hypercallCounts) >= 5", "hypercallCounts.0x7f > 10_000"];
  for (const seed of [1, 2, 3]) {
    const bytes = recordBytes(smokeScenario, { seed, maxEvents: 3000, blockEvents: 256 });
    it(`smoke seed ${seed}: predicates and a test-only invariant`, () => {
      const conditions = [...predicates.map((p) => predicateCondition<Machine>(p)), invariantCondition(fewUnknown33)];
      for (const cond of conditions) {
        const seeker = seekerForTrace(readerOf(bytes), { interval: 128 });
        const r = bisect(seeker, cond);
        const linear = scanFirst(seekerForTrace(readerOf(bytes)), cond);
        console.info(`seed ${seed} ${cond.label}: index ${r.index}, ${r.seeks} seeks, ${r.eventsReplayed} events replayed (linear: ${linear})`);
        expect(r.index, cond.label).toBe(linear);
        expect(r.verified).toBe(true);
        expect(r.probes).toBeLessThanOrEqual(Math.ceil(Math.log2(3001)) + 2);
      }
    });
  }

  // Every built-in scenario that declares injected faults (Scenario.faults: invariant names) is
  // bisected here; adding such a scenario extends this test with no edit.
  const faulty = builtinScenarios().flatMap((s) => (s.faults ?? []).map((name) => [s.name, name, s] as const));
  if (faulty.length === 0) {
    it("no built-in scenario declares an injected fault yet", () => expect(faulty).toEqual([]));
  }
  for (const [scenarioName, invariantName, scenario] of faulty) {
    it(`${scenarioName}: bisect finds where ${invariantName} first breaks, as a linear scan does`, () => {
      const bytes = recordBytes(scenario, { seed: 1, maxEvents: Math.min(scenario.maxEvents, 20_000) });
      const cond = invariantCondition(findInvariant(hvModel.invariants, invariantName));
      const r = bisect(seekerForTrace(readerOf(bytes)), cond);
      console.info(`${scenarioName} ${invariantName}: index ${r.index}, ${r.seeks} seeks, ${r.eventsReplayed} events replayed`);
      expect(r.index).not.toBeNull();
      expect(r.index).toBe(scanFirst(seekerForTrace(readerOf(bytes)), cond));
    });
  }
});

describe("what bisect prints about the event it found", () => {
  it("a path the invariant names but the event did not change is shown once, said unchanged", async () => {
    const dir = tempDir();
    const file = join(dir, "kept.hvt");
    writeFileSync(file, recordBytes(builtinScenarios().find((s) => s.name === "bug-host-s2-kept-after-lend")!, { seed: 1 }));
    const r = await cli("bisect", file, "--invariant", "isolation.host_no_pvm_private");
    expect(r.code).toBe(1);
    expect(r.stdout[3]).toBe('  vms[3]: {"addrspace":41,"vcpus":[47,48,49,50]} (unchanged by this event)');
  });
});

describe("hvsim bisect --exit-code (git bisect run convention)", () => {
  const dir = tempDir();
  const file = join(dir, "a.hvt");
  writeFileSync(file, recordBytes(smokeScenario, { seed: 3, maxEvents: 3000 }));

  it("exits 1 when the trace reaches the condition, 0 when it never does", async () => {
    const bad = await cli("bisect", file, "--until", "hypercallCounts.0x33 >= 3", "--exit-code", "--json");
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout[0]!).index).toBe(44);
    const good = await cli("bisect", file, "--until", "hypercallCounts.0x33 >= 100000", "--exit-code", "--json");
    expect(good.code).toBe(0);
    expect(JSON.parse(good.stdout[0]!).index).toBeNull();
  });

  it("exits 125 (cannot tell) for a damaged or invalid trace, 128 (abort) for a bad predicate", async () => {
    const cut = join(dir, "cut.hvt");
    writeFileSync(cut, recordBytes(smokeScenario, { seed: 3, maxEvents: 3000 }));
    truncateSync(cut, 9000);
    expect((await cli("bisect", cut, "--until", "hypercallCounts.0x33 >= 100000", "--exit-code")).code).toBe(125);
    const junk = join(dir, "junk.hvt");
    writeFileSync(junk, "not a trace");
    expect((await cli("bisect", junk, "--until", "seq > 1", "--exit-code")).code).toBe(125);
    const usage = await cli("bisect", file, "--until", "seq >", "--exit-code");
    expect(usage.code).toBe(128);
    expect(usage.stderr).toEqual(["hvsim: predicate 'seq >': column 6: expected a value, a path or '(' but found end of input"]);
    // Ill-typed: it could never hold, which must not read as "good".
    const typed = await cli("bisect", file, "--until", "rm.vms < 3", "--exit-code");
    expect([typed.code, typed.stderr]).toEqual([128, [expect.stringMatching(/^hvsim: predicate 'rm\.vms < 3': '<' orders two numbers or two strings, got an object < a number \(after event \d+\)$/)]]);
  });

  it("without --exit-code: 1 found, 0 never, 2 bad input; text names the event and the paths", async () => {
    const r = await cli("bisect", file, "--until", "hypercallCounts.0x33 >= 3");
    expect(r.code).toBe(1);
    expect(r.stdout.slice(0, 3)).toEqual([
      "`hypercallCounts.0x33 >= 3` holds first after event #44 (checked: the condition is true after #44 and false after #43)",
      "  #44 t=0.016658593s hypercall vm0xff/vcpu0 hvc 0x6033 (unknown)() -> ERROR_UNIMPLEMENTED (-1)",
      "  hypercallCounts.0x33: 2 -> 3",
    ]);
    expect((await cli("bisect", file, "--invariant", "no.such")).code).toBe(2);
  });
});

describe("bisect does not answer beyond its monotonicity assumption", () => {
  const bytes = recordBytes(smokeScenario, { seed: 2, maxEvents: 3000, blockEvents: 256 });

  it("a condition true in the middle and false at the end is reported as not monotonic, not as 'never'", () => {
    const cond = predicateCondition<Machine>("seq >= 1000 && seq < 1500");
    const r = bisect(seekerForTrace(readerOf(bytes), { interval: 128 }), cond);
    expect(r.index).toBeNull();
    expect(r.notMonotonic).not.toBeNull();
    const { holds, fails } = r.notMonotonic!;
    // The state after event i has seq i.
    expect(holds).toBeGreaterThanOrEqual(1000);
    expect(holds).toBeLessThan(1500);
    expect(fails).toBeGreaterThanOrEqual(1500);
    expect(scanFirst(seekerForTrace(readerOf(bytes)), cond)).toBe(1000);
  });

  it("a condition true then false before the end is caught by the checkpoint samples too", () => {
    // 2047 is a checkpoint of the cache (every 128 events) the first probe fills.
    const r = bisect(seekerForTrace(readerOf(bytes), { interval: 128 }), predicateCondition<Machine>("seq >= 10 && seq != 2047"));
    expect(r.notMonotonic).toEqual({ holds: expect.any(Number), fails: 2047 });
    expect(r.index).toBeNull();
  });

  it("a short true window no sample sees: 'never' is said with what was looked at, and --scan finds it", async () => {
    const dir = tempDir();
    const file = join(dir, "w.hvt");
    writeFileSync(file, bytes);
    const r = await cli("bisect", file, "--until", "seq == 1300");
    expect(r.code).toBe(0);
    expect(r.stdout[0]).toMatch(/^`seq == 1300`: never holds at the end of .* \(3000 events\) nor in any of the \d+ other states looked at; bisect assumes once it holds it keeps holding \(--scan checks every state\)$/);
    const scan = await cli("bisect", file, "--until", "seq == 1300", "--scan");
    expect(scan.code).toBe(1);
    expect(scan.stdout[0]).toBe("`seq == 1300` holds first after event #1300 (linear scan of 1301 events)");
  });
});

describe("hvsim bisect on the default scenario (the condition from the report)", () => {
  it("rm.vms.ids[0] == 128 holds from #3 and not at the end: exit 2 with the --scan command; --scan says #3", async () => {
    const dir = tempDir();
    const file = join(dir, "pvm.hvt");
    expect((await cli("record", "--seed", "1", "-o", file)).code).toBe(0);
    const r = await cli("bisect", file, "--until", "rm.vms.ids[0] == 128");
    expect(r.code).toBe(2);
    expect(r.stdout[0]).toMatch(/^`rm\.vms\.ids\[0\] == 128` holds after #\d+ but not after the later #\d+: it does not keep holding once it holds, so a binary search has no answer$/);
    expect(r.stderr).toEqual([`hvsim: bisect cannot answer: the condition is not monotonic; the first index by a linear scan: hvsim bisect ${file} --until 'rm.vms.ids[0] == 128' --scan`]);
    expect((await cli("bisect", file, "--until", "rm.vms.ids[0] == 128", "--exit-code")).code).toBe(125);
    const scan = await cli("bisect", file, "--until", "rm.vms.ids[0] == 128", "--scan", "--json");
    expect(scan.code).toBe(1);
    expect(JSON.parse(scan.stdout[0]!)).toMatchObject({ index: 3, scan: true });
  });

  it("a path that cannot exist is a usage error before any search (128 with --exit-code)", async () => {
    const dir = tempDir();
    const file = join(dir, "s.hvt");
    writeFileSync(file, recordBytes(smokeScenario, { seed: 1, maxEvents: 300 }));
    const r = await cli("bisect", file, "--until", "rm.vmz.ids[0] == 128");
    expect(r.code).toBe(2);
    expect(r.stderr).toEqual(["hvsim: predicate 'rm.vmz.ids[0] == 128': column 1: 'rm.vmz' does not exist: rm has no key 'vmz' (did you mean 'vms'?)"]);
    expect((await cli("bisect", file, "--until", "rm.vmz.ids[0] == 128", "--exit-code")).code).toBe(128);
  });
});
