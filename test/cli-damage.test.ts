import { describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { smokeScenario } from "../src/sim/builtin/smoke.ts";
import { FRAME_BYTES } from "../src/trace/format.ts";
import { cli, hasStackTrace, readerOf, recordBytes, tempDir } from "./helpers.ts";

// One flipped byte in the second block, under an intact footer: the footer still lists every
// block, so only a check of every record finds it. Every command must say so the same way.
const dir = tempDir();
const whole = recordBytes(smokeScenario, { seed: 4, maxEvents: 3000, blockEvents: 512 });
const blocks = [...readerOf(whole).items()].filter((i) => i.type === "block");
const second = blocks[1]!;
const flipped = Buffer.from(whole);
flipped[second.offset + FRAME_BYTES + 40]! ^= 0xff;
const file = join(dir, "flipped.hvt");
writeFileSync(file, flipped);
const line = `hvsim: ${file}: damaged at byte offset ${second.offset} (block 1): checksum mismatch in the block record at offset ${second.offset}; using the 512 whole events before it`;

describe("every command opens a trace the same way and reports damage the same way", () => {
  const commands: [string, string[], number][] = [
    ["replay", ["replay", file], 2],
    ["info", ["info", file], 2],
    ["log", ["log", file], 2],
    ["state before the damage", ["state", file, "--at", "100", "--path", "seq"], 0],
    ["check", ["check", file], 2],
    ["bisect (never)", ["bisect", file, "--until", "seq > 100000"], 2],
    ["bisect (found before the damage)", ["bisect", file, "--until", "seq >= 7"], 1],
    ["export text", ["export", file, "--format", "text"], 2],
    ["export perfetto", ["export", file, "--format", "perfetto", "-o", join(dir, "p.json")], 2],
    ["diff with itself", ["diff", file, file], 2],
    ["diff --replay", ["diff", file, "--replay"], 2],
  ];
  for (const [what, argv, code] of commands) {
    it(`${what}: the damage line first, work on the 512 whole events, exit ${code}`, async () => {
      const r = await cli(...argv);
      expect(r.code).toBe(code);
      expect(r.stderr[0]).toBe(line);
      expect(hasStackTrace([...r.stdout, ...r.stderr])).toBe(false);
    });
  }

  it("log prints exactly the whole events; export text the same lines", async () => {
    const log = await cli("log", file);
    expect(log.stdout).toHaveLength(512);
    expect(log.stdout.at(-1)).toMatch(/^#511 /);
    expect((await cli("export", file, "--format", "text")).stdout).toEqual(log.stdout);
  });

  it("debug announces the whole events, steps through them, and refuses an index past the damage", async () => {
    const { memoryIo } = await import("../src/cli/io.ts");
    const { runDebug } = await import("../src/cli/commands/debug.ts");
    const io = memoryIo(["goto 511", "step", "goto 600", "where"]);
    expect(await runDebug(io, file, {})).toBe(2);
    expect(io.stdout[0]).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: 512 whole events, scenario smoke, seed 4`));
    expect(io.stdout[1]).toMatch(/^#511 /);
    expect(io.stdout[2]).toBe("at the end of the trace (#511)");
    expect(io.stderr).toEqual([line, `error: event index 600 is out of range: this trace has events 0..511 before the damage at byte offset ${second.offset} (-1 is genesis)`]);
  });

  it("state past the damage is an error naming the damage, as goto is", async () => {
    const r = await cli("state", file, "--at", "2000");
    expect(r.code).toBe(2);
    expect(r.stderr).toEqual([line, `hvsim: event index 2000 is out of range: this trace has events 0..511 before the damage at byte offset ${second.offset} (-1 is genesis)`]);
  });
});
