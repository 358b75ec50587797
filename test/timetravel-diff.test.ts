import { describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { plainEqual } from "../src/core/equal.ts";
import type { EventBase, Outcome } from "../src/core/event.ts";
import { hvModel } from "../src/model/machine.ts";
import type { HypEvent } from "../src/model/events.ts";
import { smokeScenario } from "../src/sim/builtin/smoke.ts";
import { memorySink } from "../src/trace/source.ts";
import { writeTraceFromEvents } from "../src/trace/rewrite.ts";
import { verifyTrace } from "../src/trace/verify.ts";
import { memoryIo } from "../src/cli/io.ts";
import { runDiffReplay } from "../src/cli/commands/diff.ts";
import { seekerForTrace, type MachineModel } from "../src/timetravel/open.ts";
import { diffTraces } from "../src/timetravel/tracediff.ts";
import { cli, readerOf, recordBytes, tempDir } from "./helpers.ts";
import { RecordType } from "../src/trace/format.ts";
import { assemble, indexOfType, splitTrace } from "./trace-edit.ts";

const side = (bytes: Buffer) => {
  const reader = readerOf(bytes);
  return { header: reader.header, seeker: seekerForTrace(reader) };
};

function events(bytes: Buffer): { ev: EventBase; outcome: Outcome }[] {
  return [...readerOf(bytes).events()];
}

/** The first index where the events differ, by a plain linear comparison (or where one ends). */
function linearFirstDifference(a: Buffer, b: Buffer): number | null {
  const ea = events(a);
  const eb = events(b);
  for (let i = 0; i < Math.min(ea.length, eb.length); i++) if (!plainEqual(ea[i]!.ev, eb[i]!.ev)) return i;
  return ea.length === eb.length ? null : Math.min(ea.length, eb.length);
}

describe("trace diff", () => {
  it("two runs of the same seed are the same run", async () => {
    const a = recordBytes(smokeScenario, { seed: 9, maxEvents: 2000 });
    const b = recordBytes(smokeScenario, { seed: 9, maxEvents: 2000 });
    const d = diffTraces(side(a), side(b));
    expect(d.same).toBe(true);
    expect(d.firstEvent).toBeNull();
    const dir = tempDir();
    writeFileSync(join(dir, "a.hvt"), a);
    writeFileSync(join(dir, "b.hvt"), b);
    const r = await cli("diff", join(dir, "a.hvt"), join(dir, "b.hvt"));
    expect(r.code).toBe(0);
    expect(r.stdout[2]).toBe("same run: identical header, events, outcomes and checkpoints");
  });

  it("a damaged checkpoint is the trace's damage, and a checkpoint stored with another hash is not the same run", async () => {
    const a = recordBytes(smokeScenario, { seed: 9, maxEvents: 2000, blockEvents: 256 });
    const dir = tempDir();
    const fa = join(dir, "ca.hvt");
    writeFileSync(fa, a);
    const rs = splitTrace(a);
    const k = indexOfType(rs, RecordType.checkpoint, 3);
    const flipped = Buffer.from(a);
    const [offset, seq] = readerOf(a).footer()!.checkpoints[3]!;
    expect(seq).toBe(767);
    flipped[offset + 12]! ^= 0x40; // inside its body: the checksum no longer holds
    writeFileSync(join(dir, "flipped.hvt"), flipped);
    const damaged = await cli("diff", join(dir, "flipped.hvt"), fa);
    expect(damaged.code).toBe(2);
    expect(damaged.stderr).toEqual([expect.stringMatching(/flipped\.hvt: damaged at byte offset \d+ \(block 3\): the checkpoint record at offset \d+ \(after event 767\): its checksum is wrong/)]);
    (rs[k]!.body as { hash: string }).hash = "0".repeat(64);
    writeFileSync(join(dir, "rehashed.hvt"), assemble(rs, { footer: "rebuild" }));
    const other = await cli("diff", join(dir, "rehashed.hvt"), fa);
    expect(other.code).toBe(1);
    expect(other.stdout).toContain("  the checkpoint after #767 has another state hash: the same events gave another state");
  });

  it("two seeds diverge at the first differing event found by a linear comparison", () => {
    for (const [s1, s2] of [[1, 2], [3, 4], [5, 8]] as const) {
      const a = recordBytes(smokeScenario, { seed: s1, maxEvents: 1500 });
      const b = recordBytes(smokeScenario, { seed: s2, maxEvents: 1500 });
      const d = diffTraces(side(a), side(b));
      expect(d.same).toBe(false);
      expect(d.header.map((h) => h.field)).toEqual(["seed"]);
      expect(d.firstEvent).toBe(linearFirstDifference(a, b));
      expect(d.alignment!.common + d.alignment!.missing.length).toBe(Math.min(400, 1500 - d.firstEvent!));
    }
  });

  it("a longer run of the same seed diverges where the shorter one ends; alignment finds the inserted tail", () => {
    const a = recordBytes(smokeScenario, { seed: 4, maxEvents: 1000 });
    const b = recordBytes(smokeScenario, { seed: 4, maxEvents: 1100 });
    const d = diffTraces(side(a), side(b));
    expect(d.firstEvent).toBe(1000);
    expect(d.firstOutcome).toBeNull();
    expect(d.alignment!.inserted).toHaveLength(100);
    expect(d.alignment!.missing).toHaveLength(0);
  });

  it("an edited stored outcome is found by outcome, not by event", () => {
    const a = recordBytes(smokeScenario, { seed: 6, maxEvents: 800 });
    const inputs = events(a).map(({ ev, outcome }, i) => ({ ev, outcome: i === 321 ? { x: [7n] } : outcome }));
    const sink = memorySink();
    const h = readerOf(a).header;
    writeTraceFromEvents(sink, { modelVersion: h.modelVersion, scenario: h.scenario, seed: h.seed, config: h.config, generator: h.generator }, inputs, {});
    const d = diffTraces(side(a), side(sink.bytes()));
    expect(d.firstEvent).toBeNull();
    expect(d.firstOutcome).toBe(321);
  });

  it("diff --replay with a deliberately changed model reports the first event whose outcome changed", () => {
    const bytes = recordBytes(smokeScenario, { seed: 2, maxEvents: 2000 });
    // Test-only model switch: hypercall 0x63 now "succeeds" (X0 = 0) instead of ERROR_UNIMPLEMENTED.
    const changed: MachineModel = {
      ...(hvModel as MachineModel),
      version: "hvsim-model/test-changed",
      apply: ((d: never, ev: HypEvent) => {
        const out = hvModel.apply(d, ev);
        return ev.kind === "hypercall" && ev.call === 0x63 ? { x: [0n] } : out;
      }) as never,
    };
    const expected = events(bytes).findIndex(({ ev }) => ev.kind === "hypercall" && (ev as HypEvent & { call: number }).call === 0x63);
    expect(expected).toBeGreaterThan(0);
    expect(verifyTrace(readerOf(bytes), {}, changed as never).finding).toMatchObject({ type: "divergence", seq: expected });
    const dir = tempDir();
    const file = join(dir, "a.hvt");
    writeFileSync(file, bytes);
    const io = memoryIo();
    expect(runDiffReplay(io, file, changed)).toBe(1);
    expect(io.stdout[0]).toBe(`recorded by ${hvModel.version}, replayed with hvsim-model/test-changed`);
    expect(io.stdout[1]).toBe(`stored outcomes no longer hold: divergence at event ${expected} (hypercall): stored outcome {"x":["0xffffffffffffffff"]}, recomputed {"x":["0x0"]}`);
    const same = memoryIo();
    expect(runDiffReplay(same, file)).toBe(0);
  });
});
