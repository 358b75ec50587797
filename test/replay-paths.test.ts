import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { replay } from "../src/core/replay.ts";
import { reduce } from "../src/core/reducer.ts";
import { stateHash } from "../src/core/hash.ts";
import { hvModel, DEFAULT_PLATFORM, type Machine } from "../src/model/machine.ts";
import type { HypEvent } from "../src/model/events.ts";
import { smokeScenario } from "../src/sim/builtin/smoke.ts";
import { builtinScenarios } from "../src/sim/builtin/index.ts";
import { verifyTrace } from "../src/trace/verify.ts";
import { readerOf, recordBytes } from "./helpers.ts";

function checkpointHashes(bytes: Buffer, path: "fast" | "pure"): string[] {
  const hashes: string[] = [];
  const reader = readerOf(bytes);
  const genesis = hvModel.genesis(reader.header.config as never);
  const r = replay(hvModel, genesis, reader.items(), { path, onCheckpoint: (_seq, hash) => hashes.push(hash) });
  expect(r.finding).toBeNull();
  return hashes;
}

describe("fast and pure replay", () => {
  it.each(builtinScenarios().map((s) => [s.name, s] as const))(
    "agree on the state hash at every checkpoint of built-in scenario %s",
    (_name, scenario) => {
      const bytes = recordBytes(scenario, { seed: 11, maxEvents: Math.min(scenario.maxEvents, 3000), blockEvents: 128 });
      const fast = checkpointHashes(bytes, "fast");
      const pure = checkpointHashes(bytes, "pure");
      expect(fast.length).toBeGreaterThan(2);
      expect(pure).toEqual(fast);
    },
  );

  it("verify counts every event of a recorded trace", () => {
    const bytes = recordBytes(smokeScenario, { seed: 5, maxEvents: 1500 });
    const r = verifyTrace(readerOf(bytes));
    expect(r.finding).toBeNull();
    expect(r.verified).toBe(1500);
    expect(r.checkpointsVerified).toBe(2); // genesis + 1 block (of up to 4096)
  });

  // Random event sequences straight into the reducer, both ways: same outcomes, same hashes, and
  // the same trace error (if any) at the same index.
  const eventArb = fc.array(
    fc.oneof(
      fc.record({
        kind: fc.constant("hypercall" as const),
        dt: fc.integer({ min: 0, max: 1_000_000 }),
        call: fc.integer({ min: 0, max: 0x80 }),
        args: fc.array(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { maxLength: 8 }),
      }),
      fc.record({ kind: fc.constant("timer_tick" as const), dt: fc.integer({ min: 0, max: 10_000_000 }) }),
    ),
    { maxLength: 80 },
  );

  it("agree for random event sequences (property)", () => {
    fc.assert(
      fc.property(eventArb, (raw) => {
        let t = 0;
        const events: HypEvent[] = raw.map((r, seq) => {
          t += r.dt;
          return r.kind === "hypercall"
            ? { kind: "hypercall", seq, t, vm: 255, vcpu: 0, call: r.call, args: r.args }
            : { kind: "timer_tick", seq, t };
        });
        const genesis = hvModel.genesis({ platform: DEFAULT_PLATFORM } as never);
        // Pure: reduce one event at a time; fast: the recipes on a mutable copy.
        let pure: Machine = genesis;
        const pureOutcomes: unknown[] = [];
        let pureError: number | null = null;
        for (const ev of events) {
          try {
            const [next, o] = reduce(hvModel, pure, ev);
            pure = next;
            pureOutcomes.push(o);
          } catch {
            pureError = ev.seq;
            break;
          }
        }
        const block = { type: "block" as const, events: events.slice(0, pureOutcomes.length), outcomes: pureOutcomes as never[] };
        const fast = replay(hvModel, genesis, [block]);
        expect(fast.finding).toBeNull();
        expect(stateHash(fast.state)).toBe(stateHash(pure));
        if (pureError !== null) {
          const again = replay(hvModel, genesis, [{ type: "block", events, outcomes: [...pureOutcomes, ...events.map(() => ({}))] as never[] }]);
          expect(again.finding).toMatchObject({ type: "trace_error", seq: pureError });
        }
      }),
      { numRuns: 100 },
    );
  });
});
