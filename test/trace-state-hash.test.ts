import { describe, expect, it } from "vitest";
import { stateHash } from "../src/core/hash.ts";
import { verifyTrace } from "../src/trace/verify.ts";
import { checkTrace } from "../src/sim/check.ts";
import { writeTraceFromEvents } from "../src/trace/rewrite.ts";
import { memorySink } from "../src/trace/source.ts";
import { RecordType } from "../src/trace/format.ts";
import { seekerForTrace } from "../src/timetravel/open.ts";
import { hvModel } from "../src/model/machine.ts";
import { smokeScenario } from "../src/sim/builtin/smoke.ts";
import { readerOf, recordBytes } from "./helpers.ts";
import { assemble, splitTrace } from "./trace-edit.ts";
import { infoLines } from "../src/cli/commands/info.ts";
import { scanTrace } from "../src/trace/scan.ts";

/** The trace with its header's `stateHash` set to `to` (or removed), every checksum right. */
function withDefinition(bytes: Buffer, to: number | undefined): Buffer {
  const rs = splitTrace(bytes);
  const h = rs[0]!.body as Record<string, unknown>;
  if (to === undefined) delete h.stateHash;
  else h.stateHash = to;
  expect(rs[0]!.type).toBe(RecordType.header);
  return assemble(rs, { footer: "rebuild" });
}

describe("the state hash definition a trace names", () => {
  const bytes = recordBytes(smokeScenario, { seed: 3, maxEvents: 700, blockEvents: 64, snapshotEveryBlocks: 2 });

  it("is 2 in new traces, which verify on both paths and check", () => {
    const reader = readerOf(bytes);
    expect(reader.header.stateHash).toBe(2);
    const fast = verifyTrace(reader);
    expect(fast.finding).toBeNull();
    expect(fast.checkpointsVerified).toBe(12); // genesis + 10 full blocks + the last, partial one
    expect(fast.finalHash).toBe(stateHash(fast.state, 2));
    expect(verifyTrace(readerOf(bytes), { path: "pure", until: 300 }).finding).toBeNull();
    expect(checkTrace(readerOf(bytes), hvModel.invariants).ok).toBe(true);
  });

  it("decides how checkpoints are verified: a header naming definition 1 over definition-2 hashes mismatches at genesis", () => {
    for (const to of [1, undefined]) {
      const r = verifyTrace(readerOf(withDefinition(bytes, to)));
      expect(r.finding).toMatchObject({ type: "hash_mismatch", seq: -1 });
      expect(checkTrace(readerOf(withDefinition(bytes, to)), hvModel.invariants).problem).toBe("hash_mismatch at event -1");
    }
  });

  it("is named by info: 2 for new traces, 1 for a header without the field", () => {
    const hashLine = (b: Buffer) => infoLines("t.hvt", scanTrace(readerOf(b))).filter((l) => l.startsWith("hash "));
    expect(hashLine(bytes)).toEqual(["hash       state hash definition 2: a tree of SHA-256 digests"]);
    expect(hashLine(withDefinition(bytes, undefined))).toEqual(["hash       state hash definition 1: SHA-256 of the whole state"]);
  });

  it("decides how a stored snapshot is checked before a seek starts from it", () => {
    expect(seekerForTrace(readerOf(bytes), { interval: 16 }).stateAt(650).seq).toBe(650);
    const wrong = seekerForTrace(readerOf(withDefinition(bytes, 1)), { interval: 16 });
    expect(() => wrong.stateAt(650)).toThrowError(/its state \(rebuilt through 5 deltas\) does not hash to its state hash/);
  });

  it("is 1 in a trace made before the choice (no field): it verifies on both paths and seeks from its snapshots", () => {
    // Such a trace, as the build before definition 2 wrote it: every checkpoint hash is definition 1.
    const seeker = seekerForTrace(readerOf(bytes));
    const rs = splitTrace(bytes);
    delete (rs[0]!.body as Record<string, unknown>).stateHash;
    let last = "";
    for (const r of rs) {
      const body = r.body as { seq: number; hash: string; finalHash: string };
      if (r.type === RecordType.checkpoint) body.hash = last = stateHash(seeker.stateAt(body.seq), 1);
      if (r.type === RecordType.footer) body.finalHash = last;
    }
    const old = assemble(rs, { footer: "rebuild" });
    expect(readerOf(old).header.stateHash).toBeUndefined();
    const r = verifyTrace(readerOf(old));
    expect(r.finding).toBeNull();
    expect(r.checkpointsVerified).toBe(12);
    expect(r.finalHash).toBe(last);
    expect(verifyTrace(readerOf(old), { path: "pure", until: 300 }).finding).toBeNull();
    expect(checkTrace(readerOf(old), hvModel.invariants).ok).toBe(true);
    expect(seekerForTrace(readerOf(old), { interval: 16 }).stateAt(650).seq).toBe(650);
  });

  it("is this build's in a trace rewritten from an older one's header", () => {
    const old = readerOf(withDefinition(bytes, undefined));
    const events = [...old.items()].flatMap((i) => (i.type === "block" ? i.events.map((ev) => ({ ev })) : []));
    const sink = memorySink();
    writeTraceFromEvents(sink, old.header, events.slice(0, 300), { blockEvents: 64 });
    const rewritten = readerOf(sink.bytes());
    expect(rewritten.header.stateHash).toBe(2);
    // The layout too is the writer's, not the copied header's (which says 64-event blocks every 2nd stored).
    expect([old.header.blockEvents, old.header.snapshotEveryBlocks]).toEqual([64, 2]);
    expect([rewritten.header.blockEvents, rewritten.header.snapshotEveryBlocks, rewritten.header.snapshotFullEvery]).toEqual([64, 4, 16]);
    expect(verifyTrace(rewritten).finding).toBeNull();
  });
});
