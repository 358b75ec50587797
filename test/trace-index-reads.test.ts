/**
 * Work proportional to what is asked (issue 15): commands that read through the footer index touch
 * only the records they need, meet damage only where they read (one line naming the offset, exit
 * 2), say so when there is no usable footer, and give the same answers as the full checked scan.
 */
import { describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { smokeScenario } from "../src/sim/builtin/smoke.ts";
import { FRAME_BYTES } from "../src/trace/format.ts";
import { TraceReader } from "../src/trace/reader.ts";
import { memorySource, type ByteSource } from "../src/trace/source.ts";
import { footerSummary, scanTrace } from "../src/trace/scan.ts";
import { openTrace } from "../src/timetravel/open.ts";
import { windowEvents } from "../src/export/exporters.ts";
import { describeEvent } from "../src/export/describe.ts";
import { stateHash } from "../src/core/hash.ts";
import { cli, readerOf, recordBytes, tempDir } from "./helpers.ts";

const dir = tempDir();
// 3000 events in 12 blocks of 256 (the last holds 184), a snapshot after every 4th block (3 of them).
const whole = recordBytes(smokeScenario, { seed: 3, maxEvents: 3000, blockEvents: 256, snapshotEveryBlocks: 4 });
const footer = readerOf(whole).footer()!;
const blockAt = (k: number): { offset: number; end: number } => ({ offset: footer.blocks[k]![0], end: footer.checkpoints[k + 1]![0] });
// One flipped byte in block 2 (events 512..767), under an intact footer.
const flipped = Buffer.from(whole);
flipped[blockAt(2).offset + FRAME_BYTES + 50]! ^= 0xff;
const file = join(dir, "flipped.hvt");
writeFileSync(file, flipped);
const found = `hvsim: ${file}: damaged at byte offset ${blockAt(2).offset} (block 2): checksum mismatch in the block record at offset ${blockAt(2).offset}`;

/** A source that records every byte range read from it. */
function countingSource(bytes: Uint8Array): ByteSource & { reads: [number, number][] } {
  const inner = memorySource(bytes, "counted.hvt");
  const reads: [number, number][] = [];
  return { ...inner, reads, read: (offset, length) => (reads.push([offset, length]), inner.read(offset, length)) };
}

/** The records a list of reads touched, by name: header, genesis, block k, checkpoint k, footer, trailer. */
function touched(reads: readonly [number, number][]): string[] {
  const records: [string, number, number][] = [["magic", 0, 8]];
  records.push(["header", 8, footer.checkpoints[0]![0]]);
  for (let k = 0; k < footer.blocks.length; k++) records.push([`block ${k}`, blockAt(k).offset, blockAt(k).end]);
  for (let k = 0; k < footer.checkpoints.length; k++) records.push([k === 0 ? "genesis" : `checkpoint ${k}`, footer.checkpoints[k]![0], k < footer.blocks.length ? blockAt(k).offset : footer.offset]);
  records.push(["footer", footer.offset, whole.length - 20], ["trailer", whole.length - 20, whole.length]);
  const names = new Set<string>();
  for (const [at, n] of reads) for (const [name, lo, hi] of records) if (at < hi && at + n > lo) names.add(name);
  return [...names].sort();
}

describe("reading through the footer index", () => {
  it("info reads the header, the trailer, the footer and block 0 only, and says what it checked", () => {
    const source = countingSource(flipped);
    const trace = openTrace(TraceReader.open(source), { reads: "asked" });
    const s = footerSummary(trace.reader, trace.store.event(0).t);
    expect([trace.store.index, s.events, s.blocks, s.checkpoints, s.snapshots, s.checked, s.damage]).toEqual(["footer", 3000, 12, 13, 3, "footer index", null]);
    expect(touched(source.reads)).toEqual(["block 0", "footer", "header", "magic", "trailer"]);
  });

  it("log --from/--to and state --at near the end read only the blocks and the snapshot they need, never the damaged block", () => {
    const source = countingSource(flipped);
    const trace = openTrace(TraceReader.open(source), { reads: "asked" });
    const lines = [...windowEvents(trace.store, { from: 2980, to: 2999 })].map(({ ev }) => ev.seq);
    expect(lines).toEqual(Array.from({ length: 20 }, (_, k) => 2980 + k));
    const state = trace.seeker({ verifyOutcomes: true }).stateAt(2900);
    expect([state.seq, trace.found]).toEqual([2900, null]);
    // The snapshot after block 7 (event 2047) is the nearest stored state: blocks 8..11 replay from
    // it. In format 3 it is a delta, so its chain back to the last whole state (checkpoint 4, a
    // delta from genesis) is read too, and nothing else.
    expect(touched(source.reads)).toEqual(["block 11", "block 8", "block 9", "block 10", "checkpoint 4", "checkpoint 8", "footer", "genesis", "header", "magic", "trailer"].sort());
  });

  it("the damaged block read on demand is one exact line, exit 2; the events before it are printed first", async () => {
    const log = await cli("log", file, "--from", "500", "--to", "600");
    expect([log.code, log.stdout.length, log.stdout.at(-1)?.slice(0, 5), log.stderr]).toEqual([2, 12, "#511 ", [found]]);
    const state = await cli("state", file, "--at", "700");
    expect([state.code, state.stdout, state.stderr]).toEqual([2, [], [found]]);
    const quiet = await cli("log", file, "--from", "end-19");
    expect([quiet.code, quiet.stdout.length, quiet.stderr]).toEqual([0, 20, []]);
    expect((await cli("info", file)).code).toBe(0);
    expect((await cli("info", file, "--verify")).code).toBe(2);
  });

  it("a file without a usable footer is scanned whole, and a command that wanted the index says so on its one damage line", async () => {
    const cut = join(dir, "cut.hvt");
    writeFileSync(cut, whole.subarray(0, whole.length - 7));
    const r = await cli("info", cut);
    expect([r.code, r.stderr.length]).toEqual([2, 1]);
    expect(r.stderr[0]).toMatch(/^hvsim: .*cut\.hvt: incomplete trace: the recording did not finish: 12 whole blocks \(3000 events\) and the footer; the trailer at offset \d+ is cut short \(13 of 20 bytes\); with no usable footer index the whole file was scanned \(hvsim repair /);

    const badFooter = Buffer.from(whole);
    badFooter[footer.offset + FRAME_BYTES + 3]! ^= 0x01;
    const bad = join(dir, "bad-footer.hvt");
    writeFileSync(bad, badFooter);
    const b = await cli("log", bad, "--from", "end-1");
    expect([b.code, b.stdout.length]).toEqual([2, 2]);
    expect(b.stderr).toEqual([
      `hvsim: ${bad}: damaged at byte offset ${footer.offset} (block 12): checksum mismatch in the footer record at offset ${footer.offset}; using the 3000 whole events before it; with no usable footer index the whole file was scanned`,
    ]);
  });
});

describe("the footer index gives the same answers as the full checked scan", () => {
  const fixtures: [string, Uint8Array][] = ["traces/pvm-boot-s1.hvt", "traces/bug-reclaim-without-sanitise-s1.hvt", "test/fixtures/format1/smoke-s7.hvt"].map((f) => [f, readFileSync(f)]);
  fixtures.push(["smoke seed 3", whole]);

  it.each(fixtures)("%s: info, log windows and states", (_, bytes) => {
    const lazy = openTrace(readerOf(bytes), { reads: "asked" });
    const full = openTrace(readerOf(bytes), { reads: "whole" });
    expect([lazy.store.index, full.store.index]).toEqual(["footer", "scan"]);
    const { checked: _c, ...summary } = footerSummary(lazy.reader, lazy.count === 0 ? null : lazy.store.event(0).t);
    const { checked: _d, ...scanned } = scanTrace(readerOf(bytes));
    expect(summary).toEqual(scanned);
    expect(lazy.store.countsByKind).toEqual(full.store.countsByKind);
    const n = full.count;
    const lazySeeker = lazy.seeker({ verifyOutcomes: true });
    const fullSeeker = full.seeker({ verifyOutcomes: true });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: n - 1 }), fc.integer({ min: 0, max: 300 }), fc.integer({ min: -1, max: n - 1 }), (from, length, at) => {
        const w = { from, to: Math.min(n - 1, from + length) };
        const text = (t: typeof lazy) => [...windowEvents(t.store, w)].map(({ ev, outcome }) => describeEvent(ev, outcome));
        expect(text(lazy)).toEqual(text(full));
        expect(stateHash(lazySeeker.stateAt(at))).toBe(stateHash(fullSeeker.stateAt(at)));
      }),
      { numRuns: 15, seed: 15 },
    );
    expect([lazySeeker.divergence, fullSeeker.divergence]).toEqual([null, null]);
  });
});
