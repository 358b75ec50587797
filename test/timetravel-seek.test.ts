import { describe, expect, it } from "vitest";
import { reduce } from "../src/core/reducer.ts";
import { stateHash } from "../src/core/hash.ts";
import { replay } from "../src/core/replay.ts";
import { hvModel, type Machine } from "../src/model/machine.ts";
import { smokeScenario } from "../src/sim/builtin/smoke.ts";
import { seekerForTrace } from "../src/timetravel/open.ts";
import { changeProbe, findPrev, findNext } from "../src/timetravel/search.ts";
import { MISSING, parsePath, lookup, formatPath } from "../src/timetravel/paths.ts";
import { diffStates } from "../src/timetravel/diff.ts";
import { canonicalString } from "../src/core/hash.ts";
import { readerOf, recordBytes } from "./helpers.ts";
import { resolveScenario } from "../src/sim/resolve.ts";
import { plainEqual } from "../src/core/equal.ts";
import { shareBytes, writableBytes } from "../src/core/bytes.ts";

const bytes = recordBytes(smokeScenario, { seed: 3, maxEvents: 3000, blockEvents: 256, snapshotEveryBlocks: 4 });
const open = (interval = 100) => seekerForTrace(readerOf(bytes), { interval });

/** The state after event n by a fresh replay from genesis (no checkpoints, no snapshots). */
function freshReplay(n: number): Machine {
  const reader = readerOf(bytes);
  const r = replay(hvModel, hvModel.genesis(reader.header.config as never), reader.items(), { until: n });
  expect(r.finding).toBeNull();
  return r.state;
}

describe("seek engine", () => {
  it("goto N equals a fresh replay to N (hash), for indices across checkpoints and stored snapshots", () => {
    const seeker = open();
    for (const n of [-1, 0, 1, 99, 100, 255, 256, 1023, 1024, 1777, 2999, 5, 2500]) {
      expect(stateHash(seeker.stateAt(n)), `event ${n}`).toBe(stateHash(freshReplay(n)));
    }
  });

  it("back then step returns the identical state hash (fast-path seek vs pure reduce)", () => {
    const seeker = open();
    for (const n of [1, 100, 101, 1500, 2999]) {
      const here = seeker.stateAt(n);
      const back = seeker.stateAt(n - 1);
      const [stepped] = reduce(hvModel, back, seeker.event(n) as never);
      expect(stateHash(stepped)).toBe(stateHash(here));
    }
  });

  it("replays at most one checkpoint interval per seek once warm", () => {
    const seeker = open(100);
    seeker.walk(0, 2999, () => false); // warm: one pass leaves a checkpoint every 100 events
    const before = seeker.stats.eventsReplayed;
    for (const n of [17, 2900, 1234, 5, 2999, 600]) seeker.stateAt(n);
    expect(seeker.stats.eventsReplayed - before).toBeLessThanOrEqual(6 * 100);
  });

  it("a state the trace stores is the answer itself; a one-shot seeker keeps no checkpoints", () => {
    const once = seekerForTrace(readerOf(bytes), { interval: 100, keepCheckpoints: false });
    expect(stateHash(once.stateAt(2047))).toBe(stateHash(freshReplay(2047)));
    expect(once.stats).toEqual({ seeks: 0, eventsReplayed: 0 });
    expect(stateHash(once.stateAt(2999))).toBe(stateHash(freshReplay(2999)));
    expect(once.stats).toEqual({ seeks: 1, eventsReplayed: 2999 - 2047 });
    expect(once.cachedIndices()).toEqual([2047]);
    // The debugger's seeker keeps one every interval on the way, for the steps back that follow.
    const kept = open(100);
    kept.stateAt(2999);
    expect(kept.cachedIndices()).toEqual([2047, 2099, 2199, 2299, 2399, 2499, 2599, 2699, 2799, 2899, 2999]);
  });

  it("reverse search for a watched path stops at the event a linear scan finds", () => {
    const seeker = open(64);
    const path = parsePath("hypercallCounts.0x33");
    const key = (n: number) => {
      const v = lookup(seeker.stateAt(n), path);
      return v === MISSING ? "absent" : canonicalString(v);
    };
    for (const from of [2999, 1500, 700]) {
      let expected = -1;
      for (let i = from - 1; i >= 0; i--) if (key(i) !== key(i - 1)) { expected = i; break; }
      expect(findPrev(seeker, from - 1, changeProbe([path]))).toBe(expected);
    }
    let next = -1;
    for (let i = 11; i < 3000; i++) if (key(i) !== key(i - 1)) { next = i; break; }
    expect(findNext(seeker, 11, changeProbe([path]))).toBe(next);
  });

  it("the change one event made is a list of paths with before and after", () => {
    const seeker = open();
    let n = 0;
    while ((seeker.event(n) as { kind: string }).kind !== "hypercall") n++;
    const c = seeker.changeAt(n);
    const paths = c.diff.changes.map((x) => formatPath(x.path));
    expect(paths).toContain("seq");
    expect(paths.some((p) => p.startsWith("hypercallCounts."))).toBe(true);
    expect(stateHash(c.after)).toBe(stateHash(seeker.stateAt(n)));
  });

  it("diffs two states structurally", () => {
    const d = diffStates({ a: 1, b: [1, 2], c: { x: 1n } }, { a: 1, b: [1], c: { x: 2n }, d: "new" });
    expect(d.changes.map((c) => [formatPath(c.path), c.before, c.after])).toEqual([
      ["b[1]", 2, expect.anything()],
      ["c.x", 1n, 2n],
      ["d", expect.anything(), "new"],
    ]);
  });
});

describe("checkpoints share byte arrays with the walks that made them", () => {
  // Guest data in pages and disk sectors (long-run), and guest code storing through the CPU's TLB
  // (pvm-boot: real AArch64 code): both write byte arrays a checkpoint may share.
  for (const [name, maxEvents] of [["long-run", 5000], ["pvm-boot", 20000]] as const) {
    it(`no later walk writes into a kept checkpoint (${name})`, () => {
      const trace = recordBytes(resolveScenario(name), { seed: 1, maxEvents, blockEvents: 256, snapshotEveryBlocks: 4 });
      const seeker = seekerForTrace(readerOf(trace), { interval: 32 });
      const last = seeker.count - 1;
      seeker.walk(0, last, () => false);
      const all = seeker.cachedIndices();
      const kept = all.filter((_, j) => j % Math.ceil(all.length / 12) === 0);
      // Seeks back and forth start working copies from the checkpoints and write on through them.
      for (const n of [last, 3, Math.floor(last / 2), last - 1, 120, 1]) seeker.stateAt(n);
      seeker.walk(0, last, () => false);
      for (const i of kept) {
        const again = readerOf(trace);
        const r = replay(hvModel, hvModel.genesis(again.header.config as never), again.items(), { until: i });
        expect(plainEqual(seeker.stateAt(i), r.state), `checkpoint after event ${i}`).toBe(true);
      }
      expect(kept.length).toBeGreaterThanOrEqual(6);
    });
  }

  it("a shared byte array is copied before it is written, on the fast path too", () => {
    const page = shareBytes(new Uint8Array([1, 2, 3]));
    const container: Record<number, Uint8Array> = { 7: page };
    const w = writableBytes(container, 7, 3);
    w[0] = 9;
    expect([...page]).toEqual([1, 2, 3]);
    expect(container[7]).toBe(w);
    expect(writableBytes(container, 7, 3)).toBe(w); // the copy is the state's own: in place from now on
  });
});
