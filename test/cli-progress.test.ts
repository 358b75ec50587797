import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { main } from "../src/cli/main.ts";
import { memoryIo, progressLine, type Io } from "../src/cli/io.ts";
import { cli, tempDir } from "./helpers.ts";

/** A terminal-like Io that keeps every progress redraw. */
function terminalIo(): Io & { progressLines: string[]; stdout: string[] } {
  const base = memoryIo();
  const progressLines: string[] = [];
  return { ...base, isTTY: true, progress: (l) => void progressLines.push(l), progressLines };
}

describe("progress on a terminal", () => {
  it("draws a bar against the known total", () => {
    expect(progressLine("replaying", 65_536, 131_072)).toBe(`replaying [${"#".repeat(15)}${".".repeat(15)}] 65536/131072 events`);
    expect(progressLine("recording", 10, Number.POSITIVE_INFINITY)).toBe(`recording [${".".repeat(30)}] 10 events`);
  });

  it("replay redraws every 64k events against the footer's count, then clears the line", async () => {
    const file = join(tempDir(), "lr.hvt");
    expect((await cli("record", "long-run", "--max-events", "70000", "-o", file)).code).toBe(0);
    const io = terminalIo();
    expect(await main(["node", "hvsim", "replay", file], io)).toBe(0);
    expect(io.progressLines).toEqual([progressLine("replaying", 65_536, 70_000), ""]);
    expect(io.stdout.at(-1)).toMatch(/^replayed 70000 events on the fast path/);
  });

  it("is silent when output is not a terminal", async () => {
    const file = join(tempDir(), "s.hvt");
    await cli("record", "smoke", "--max-events", "70000", "-o", file);
    const io = { ...memoryIo(), progressLines: [] as string[] };
    const counting: Io = { ...io, progress: (l) => void io.progressLines.push(l) };
    expect(await main(["node", "hvsim", "replay", file], counting)).toBe(0);
    expect(io.progressLines).toEqual([]);
  });
});

describe("progress on long work (check, export)", () => {
  it("check of a trace and export to a file redraw a bar against the event count, then clear it", async () => {
    // smoke: a small state, so checking every invariant after 70k events stays cheap.
    const file = join(tempDir(), "smoke.hvt");
    expect((await cli("record", "smoke", "--max-events", "70000", "-o", file)).code).toBe(0);
    const check = terminalIo();
    expect(await main(["node", "hvsim", "check", file], check)).toBe(0);
    expect(check.progressLines.at(-1)).toBe("");
    expect(check.progressLines).toContain(progressLine("checking", 65_536, 70_000));
    const exp = terminalIo();
    expect(await main(["node", "hvsim", "export", file, "--format", "text", "--from", "1000", "-o", join(tempDir(), "x.txt")], exp)).toBe(0);
    expect(exp.progressLines).toEqual([0, 16_384, 32_768, 49_152, 65_536].map((n) => progressLine("exporting", n, 69_000)).concat([""]));
  });
});
