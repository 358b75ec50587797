/**
 * Content addressing across records (delta.ts, REF): a stored state names the bytes an event of its
 * window carried instead of repeating them, and a seek rebuilds the very state the checkpoint hashes.
 */
import { describe, expect, it } from "vitest";
import { resolveScenario } from "../src/sim/resolve.ts";
import { REF } from "../src/trace/delta.ts";
import { RecordType } from "../src/trace/format.ts";
import { seekerForTrace } from "../src/timetravel/open.ts";
import { stateHash } from "../src/core/hash.ts";
import { readerOf, recordBytes } from "./helpers.ts";

// long-run in blocks of 1024 with a state stored every 4th: stored states after events 4095, 8191, ...
const bytes = recordBytes(resolveScenario("long-run"), { seed: 1, maxEvents: 20_480, blockEvents: 1024, snapshotEveryBlocks: 4 });

/** Every [seq, field] a change names, as a REF or a named byte run. */
function namesIn(change: unknown, out: [number, string][] = []): [number, string][] {
  if (!Array.isArray(change)) return out;
  if (change[0] === REF && change.length === 3) out.push([change[1] as number, change[2] as string]);
  else if (change[0] === 1) for (const c of Object.values(change[1] as Record<string, unknown>)) namesIn(c, out);
  else if (change[0] === 2) for (const [, c] of change[2] as [number, unknown][]) namesIn(c, out);
  else if (change[0] === 3) for (const run of change[1] as unknown[][]) if (run.length === 3) out.push([run[1] as number, run[2] as string]);
  return out;
}

describe("a stored delta names the event that carried its bytes", () => {
  const events = new Map<number, Record<string, unknown>>();
  const deltas: { seq: number; baseSeq: number; names: [number, string][]; size: number }[] = [];
  for (const item of readerOf(bytes).items()) {
    if (item.type === "block") for (const ev of item.events) events.set(ev.seq, ev as unknown as Record<string, unknown>);
    if (item.type === "checkpoint" && item.delta !== undefined) deltas.push({ seq: item.seq, baseSeq: item.delta.baseSeq, names: namesIn(item.delta.change), size: item.end - item.offset });
  }

  it("every delta of long-run names vm_mem_write data of its own window, and stores far fewer bytes than it names", () => {
    expect(deltas.map((d) => d.seq)).toEqual([4095, 8191, 12287, 16383, 20479]);
    // The first is mostly the VMs created since genesis (whole new subtrees); the rest are the guests' block I/O.
    expect(deltas[0]!.names).toEqual([]);
    for (const d of deltas.slice(1)) {
      expect(d.names.length, `delta after ${d.seq}`).toBeGreaterThan(20);
      let named = 0;
      for (const [seq, field] of d.names) {
        expect(seq > d.baseSeq && seq <= d.seq, `event ${seq} in ${d.baseSeq + 1}..${d.seq}`).toBe(true);
        const ev = events.get(seq)!;
        expect([ev.kind, field]).toEqual(["vm_mem_write", "data"]);
        named += (ev.data as Uint8Array).length;
      }
      expect(d.size).toBeLessThan(named);
    }
  });

  it("a seek rebuilds each stored state through the named events: the state its checkpoint hashes", () => {
    const reader = readerOf(bytes);
    const hashes = new Map<number, string>();
    for (const item of reader.items()) if (item.type === "checkpoint") hashes.set(item.seq, item.hash);
    const seeker = seekerForTrace(readerOf(bytes));
    // From the last stored state back (a fresh rebuild of each chain), each state hashes as recorded.
    for (const d of [...deltas].reverse()) expect(stateHash(seeker.stateAt(d.seq))).toBe(hashes.get(d.seq));
  });
});
