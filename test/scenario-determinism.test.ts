import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { recordBytes, tempDir } from "./helpers.ts";
import { resolveScenario } from "../src/sim/resolve.ts";
import { PINNED_CASES, PINNED_FILE, traceSha256 } from "./pinned-traces.ts";

const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

describe("same scenario and seed, same bytes", () => {
  it("twice in one process, for a scenario file with several VMs", () => {
    const s = resolveScenario("scenarios/smmu-dma.yaml");
    const a = recordBytes(s, { seed: 9 });
    const b = recordBytes(s, { seed: 9 });
    expect(sha(a)).toBe(sha(b));
    expect(sha(recordBytes(s, { seed: 10 }))).not.toBe(sha(a));
  });

  it("across processes: `node bin/hvsim.mjs record` twice gives byte-identical files", () => {
    const dir = tempDir();
    const run = (out: string): Buffer => {
      execFileSync(process.execPath, ["bin/hvsim.mjs", "record", "scenarios/vm-crash-restart.yaml", "--seed", "5", "-o", out], { stdio: "pipe" });
      return readFileSync(out);
    };
    const a = run(join(dir, "a.hvt"));
    const b = run(join(dir, "b.hvt"));
    expect(a.length).toBeGreaterThan(1000);
    expect(sha(a)).toBe(sha(b));
    // ...and the same bytes as recording in this process.
    expect(sha(recordBytes(resolveScenario("scenarios/vm-crash-restart.yaml"), { seed: 5 }))).toBe(sha(a));
  });

  const pinned = JSON.parse(readFileSync(PINNED_FILE, "utf8")) as { pins: { scenario: string; seed: number; maxEvents: number; sha256: string }[] };
  it("the pinned list covers exactly the pinned cases (update both through tools/pin-traces.ts)", () => {
    expect(pinned.pins.map(({ scenario, seed, maxEvents }) => ({ scenario, seed, maxEvents }))).toEqual(PINNED_CASES);
  });
  it.each(pinned.pins.map((p) => [`${p.scenario} --seed ${p.seed}`, p] as const))(
    "%s records to its pinned SHA-256 (if the change is deliberate: node bin/run-ts.mjs tools/pin-traces.ts)",
    (_label, p) => {
      expect(traceSha256(p)).toBe(p.sha256);
    },
  );
});
