import { describe, expect, it } from "vitest";
import { createServer } from "node:net";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
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

  it("a port in use is one line naming it, exit 2", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const r = await cli("view", BUG, "--port", String(port));
      expect(r.code).toBe(2);
      expect(r.stderr).toEqual([`hvsim: port ${port} on 127.0.0.1 is in use (--port 0 picks a free one)`]);
    } finally {
      blocker.close();
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
