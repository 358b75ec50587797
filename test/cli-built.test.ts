import { describe, expect, it, afterAll } from "vitest";
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildCli } from "../tools/build-cli.ts";
import { cli, tempDir } from "./helpers.ts";

// The bundle bin/hvsim.mjs runs after `npm ci`, built here from the current sources (inside the
// repository, so its external packages resolve), so the built CLI cannot drift from the sources.
const outDir = fileURLToPath(new URL(`../dist/.test-cli-${process.pid}/`, import.meta.url));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe("the built CLI (dist/cli/hvsim.mjs)", () => {
  const dir = tempDir();
  const built = (...argv: string[]) => {
    const script = `const { main } = await import(${JSON.stringify(join(outDir, "hvsim.mjs"))}); process.exitCode = await main(process.argv);`;
    return spawnSync(process.execPath, ["--input-type=module", "-e", script, "hvsim", ...argv], { encoding: "utf8" });
  };

  it("records the same bytes as the sources, finds the shipped scenarios and runs the quick start", async () => {
    expect(await buildCli(outDir)).toBeGreaterThan(100_000);
    const help = built("--help");
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: hvsim \[options\] \[command\]/);

    const fromBuild = join(dir, "built.hvt");
    const fromSource = join(dir, "source.hvt");
    expect(built("record", "smoke", "--seed", "3", "--max-events", "300", "-o", fromBuild).status).toBe(0);
    expect((await cli("record", "smoke", "--seed", "3", "--max-events", "300", "-o", fromSource)).code).toBe(0);
    expect(readFileSync(fromBuild).equals(readFileSync(fromSource))).toBe(true);

    // Shipped scenario files and the AVB fixtures are found from the bundle's location too.
    const scenarios = built("scenarios");
    expect(scenarios.status).toBe(0);
    expect(scenarios.stdout).toMatch(/^long-run /m);
    const run = built("run", "-o", join(dir, "run.hvt"));
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^reproduced: yes /m);

    // Replay in segments runs them on threads from the bundle (the sources run them in turn):
    // the same lines as one pass, and no note that a segment could not run.
    const long = join(dir, "lr.hvt");
    expect(built("record", "long-run", "--max-events", "40000", "--block-events", "1024", "-o", long).status).toBe(0);
    const [threads, one] = [built("replay", long, "--jobs", "3"), built("replay", long, "--jobs", "1")];
    expect([threads.status, threads.stderr]).toEqual([0, ""]);
    expect(threads.stdout).toBe(one.stdout);
    expect(threads.stdout).toMatch(/^replayed 40000 events on the fast path: 40000 outcomes, 41 checkpoint hashes and 10 stored states verified/m);
  }, 60_000);
});
