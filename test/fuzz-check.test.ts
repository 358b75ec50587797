import { describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { cli, tempDir } from "./helpers.ts";
import { parseSeedRange, parseShard, shardSeeds } from "../src/sim/fuzz.ts";

/** Splits a printed repro command into argv (it quotes with single quotes only). */
function argvOf(command: string): string[] {
  const out: string[] = [];
  const re = /'((?:[^']|'\\'')*)'|(\S+)/g;
  for (let m = re.exec(command); m !== null; m = re.exec(command)) out.push(m[1] !== undefined ? m[1].replace(/'\\''/g, "'") : m[2]!);
  return out;
}

describe("hvsim fuzz and check", () => {
  const dir = tempDir();

  it("passes a small seed range of the default scenario with every invariant checked", async () => {
    const r = await cli("fuzz", "--seeds", "1..3", "--max-events", "3000", "--keep", dir);
    expect(r.code).toBe(0);
    expect(r.stdout.at(-1)).toBe("fuzz: 3 seeds, 0 failing");
    expect(r.stdout.filter((l) => /^seed=\d+ ok events=\d+$/.test(l))).toHaveLength(3);
  });

  it("a deliberately broken invariant reports the failing seed and a repro command that reproduces it", async () => {
    const broken = "t < 300000000"; // breaks as soon as virtual time passes 300 ms
    const r = await cli("fuzz", "--scenario", "smoke", "--seeds", "4..5", "--assert", broken, "--keep", dir);
    expect(r.code).toBe(1);
    const line = r.stdout.find((l) => l.startsWith("seed=4 FAIL"))!;
    const m = /^seed=4 FAIL assert\(t < 300000000\) at event (\d+): .*; trace (\S+); reproduce: (.+)$/.exec(line)!;
    expect(m).not.toBeNull();
    const [, index, trace, repro] = m;
    expect(existsSync(trace!)).toBe(true);
    expect(repro).toBe("hvsim check smoke --seed 4 --assert 't < 300000000'");
    const again = await cli(...argvOf(repro!).slice(1), "--json");
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout[0]!)).toMatchObject({ ok: false, violation: { invariant: `assert(${broken})`, index: Number(index) } });
    // The kept trace fails at the same index when checked as a trace.
    const kept = await cli("check", trace!, "--assert", broken, "--json");
    expect(JSON.parse(kept.stdout[0]!).violation.index).toBe(Number(index));
  });

  it("check exits 0 with the count of events and invariants checked", async () => {
    const r = await cli("check", "smoke", "--seed", "2", "--assert", "seq >= 0");
    expect(r.code).toBe(0);
    expect(r.stdout[0]).toMatch(/^ok: 2000 events checked against \d+ invariants after every event$/);
  });

  it("shards partition the seed range, so results merge by seed", () => {
    const range = parseSeedRange("10..29");
    const all = [1, 2, 3].flatMap((i) => shardSeeds(range, parseShard(`${i}/3`)));
    expect(all.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => 10 + i));
    expect(shardSeeds(range, parseShard("2/3"))).toEqual([11, 14, 17, 20, 23, 26, 29]);
  });

  it("bad seed ranges and shards get one line and exit 2", async () => {
    for (const argv of [["--seeds", "9..3"], ["--seeds", "x"], ["--seeds", "1..2", "--shard", "4/3"]]) {
      const r = await cli("fuzz", ...argv, "--keep", join(dir, "k"));
      expect(r.code).toBe(2);
      expect(r.stderr[0]).toMatch(/^hvsim: --(seeds|shard): expected/);
    }
  });
});
