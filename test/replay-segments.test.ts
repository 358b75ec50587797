/**
 * Verified replay in segments (src/cli/segments.ts, `hvsim replay --jobs N`): cut at stored states,
 * each segment replayed from the state stored where it starts, they verify what one pass verifies
 * and report the same first finding. Here the segments run one after another in this thread (the
 * sources); test/cli-built.test.ts runs them on threads through the bundle.
 */
import { describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { resolveScenario } from "../src/sim/resolve.ts";
import { RecordType } from "../src/trace/format.ts";
import { TraceReader } from "../src/trace/reader.ts";
import { fileSource } from "../src/trace/source.ts";
import { verifyTrace } from "../src/trace/verify.ts";
import { openTrace } from "../src/timetravel/open.ts";
import { segmentBounds, verifyInSegments } from "../src/cli/segments.ts";
import { cli, recordBytes, tempDir } from "./helpers.ts";
import { assemble, indexOfType, splitTrace } from "./trace-edit.ts";

const dir = tempDir();
// 40,000 events in blocks of 1024, a state stored every 4th block: after events 4095, 8191, ...
const bytes = recordBytes(resolveScenario("long-run"), { seed: 1, maxEvents: 40_000, blockEvents: 1024 });
const write = (name: string, b: Uint8Array): string => {
  const f = join(dir, name);
  writeFileSync(f, b);
  return f;
};
const original = write("lr40k.hvt", bytes);
const open = (f: string) => openTrace(TraceReader.open(fileSource(f)), { reads: "asked" });
const onePass = (f: string) => {
  const r = verifyTrace(TraceReader.open(fileSource(f)));
  return { verified: r.verified, checkpointsVerified: r.checkpointsVerified, finding: r.finding, finalHash: r.finalHash, damage: r.damage };
};
const inSegments = async (f: string, jobs = 3) => {
  const trace = open(f);
  try {
    const r = await verifyInSegments(trace, f, segmentBounds(trace, jobs, 0), "fast", false);
    return "fallback" in r ? r : { verified: r.verified, checkpointsVerified: r.checkpointsVerified, finding: r.finding, finalHash: r.finalHash, damage: r.damage };
  } finally {
    trace.close();
  }
};
/** The trace with the stored outcomes of these events replaced by ones this build would not produce. */
const withOutcomes = (name: string, seqs: number[]): string => {
  const rs = splitTrace(bytes);
  for (const seq of seqs) (rs[indexOfType(rs, RecordType.block, seq >> 10)]!.body as { outcomes: unknown[] }).outcomes[seq & 1023] = { x: "zz" };
  return write(name, assemble(rs, { footer: "rebuild" }));
};

describe("replay in segments from stored states", () => {
  it("cuts at the stored states below an even split, and only where there is one", () => {
    const trace = open(original);
    expect(segmentBounds(trace, 3, 0)).toEqual([-1, 12287, 24575, 39999]);
    expect(segmentBounds(trace, 1, 0)).toEqual([-1, 39999]);
    // By default a trace this short is one pass: a thread costs more than it saves.
    expect(segmentBounds(trace, 3)).toEqual([-1, 39999]);
    trace.close();
  });

  it("verifies what one pass verifies: every event, every checkpoint hash, the same final state", async () => {
    const one = onePass(original);
    expect(one).toMatchObject({ verified: 40_000, finding: null, damage: null });
    expect(await inSegments(original)).toEqual(one);
    expect(await inSegments(original, 7)).toEqual(one);
  });

  it("reports the divergence one pass reports, with the same count verified before it, in whichever segment it is", async () => {
    for (const seqs of [[30_725], [5_125, 30_725], [12_288], [39_999]]) {
      const f = withOutcomes(`div-${seqs.join("-")}.hvt`, seqs);
      const one = onePass(f);
      expect(one.finding).toMatchObject({ type: "divergence", seq: seqs[0] });
      expect(await inSegments(f), seqs.join(",")).toEqual(one);
    }
  });

  it("a checkpoint hash edited where a segment starts is the hash mismatch one pass finds there", async () => {
    const rs = splitTrace(bytes);
    const c = rs[indexOfType(rs, RecordType.checkpoint, 12)]!.body as { seq: number; hash: string };
    expect(c.seq).toBe(12287);
    c.hash = "0".repeat(64);
    const f = write("hash.hvt", assemble(rs, { footer: "rebuild" }));
    const one = onePass(f);
    expect(one.finding).toMatchObject({ type: "hash_mismatch", seq: 12287 });
    expect(await inSegments(f)).toEqual(one);
  });

  it("damage in a later segment hands the replay back to one pass, which says what and where", async () => {
    const d = Buffer.from(bytes);
    const at = TraceReader.open(fileSource(original)).footer()!.blocks[30]![0];
    d[at + 40]! ^= 0x5a;
    const f = write("flip.hvt", d);
    expect(await inSegments(f)).toEqual({ fallback: "damage" });
    const [a, b] = [await cli("replay", f, "--jobs", "3"), await cli("replay", f, "--jobs", "1")];
    expect(a).toEqual(b);
    expect(a.code).toBe(2);
    expect(a.stderr).toEqual([expect.stringContaining(`damaged at byte offset ${at} (block 30): checksum mismatch in the block record at offset ${at}; using the 30720 whole events before it`)]);
  });

  it("hvsim replay --jobs says the same as one pass; a bad --jobs is one line", async () => {
    const f = withOutcomes("div-cli.hvt", [30_725]);
    for (const file of [original, f]) expect(await cli("replay", file, "--jobs", "3")).toEqual(await cli("replay", file, "--jobs", "1"));
    expect((await cli("replay", original, "--jobs", "3")).stdout.at(-1)).toMatch(/^replayed 40000 events on the fast path: 40000 outcomes, 41 checkpoint hashes and 10 stored states verified; final state [0-9a-f]{16}$/);
    const bad: [string, string][] = [["0", "--jobs: expected an integer >= 1, got '0'"], ["99", "--jobs: at most 16 segments at once, got 99"], ["two", "--jobs: expected an integer >= 1, got 'two'"]];
    for (const [arg, message] of bad) {
      const r = await cli("replay", original, "--jobs", arg);
      expect([r.code, r.stderr]).toEqual([2, [`hvsim: ${message}`]]);
    }
  });
});
