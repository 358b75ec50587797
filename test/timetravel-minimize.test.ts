import { describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { EventBase } from "../src/core/event.ts";
import type { Invariant } from "../src/core/invariants.ts";
import { hvModel, type Machine } from "../src/model/machine.ts";
import { smokeScenario } from "../src/sim/builtin/smoke.ts";
import { builtinScenarios } from "../src/sim/builtin/index.ts";
import { memorySink } from "../src/trace/source.ts";
import { writeTraceFromEvents } from "../src/trace/rewrite.ts";
import { invariantCondition, predicateCondition, findInvariant } from "../src/timetravel/condition.ts";
import { minimize } from "../src/timetravel/minimize.ts";
import { bisect } from "../src/timetravel/bisect.ts";
import { seekerForTrace } from "../src/timetravel/open.ts";
import type { AnyModel } from "../src/timetravel/seeker.ts";
import { cli, readerOf, recordBytes, tempDir } from "./helpers.ts";

const model = hvModel as unknown as AnyModel<Machine>;
const genesis = hvModel.genesis(smokeScenario.config);

/** Test-only invariant: at least three unknown hypercalls 0x33 is a "failure" (minimal: 3 events). */
const atMostTwo33: Invariant<Machine> = {
  name: "test.at_most_two_0x33",
  description: "test only",
  check: (s) => ((s.hypercallCounts["0x33"] ?? 0) >= 3 ? { path: "hypercallCounts.0x33", detail: "three 0x33 calls" } : null),
};

const eventsOf = (bytes: Buffer): EventBase[] => [...readerOf(bytes).events()].map((x) => x.ev);

describe("minimize (ddmin over events)", () => {
  const bytes = recordBytes(smokeScenario, { seed: 7, maxEvents: 4000 });
  const all = eventsOf(bytes);

  it("shrinks a failing trace of thousands of events to the 3 that matter; the output still fails", () => {
    const r = minimize(model, genesis, all, invariantCondition(atMostTwo33))!;
    console.info(`minimised ${all.length} -> ${r.events.length} events in ${r.replays} candidate replays (first failure at #${r.firstFailure})`);
    expect(r.events).toHaveLength(3);
    expect(r.budgetExhausted).toBe(false);
    expect(r.events.map((e) => [e.seq, e.kind, (e as unknown as { call: number }).call])).toEqual([[0, "hypercall", 0x33], [1, "hypercall", 0x33], [2, "hypercall", 0x33]]);
    const sink = memorySink();
    const h = readerOf(bytes).header;
    writeTraceFromEvents(sink, { ...h, generator: "test minimised" }, r.events.map((ev) => ({ ev })));
    const again = bisect(seekerForTrace(readerOf(sink.bytes())), invariantCondition(atMostTwo33));
    expect(again.index).toBe(2);
  });

  it("a late failure (0x33 called 20 times) shrinks to a few dozen events or fewer", () => {
    const r = minimize(model, genesis, all, predicateCondition<Machine>("hypercallCounts.0x33 >= 20"))!;
    console.info(`late failure: ${all.length} -> ${r.events.length} events (first failure at #${r.firstFailure}) in ${r.replays} replays`);
    expect(r.firstFailure).toBe(274);
    expect(r.events.length).toBeLessThanOrEqual(36);
    expect(r.events).toHaveLength(20);
  });

  it("respects the replay budget and still returns a failing candidate", () => {
    const cond = predicateCondition<Machine>("hypercallCounts.0x33 >= 20");
    const r = minimize(model, genesis, all, cond, { budget: 8 })!;
    expect(r.budgetExhausted).toBe(true);
    expect(r.replays).toBe(8);
    // A budget of one is the replay that finds the failure: nothing removed, and it says so.
    const one = minimize(model, genesis, all, cond, { budget: 1 })!;
    expect([one.replays, one.budgetExhausted, one.events.length]).toEqual([1, true, 275]);
    const seeker = seekerForTrace(readerOf(bytes));
    expect(cond.test(seeker.stateAt(r.kept[r.kept.length - 1]!))).toBe(true);
  });

  it("refuses a condition that holds in genesis: no event made it", () => {
    expect(() => minimize(model, genesis, all, predicateCondition<Machine>("seq >= -1"))).toThrow("`seq >= -1` holds already in the genesis state, before any event: there is nothing to minimise");
  });

  it("returns null when the trace never fails", () => {
    expect(minimize(model, genesis, all.slice(0, 10), predicateCondition<Machine>("hypercallCounts.0x33 >= 1000"))).toBeNull();
  });

  it("hvsim minimize writes a normal trace noting its origin", async () => {
    const dir = tempDir();
    const file = join(dir, "big.hvt");
    const out = join(dir, "small.hvt");
    writeFileSync(file, bytes);
    const r = await cli("minimize", file, "--until", "hypercallCounts.0x33 >= 3", "-o", out);
    expect(r.code).toBe(0);
    expect(r.stdout[1]).toMatch(/^3 events remain of 4000 \(the original first fails at #\d+\); \d+ candidate replays; 1-minimal$/);
    const info = await cli("info", out);
    expect(info.code).toBe(0);
    const small = readerOf(readFileSync(out));
    expect(small.header.generator).toBe(`hvsim minimize: minimised from ${file} (3 of 4000 events; \`hypercallCounts.0x33 >= 3\` holds)`);
    expect((await cli("replay", out)).code).toBe(0);
  });

  const faulty = builtinScenarios().flatMap((s) => (s.faults ?? []).map((name) => [s.name, name, s] as const));
  for (const [scenarioName, invariantName, scenario] of faulty) {
    it(`${scenarioName}: a trace breaking ${invariantName} shrinks and still breaks it`, () => {
      const evs = eventsOf(recordBytes(scenario, { seed: 1, maxEvents: Math.min(scenario.maxEvents, 5000) }));
      const cond = invariantCondition(findInvariant(hvModel.invariants, invariantName));
      const r = minimize(model, hvModel.genesis(scenario.config), evs, cond, { budget: 3000 })!;
      expect(r).not.toBeNull();
      expect(r.events.length).toBeLessThanOrEqual(evs.length);
    });
  }
});
