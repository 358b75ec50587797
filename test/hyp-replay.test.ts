import { describe, expect, it } from "vitest";
import { replay } from "../src/core/replay.ts";
import { hvModel } from "../src/model/machine.ts";
import { record } from "../src/sim/record.ts";
import { memorySink, memorySource } from "../src/trace/source.ts";
import { TraceReader } from "../src/trace/reader.ts";
import { hypSecondaryScenario } from "../src/sim/builtin/hyp-secondary.ts";
import { builtinScenarios } from "../src/sim/builtin/index.ts";

function hashes(bytes: Uint8Array, path: "fast" | "pure"): { hashes: string[]; verified: number } {
  const reader = TraceReader.open(memorySource(bytes));
  const out: string[] = [];
  const r = replay(hvModel, hvModel.genesis(reader.header.config as never), reader.items(), { path, onCheckpoint: (_seq, h) => out.push(h) });
  expect(r.finding).toBeNull();
  return { hashes: out, verified: r.verified };
}

describe("hyp-secondary", () => {
  const sink = memorySink();
  const result = record(hypSecondaryScenario, sink, { seed: 7, blockEvents: 256, checkInvariants: true });
  const bytes = sink.bytes();

  it("is a built-in scenario, not the default", () => {
    expect(builtinScenarios().findIndex((s) => s.name === "hyp-secondary")).toBeGreaterThan(0);
  });
  it("records several thousand events to the end, every invariant holding after every event", () => {
    expect(result.violation).toBeNull();
    expect(result.stoppedBy).toBe("scenario_done");
    expect(result.events).toBeGreaterThan(3000);
  });
  it("replays on both paths with the same hash at every checkpoint", () => {
    const fast = hashes(bytes, "fast");
    const pure = hashes(bytes, "pure");
    expect(fast.verified).toBe(result.events);
    expect(pure.hashes).toEqual(fast.hashes);
    expect(fast.hashes.length).toBeGreaterThan(10);
    expect(fast.hashes.at(-1)).toBe(result.finalHash);
  });
  it("is deterministic: the same seed gives the same bytes", () => {
    const again = memorySink();
    record(hypSecondaryScenario, again, { seed: 7, blockEvents: 256 });
    expect(Buffer.compare(again.bytes(), bytes)).toBe(0);
  });
});
