import { describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, hasStackTrace, readerOf, tempDir } from "./helpers.ts";
import { writeTraceFromEvents } from "../src/trace/rewrite.ts";
import { fileSink } from "../src/trace/source.ts";
import { FRAME_BYTES } from "../src/trace/format.ts";
import { BLOCK_EVENTS } from "../src/trace/writer.ts";

const dir = tempDir();
const a = join(dir, "a.hvt");

describe("hvsim record / replay / info / log / state", () => {
  // The core's tests use the model-light smoke scenario (several blocks of 512 events, fast); the
  // default scenario has its own tests.
  it("records byte-identical traces for the same seed, a different one for another seed", async () => {
    const b = join(dir, "b.hvt");
    const c = join(dir, "c.hvt");
    expect((await cli("record", "smoke", "--seed", "7", "--block-events", "512", "-o", a)).code).toBe(0);
    expect((await cli("record", "smoke", "--seed", "7", "--block-events", "512", "-o", b)).code).toBe(0);
    expect((await cli("record", "smoke", "--seed", "8", "--block-events", "512", "-o", c)).code).toBe(0);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    expect(readFileSync(a).equals(readFileSync(c))).toBe(false);
  });

  it("record --help names the default block size, and a recording without --block-events uses it", async () => {
    const help = await cli("record", "--help");
    expect(help.stdout.join(" ").replace(/\s+/g, " ")).toContain(`events per trace block (default ${BLOCK_EVENTS}); a checkpoint with the state hash follows each`);
    const out = join(dir, "default-blocks.hvt");
    expect((await cli("record", "smoke", "--max-events", "10", "-o", out)).code).toBe(0);
    expect(readerOf(readFileSync(out)).header.blockEvents).toBe(BLOCK_EVENTS);
  });

  it("prints the seed and options before running", async () => {
    const r = await cli("record", "--seed", "7", "-o", join(dir, "s.hvt"));
    expect(r.stdout[0]).toMatch(/^SEED=7 scenario=\S+ max-events=\d+ out=/);
  });

  it("replay exits 0 and says how many events were verified", async () => {
    const r = await cli("replay", a);
    expect(r.code).toBe(0);
    const events = [...readerOf(readFileSync(a)).events()].length;
    expect(r.stdout.at(-1)).toMatch(new RegExp(`^replayed ${events} events on the fast path: ${events} outcomes, \\d+ checkpoint hashes and \\d+ stored states? verified`));
  });

  it("a trace whose stored outcome differs makes replay exit 3 naming that event", async () => {
    const reader = readerOf(readFileSync(a));
    const events = [...reader.events()];
    const victim = 137;
    const edited = join(dir, "edited.hvt");
    writeTraceFromEvents(
      fileSink(edited),
      { ...reader.header, generator: "test" },
      events.map(({ ev, outcome }) => (ev.seq === victim ? { ev, outcome: { ...outcome, edited: 1 } } : { ev, outcome })),
      { blockEvents: reader.header.blockEvents },
    );
    const r = await cli("replay", edited);
    expect(r.code).toBe(3);
    expect(r.stderr).toHaveLength(1);
    expect(r.stderr[0]).toMatch(new RegExp(`^hvsim: divergence at event ${victim} \\(${events[victim]!.ev.kind}\\): stored outcome .*"edited":1`));
    expect(r.stdout).toContain(`replayed ${victim} events before the finding`);
  });

  it("a trace cut 60% of the way through its blocks: info reports it incomplete with the surviving events; replay replays them and exits 2", async () => {
    const bytes = readFileSync(a);
    const cut = join(dir, "cut.hvt");
    // By blocks, not bytes: the (compressed) genesis state is a large part of a short trace.
    const blocks = readerOf(bytes).footer()!.blocks;
    writeFileSync(cut, bytes.subarray(0, blocks[Math.floor(blocks.length * 0.6)]![0] + 20));
    const info = await cli("info", cut);
    expect(info.code).toBe(2);
    const dmg = info.stdout.find((l) => l.startsWith("integrity  INCOMPLETE"));
    expect(dmg).toMatch(/^integrity {2}INCOMPLETE: the recording did not finish: no footer after \d+ whole blocks? \(\d+ events\); the \w+ record at offset \d+ is cut short/);
    const n = Number(/\((\d+) events\)/.exec(dmg!)![1]);
    expect(n).toBeGreaterThan(0);

    const rep = await cli("replay", cut);
    expect(rep.code).toBe(2);
    expect(rep.stdout.at(-1)).toMatch(new RegExp(`^replayed ${n} events`));
    expect(rep.stderr).toEqual([expect.stringMatching(new RegExp(`^hvsim: .*cut\\.hvt: incomplete trace: the recording did not finish: no footer after \\d+ whole blocks? \\(${n} events\\)`))]);
    expect(hasStackTrace([...info.stdout, ...info.stderr, ...rep.stdout, ...rep.stderr])).toBe(false);
  });

  it("a flipped byte inside a block is caught by its checksum and named", async () => {
    const bytes = Buffer.from(readFileSync(a));
    const second = [...readerOf(bytes).items()].filter((i) => i.type === "block")[1]!;
    bytes[second.offset + FRAME_BYTES + 100]! ^= 0xff;
    const flipped = join(dir, "flipped.hvt");
    writeFileSync(flipped, bytes);
    // Plain info reads the footer index (and block 0) only: the flip is not where it looked.
    const quick = await cli("info", flipped);
    expect([quick.code, quick.stderr]).toEqual([0, []]);
    expect(quick.stdout).toContainEqual(expect.stringMatching(/^integrity  index ok: /));
    const info = await cli("info", flipped, "--verify");
    expect(info.code).toBe(2);
    expect(info.stdout).toContain(
      `integrity  DAMAGED at byte offset ${second.offset} (block 1): checksum mismatch in the block record at offset ${second.offset}`,
    );
    const rep = await cli("replay", flipped);
    expect(rep.code).toBe(2);
    expect(rep.stderr[0]).toContain(`damaged at byte offset ${second.offset} (block 1)`);
  });

  it("log prints one line per event with names, and filters by index and kind", async () => {
    const r = await cli("log", a, "--from", "3", "--to", "9", "--kind", "hypercall");
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(0);
    for (const l of r.stdout) expect(l).toMatch(/^#[3-9] t=\d+\.\d{9}s hypercall vm0x[0-9a-f]+\/vcpu\d+ \S+ \(0x[0-9a-f]+\)|^#[3-9] t=\S+ hypercall vm0x[0-9a-f]+\/vcpu\d+ hvc 0x6[0-9a-f]{3} \(unknown\)/);
    const json = await cli("log", a, "--to", "0", "--json");
    expect(JSON.parse(json.stdout[0]!)).toMatchObject({ seq: 0, outcome: {} });
  });

  it("state --at prints the state after event N as JSON, and --path selects a value", async () => {
    const r = await cli("state", a, "--at", "100");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout.join("\n"))).toMatchObject({ seq: 100 });
    const p = await cli("state", a, "--at", "100", "--path", "seq");
    expect(p.stdout).toEqual(["100"]);
    const bad = await cli("state", a, "--at", "100", "--path", "no.such");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toEqual([expect.stringMatching(/^hvsim: --path: in the state after event 100: 'no' does not exist: the state has no key 'no' \(its keys: seq, t, config, /)]);
    const odd = await cli("state", a, "--at", "100", "--path", 'config["platform"].cpus');
    expect(odd.stdout).toEqual(["4"]);
  });

  it("bad input gets one line and exit 2, never a stack trace", async () => {
    const cases = [
      ["replay", join(dir, "missing.hvt")],
      ["record", "--seed", "abc", "-o", join(dir, "x.hvt")],
      ["record", "no-such-scenario"],
      ["log", a, "--kind", "nope"],
      ["state", a, "--at", "99999999"],
      ["frobnicate"],
      ["replay"],
    ];
    writeFileSync(join(dir, "garbage.hvt"), "not a trace at all");
    cases.push(["info", join(dir, "garbage.hvt")]);
    for (const argv of cases) {
      const r = await cli(...argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.stderr.length, argv.join(" ")).toBeGreaterThanOrEqual(1);
      expect(r.stderr[0], argv.join(" ")).toMatch(/^hvsim: /);
      expect(hasStackTrace(r.stderr), argv.join(" ")).toBe(false);
    }
  });
});

describe("options that cannot apply are refused in one line, not ignored", () => {
  it("check of a trace refuses --seed, --max-events and -o (they shape a scenario run)", async () => {
    const trace = join(dir, "opts.hvt");
    expect((await cli("record", "smoke", "--max-events", "50", "-o", trace)).code).toBe(0);
    for (const [flag, value] of [["--seed", "5"], ["--max-events", "10"], ["-o", join(dir, "never.hvt")]] as const) {
      const r = await cli("check", trace, flag, value);
      expect(r.code, flag).toBe(2);
      expect(r.stderr).toEqual([`hvsim: ${flag} is for a scenario run; ${trace} is a trace (one run already: its seed and length are in hvsim info)`]);
    }
    expect((await cli("check", trace)).code).toBe(0);
  });

  it("help of a command that does not exist says so (it printed the whole help)", async () => {
    const r = await cli("help", "nosuch");
    expect([r.code, r.stdout, r.stderr]).toEqual([2, [], ["hvsim: usage error: unknown command 'nosuch' (hvsim --help lists them)"]]);
    expect((await cli("help", "replay")).code).toBe(0);
  });

  it("log and export refuse a window that starts after it ends", async () => {
    const trace = join(dir, "window.hvt");
    expect((await cli("record", "smoke", "--max-events", "50", "-o", trace)).code).toBe(0);
    expect((await cli("log", trace, "--from", "5", "--to", "2")).stderr).toEqual(["hvsim: --from 5 starts after --to 2 (#5 > #2): no events between"]);
    expect((await cli("log", trace, "--to", "-1")).stderr).toEqual(["hvsim: the window starts after --to -1 (#0 > #-1): no events between"]);
    const e = await cli("export", trace, "--format", "text", "--from", "9", "--to", "end-45");
    expect([e.code, e.stderr]).toEqual([2, ["hvsim: --from 9 starts after --to end-45 (#9 > #4): no events between"]]);
    expect((await cli("state", trace, "--at", "1.5")).stderr).toEqual(["hvsim: --at: expected an event index (N, 0xN, end or end-N), got '1.5'"]);
    expect((await cli("log", trace, "--from", "0x30", "--to", "end-1")).stdout.map((l) => l.split(" ")[0])).toEqual(["#48"]);
    const one = await cli("log", trace, "--from", "3", "--to", "3");
    expect([one.code, one.stdout.length]).toEqual([0, 1]);
  });
});
