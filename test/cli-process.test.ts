import { describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cli, tempDir } from "./helpers.ts";

const bin = fileURLToPath(new URL("../bin/hvsim.mjs", import.meta.url));

describe("the hvsim process", () => {
  const dir = tempDir();

  it("run records the default scenario, replays it and says it reproduced (the quick start)", async () => {
    const out = join(dir, "default.hvt");
    const r = await cli("run", "-o", out);
    expect(r.code).toBe(0);
    expect(r.stdout).toContainEqual(expect.stringMatching(/^reproduced: yes \(replayed final state [0-9a-f]{16}, every invariant held after every event\)$/));
    expect(r.stdout).toContain("next:");
  });

  it("--help works from the bin script with no build step", () => {
    const r = spawnSync(process.execPath, [bin, "--help"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: hvsim \[options\] \[command\]/);
  });

  it("a reader that stops early (| head) ends the output quietly, without a stack trace", async () => {
    const trace = join(dir, "smoke.hvt");
    expect(spawnSync(process.execPath, [bin, "record", "smoke", "--seed", "1", "-o", trace]).status).toBe(0);
    const child = spawn(process.execPath, [bin, "log", trace], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.once("data", () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(code).toBe(0);
    expect(stderr).toBe("");
  });

  it("on a terminal, a line printed after a progress redraw clears it first (they do not run together)", () => {
    // script(1) gives the process a terminal; its output keeps the raw redraws.
    const r = spawnSync("script", ["-qec", `${process.execPath} ${bin} fuzz --seeds 1..2 --scenario smoke --max-events 50`, "/dev/null"], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("\r\x1b[2Kfuzz 1/2 seeds, 0 failing\r\x1b[2Kseed=1 ok");
    expect(r.stdout).not.toMatch(/failingseed=/);
  });
});
