import { describe, expect, it } from "vitest";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, hasStackTrace, tempDir } from "./helpers.ts";
import { memoryIo } from "../src/cli/io.ts";
import { runView } from "../src/cli/commands/view.ts";

const BUG = "traces/bug-reclaim-without-sanitise-s1.hvt";

describe("hvsim view: arguments and start-up", () => {
  it("bad arguments get one line and exit 2", async () => {
    const cases: [string[], string][] = [
      [["view", "nope.hvt"], "hvsim: nope.hvt: no such file"],
      [["view", "README.md"], "hvsim: README.md: not an hvsim trace (no HVSIMTRC magic at offset 0)"],
      [["view", BUG, "--port", "70000"], "hvsim: --port: expected a port 0..65535, got '70000'"],
      [["view", BUG, "--port", "http"], "hvsim: --port: expected an integer >= 0, got 'http'"],
    ];
    for (const [argv, line] of cases) {
      const r = await cli(...argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.stderr, argv.join(" ")).toEqual([line]);
      expect(hasStackTrace(r.stderr)).toBe(false);
    }
  });

  it("--open hands the address to $BROWSER; the server prints where it listens", async () => {
    const dir = tempDir();
    const seen = join(dir, "opened.txt");
    const script = join(dir, "browser.sh");
    writeFileSync(script, `#!/bin/sh\necho "$1" > ${seen}\n`);
    chmodSync(script, 0o755);
    const io = memoryIo();
    const saved = process.env.BROWSER;
    process.env.BROWSER = script;
    let url = "";
    try {
      const code = await runView(io, BUG, { port: 0, open: true }, async (server) => {
        url = server.url;
        for (let i = 0; i < 400 && !existsSync(seen); i++) await new Promise((r) => setTimeout(r, 50));
      });
      expect(code).toBe(0);
    } finally {
      if (saved === undefined) delete process.env.BROWSER;
      else process.env.BROWSER = saved;
    }
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(readFileSync(seen, "utf8").trim()).toBe(url);
    expect(io.stdout).toEqual([`hvsim view: ${BUG}: 236 events, scenario bug-reclaim-without-sanitise, seed 1`, `serving ${url} (127.0.0.1 only; Ctrl-C to stop)`]);
  });
});

describe("hvsim view: a damaged trace", () => {
  it("is shown up to the damage, with a note and the damage in the summary", async () => {
    const dir = tempDir();
    const whole = join(dir, "smoke.hvt");
    const cut = join(dir, "cut.hvt");
    expect((await cli("record", "smoke", "--seed", "1", "--max-events", "300", "--block-events", "64", "-o", whole)).code).toBe(0);
    const bytes = readFileSync(whole);
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const io = memoryIo();
    let summary: any = null;
    let rows: any = null;
    const code = await runView(io, cut, { port: 0, open: false }, async (server) => {
      summary = await (await fetch(`${server.url}api/summary`)).json();
      rows = await (await fetch(`${server.url}api/events?at=${summary.events - 1}&before=0&after=5`)).json();
    });
    expect(code).toBe(0);
    expect(summary.events % 64).toBe(0);
    expect(summary.events).toBeGreaterThan(0);
    expect(summary.events).toBeLessThan(300);
    expect(summary.damage).toMatchObject({ offset: expect.any(Number), block: summary.events / 64 });
    expect(io.stdout[1]).toBe(`note: damaged at byte offset ${summary.damage.offset}; the ${summary.events} events before it are shown`);
    expect(rows.rows.map((r: { seq: number }) => r.seq)).toEqual([summary.events - 1]);
    expect(rows.endReached).toBe(true);
  });
});
