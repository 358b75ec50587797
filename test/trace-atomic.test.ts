/**
 * Nothing lost on a crash, nothing destroyed by a failure: a recording killed mid-write reads as
 * incomplete with the right count and repairs into a trace that replays; a recording that fails
 * leaves the file it was asked to write as it was; no command writes over its own input.
 */
import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { resolveScenario } from "../src/sim/resolve.ts";
import { cli, readerOf, recordBytes, tempDir } from "./helpers.ts";
import { scanTrace } from "../src/trace/scan.ts";
import { BLOCK_EVENTS } from "../src/trace/writer.ts";

const bin = fileURLToPath(new URL("../bin/hvsim.mjs", import.meta.url));
const dir = tempDir();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a recording killed mid-write", () => {
  it("leaves OUT.partial, which reads as incomplete with its whole blocks, is a prefix of the same run, and repairs into a trace that replays", async () => {
    const out = join(dir, "killed.hvt");
    const partial = `${out}.partial`;
    const child = spawn(process.execPath, [bin, "record", "long-run", "--seed", "1", "--max-events", "2000000", "-o", out], { stdio: "ignore" });
    const closed = new Promise<void>((r) => child.on("close", () => r()));
    // Kill it once a few blocks are on disk (long-run writes ~60 KB per 4096-event block).
    for (let i = 0; i < 600 && !(existsSync(partial) && statSync(partial).size > 150_000); i++) await sleep(50);
    child.kill("SIGKILL");
    await closed;
    expect(existsSync(out)).toBe(false);

    const bytes = readFileSync(partial);
    const s = scanTrace(readerOf(bytes));
    expect(s.damage?.code).toBe("TRACE_INCOMPLETE");
    expect(s.blocks).toBeGreaterThanOrEqual(2);
    expect(s.events).toBe(s.blocks * BLOCK_EVENTS);
    // Determinism: what was written is exactly the start of the same recording made in memory.
    const whole = s.damage!.offset;
    const again = recordBytes(resolveScenario("long-run"), { seed: 1, maxEvents: s.events + BLOCK_EVENTS });
    expect(Buffer.compare(bytes.subarray(0, whole), again.subarray(0, whole))).toBe(0);

    const info = await cli("info", partial);
    expect(info.code).toBe(2);
    expect(info.stdout).toContainEqual(expect.stringMatching(new RegExp(`^integrity  INCOMPLETE: the recording did not finish: no footer after ${s.blocks} whole blocks \\(${s.events} events\\)`)));
    expect((await cli("replay", partial)).code).toBe(2);
    const allowed = await cli("replay", partial, "--allow-incomplete");
    expect(allowed.code).toBe(0);
    expect(allowed.stdout.at(-1)).toMatch(new RegExp(`^replayed ${s.events} events`));

    const fixed = join(dir, "repaired.hvt");
    const rep = await cli("repair", partial, "-o", fixed);
    expect(rep.code).toBe(0);
    const kept = s.events - (rep.stdout.some((l) => l.startsWith("dropped block of events")) ? BLOCK_EVENTS : 0);
    expect(rep.stdout[0]).toMatch(new RegExp(`^wrote .*repaired\\.hvt: a complete trace \\(format 4, footer and trailer rebuilt\\); kept \\d+ whole blocks \\(${kept} events\\)`));
    // Killed between blocks, nothing is cut (no bytes); inside one, its partial bytes are.
    expect(rep.stdout[1]).toMatch(/^dropped (the last (1 byte|\d+ bytes)|no bytes) of .* \((from|it ends after its last whole block, at) byte offset \d+\): the recording had not finished/);
    const replayed = await cli("replay", fixed);
    expect(replayed.code).toBe(0);
    expect(replayed.stdout.at(-1)).toMatch(new RegExp(`^replayed ${kept} events`));
    expect((await cli("info", fixed)).code).toBe(0);
  }, 60_000);
});

describe("a recording that fails", () => {
  const failing = join(dir, "nine-lends.yaml");
  writeFileSync(
    failing,
    ["description: gives more parcels than the host has slots for", "vms:", "  - name: a", "    memory: 16MiB", "    guest:", "      - boot", "      - sleep: 1s", "host:", "  - create: a", "  - start: a", ...Array.from({ length: 9 }, () => "  - lend: {vm: a, size: 4KiB}")].join("\n"),
  );

  it("leaves an existing output byte for byte, and says where its partial trace is kept", async () => {
    const out = join(dir, "existing.hvt");
    expect((await cli("record", "smoke", "--seed", "3", "--max-events", "200", "-o", out)).code).toBe(0);
    const before = readFileSync(out);
    const r = await cli("record", failing, "--block-events", "16", "-o", out);
    expect(r.code).toBe(2);
    expect(Buffer.compare(readFileSync(out), before)).toBe(0);
    expect(r.stderr).toEqual([
      expect.stringMatching(new RegExp(`^hvsim: .*nine-lends\\.yaml:19:11: host\\[10\\]\\.lend: lend to a: every host parcel slot is in use \\(reclaim before giving more\\); .*existing\\.hvt was left as it was; the partial trace \\(\\d+ whole blocks?, \\d+ events\\) is kept at .*existing\\.hvt\\.partial \\(hvsim repair .*existing\\.hvt\\.partial -o .*existing\\.hvt completes it\\)$`)),
    ]);
    expect((await cli("replay", `${out}.partial`, "--allow-incomplete")).code).toBe(0);
  });

  it("keeps no partial trace when no block was whole, and creates no output", async () => {
    const out = join(dir, "never.hvt");
    const r = await cli("record", failing, "-o", out);
    expect(r.code).toBe(2);
    expect(r.stderr).toEqual([expect.stringMatching(/every host parcel slot is in use \(reclaim before giving more\)$/)]);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(false);
  });
});

describe("an output path that is an input", () => {
  it("is refused by export, minimize, repair, record and check, and the input is untouched", async () => {
    const trace = join(dir, "input.hvt");
    expect((await cli("record", "smoke", "--seed", "2", "--max-events", "100", "-o", trace)).code).toBe(0);
    const before = readFileSync(trace);
    const viaDots = join(dir, ".", "input.hvt");
    for (const args of [
      ["export", trace, "--format", "json", "-o", trace],
      ["export", trace, "--format", "text", "-o", viaDots],
      ["minimize", trace, "--until", "t < 0", "-o", trace],
      ["repair", trace, "-o", trace],
    ]) {
      const r = await cli(...args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toEqual([expect.stringMatching(/^hvsim: -o .*input\.hvt: that is this command's input .*input\.hvt; write to another file$/)]);
    }
    expect(Buffer.compare(readFileSync(trace), before)).toBe(0);
    const yaml = join(dir, "nine-lends.yaml");
    for (const cmd of ["record", "check"]) {
      const r = await cli(cmd, yaml, "-o", yaml);
      expect(r.code, cmd).toBe(2);
      expect(r.stderr).toEqual([expect.stringMatching(/that is this command's input/)]);
    }
  });

  it("export writes whole or not at all: a failed export leaves the old file", async () => {
    const bad = join(dir, "bad.hvt");
    writeFileSync(bad, Buffer.from("HVSIMTRC not really a trace"));
    const out = join(dir, "old.json");
    writeFileSync(out, "old contents\n");
    expect((await cli("export", bad, "--format", "json", "-o", out)).code).toBe(2);
    expect(readFileSync(out, "utf8")).toBe("old contents\n");
  });
});
