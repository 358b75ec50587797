import { describe, expect, it } from "vitest";
import { existsSync, writeFileSync } from "node:fs";
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
// What a command that reads through the footer index says when it reaches the block: where and what.
const found = `hvsim: ${file}: damaged at byte offset ${second.offset} (block 1): checksum mismatch in the block record at offset ${second.offset}`;

describe("every command that reads the whole trace finds the damage when it opens it and reports it the same way", () => {
  const commands: [string, string[], number][] = [
    ["replay", ["replay", file], 2],
    ["info --verify", ["info", file, "--verify"], 2],
    ["check", ["check", file], 2],
    ["bisect (never)", ["bisect", file, "--until", "seq > 100000"], 2],
    ["bisect (found before the damage)", ["bisect", file, "--until", "seq >= 7"], 1],
    ["export text", ["export", file, "--format", "text"], 2],
    ["export perfetto", ["export", file, "--format", "perfetto", "-o", join(dir, "p.json")], 2],
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

  it("export text prints exactly the whole events, the lines log prints before it meets the damage", async () => {
    const exported = await cli("export", file, "--format", "text");
    expect(exported.stdout).toHaveLength(512);
    expect(exported.stdout.at(-1)).toMatch(/^#511 /);
    expect((await cli("log", file)).stdout).toEqual(exported.stdout);
  });
});

describe("a command that reads through the footer index meets the damage only where it reads", () => {
  it("log prints the 512 events before the damaged block, then the one line naming it: exit 2", async () => {
    const r = await cli("log", file);
    expect([r.code, r.stdout.length, r.stdout.at(-1)?.slice(0, 5), r.stderr]).toEqual([2, 512, "#511 ", [found]]);
  });

  it("log --from/--to on either side of the damaged block never reads it: exit 0", async () => {
    for (const [from, to] of [["0", "511"], ["1024", "end"]]) {
      const r = await cli("log", file, "--from", from!, "--to", to!);
      expect([from, r.code, r.stderr, r.stdout.length]).toEqual([from, 0, [], to === "end" ? 3000 - 1024 : 512]);
    }
  });

  it("export of a window reads only the window's blocks: past the damage exit 0; across it, what came before and the one line", async () => {
    const after = await cli("export", file, "--format", "text", "--from", "1024", "--to", "end");
    expect([after.code, after.stderr, after.stdout.length, after.stdout[0]?.slice(0, 6)]).toEqual([0, [], 3000 - 1024, "#1024 "]);
    const across = await cli("export", file, "--format", "text", "--from", "0", "--to", "end");
    expect([across.code, across.stdout.length, across.stdout.at(-1)?.slice(0, 5), across.stderr]).toEqual([2, 512, "#511 ", [found]]);
    // Into a file: an export that could not finish writes nothing.
    const out = join(dir, "window.json");
    const r = await cli("export", file, "--format", "perfetto", "--from", "100", "--to", "700", "-o", out);
    expect([r.code, r.stderr, existsSync(out)]).toEqual([2, [found], false]);
  });

  it("info describes it from the footer index and says the blocks are checked only when read: exit 0", async () => {
    const r = await cli("info", file);
    expect([r.code, r.stderr]).toEqual([0, []]);
    expect(r.stdout).toContainEqual(expect.stringMatching(/^events {5}3000 in 6 blocks of up to 512$/));
    expect(r.stdout).toContainEqual(expect.stringMatching(/^integrity  index ok: the trailer's and footer's checksums verified and the footer index consistent; blocks are checked when read$/));
  });

  it("state before the damage is printed without a word about it; past it, the one line: exit 2", async () => {
    const before = await cli("state", file, "--at", "100", "--path", "seq");
    expect([before.code, before.stdout, before.stderr]).toEqual([0, ["100"], []]);
    const past = await cli("state", file, "--at", "2000");
    expect([past.code, past.stdout, past.stderr]).toEqual([2, [], [found]]);
  });

  it("diff of the trace with itself reads block 1 of both and stops there: exit 2", async () => {
    const r = await cli("diff", file, file);
    expect([r.code, r.stderr]).toEqual([2, [found]]);
  });

  it("debug steps through the events before the damage, names it at the block, and exits 2", async () => {
    const { memoryIo } = await import("../src/cli/io.ts");
    const { runDebug } = await import("../src/cli/commands/debug.ts");
    const io = memoryIo(["goto 511", "step", "goto 600", "goto 100", "where"]);
    expect(await runDebug(io, file, {})).toBe(2);
    expect(io.stdout[0]).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: 3000 events, scenario smoke, seed 4`));
    expect(io.stdout[1]).toMatch(/^#511 /);
    // After the damage the session goes on where it was: back to #100, and `where` shows it.
    expect(io.stdout.slice(2)).toEqual([expect.stringMatching(/^#100 t=\S+ timer_tick/), expect.stringMatching(/^#100 t=\S+ timer_tick/)]);
    expect(io.stderr).toEqual([`error: ${found.slice("hvsim: ".length)}`, `error: ${found.slice("hvsim: ".length)}`]);
  });
});
