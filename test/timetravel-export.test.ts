import { describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { smokeScenario } from "../src/sim/builtin/smoke.ts";
import { checkChromeTrace } from "../src/export/chrome-check.ts";
import { jsonLines, perfettoLines, textLines, wholeWindow } from "../src/export/exporters.ts";
import { PerfettoBuilder, type ChromeEvent } from "../src/export/perfetto.ts";
import { seekerForTrace } from "../src/timetravel/open.ts";
import { cli, readerOf, recordBytes, tempDir } from "./helpers.ts";

const bytes = recordBytes(smokeScenario, { seed: 5, maxEvents: 1500 });

function perfettoDoc(): { traceEvents: ChromeEvent[] } {
  const reader = readerOf(bytes);
  const seeker = seekerForTrace(reader);
  const lines = [...perfettoLines(seeker, reader.header, wholeWindow(seeker.count))];
  return JSON.parse(lines.join("\n"));
}

describe("export", () => {
  it("perfetto: passes the structural check of the Chrome trace event format", () => {
    const doc = perfettoDoc();
    expect(checkChromeTrace(doc)).toEqual([]);
    const instants = doc.traceEvents.filter((e) => e.ph === "i");
    expect(instants).toHaveLength(1500);
    const names = doc.traceEvents.filter((e) => e.ph === "M").map((e) => `${e.pid}:${e.tid} ${(e.args as { name: string }).name}`);
    expect(names).toEqual(expect.arrayContaining(["1:0 hypervisor", "1:1 pCPU 0", "1:4 pCPU 3", "1255:0 VM 255 (RM)", "1255:1 vCPU 0"]));
    expect(instants.find((e) => e.name === "hypervisor_identify (0x00)")).toMatchObject({ pid: 1255, cat: "hypercall" });
  });

  it("perfetto: run-state slices and owned-memory counters from the optional state fields", () => {
    const out: ChromeEvent[] = [];
    const b = new PerfettoBuilder((e) => out.push(e));
    const thread = (status: string, wfi = false) => ({ id: 7, type: "thread", vm: 3, index: 0, power: "ON", wfi, acct: { status } });
    const state = (status: string, current: number, owned: number, wfi = false) => ({
      config: { platform: { cpus: 2 } },
      objects: { ids: [7], byId: { 7: thread(status, wfi) } },
      sched: { cpus: [{ current }, { current: 0 }] },
      memdb: { ranges: [{ base: 0, size: owned, ownerType: "PARTITION", owner: 1 }] },
    });
    b.start(state("idle", 0, 4096));
    const ev = (seq: number, t: number) => ({ seq, t, kind: "vcpu_run", vm: 3, vcpu: 0 });
    b.event(ev(0, 1000), {}, state("run", 7, 4096));
    b.event(ev(1, 5000), {}, state("idle", 0, 8192, true));
    b.event(ev(2, 9000), {}, state("stolen", 0, 8192));
    b.finish();
    expect(checkChromeTrace({ traceEvents: out })).toEqual([]);
    const slices = out.filter((e) => e.ph === "X").map((e) => [e.pid, e.tid, e.name, e.ts, e.dur]);
    expect(slices).toEqual([
      [1003, 1, "running", 1, 4],
      [1, 1, "vm3/vcpu0", 1, 4],
      [1003, 1, "WFI", 5, 4],
      [1003, 1, "runnable", 9, 0],
    ]);
    expect(out.filter((e) => e.ph === "C").map((e) => [e.ts, e.args])).toEqual([[1, { "PARTITION 1": 4096 }], [5, { "PARTITION 1": 8192 }]]);
  });

  it("json: the lines hvsim log --json prints, a <field>Hex beside each address", async () => {
    const trace = "traces/pvm-boot-s1.hvt";
    const exported = await cli("export", trace, "--format", "json", "--from", "10", "--to", "30");
    const logged = await cli("log", trace, "--json", "--from", "10", "--to", "30");
    expect(exported.code).toBe(0);
    expect(exported.stdout).toEqual(logged.stdout);
    expect(exported.stdout.join("\n")).toMatch(/"ipaHex":"0x[0-9a-f]+"/);
  });

  it("the checker finds what Perfetto would reject", () => {
    const bad = checkChromeTrace({
      traceEvents: [
        { name: "a", ph: "X", pid: 1, tid: 1, ts: 10, dur: 10 },
        { name: "b", ph: "X", pid: 1, tid: 1, ts: 15, dur: 10 },
        { name: "c", ph: "X", pid: 1, tid: 1, ts: 5, dur: 1 },
        { name: "d", ph: "i", pid: 1.5, tid: 1, ts: 1 },
        { name: "e", ph: "C", pid: 1, tid: 1, ts: 1, args: { x: "1" } },
        { name: "f", ph: "X", pid: 1, tid: 2, ts: 1 },
      ],
    });
    expect(bad).toEqual([
      "#1 (X b): overlaps the slice at 10 on track 1:1 without nesting",
      "#2 (X c): ts 5 goes back on track 1:1 (previous slice at 15)",
      "#3 (i d): pid and tid must be integers",
      "#4 (C e): counter args must be numbers",
      "#5 (X f): X needs dur >= 0",
    ]);
    expect(checkChromeTrace([])).toEqual(["top level: expected an object with a traceEvents array"]);
  });

  it("json: one event per line with its outcome; text: describeEvent lines", () => {
    const store = seekerForTrace(readerOf(bytes)).store;
    const json = [...jsonLines(store, wholeWindow(store.count))];
    const text = [...textLines(store, wholeWindow(store.count))];
    expect(json).toHaveLength(1500);
    expect(JSON.parse(json[0]!)).toMatchObject({ seq: 0, kind: expect.any(String), outcome: expect.any(Object) });
    expect(text[0]).toMatch(/^#0 t=\d+\.\d{9}s /);
  });

  it("hvsim export writes a file Perfetto's JSON importer accepts", async () => {
    const dir = tempDir();
    const file = join(dir, "a.hvt");
    writeFileSync(file, bytes);
    const out = join(dir, "a.json");
    const r = await cli("export", file, "--format", "perfetto", "-o", out);
    expect(r.code).toBe(0);
    expect(checkChromeTrace(JSON.parse(readFileSync(out, "utf8")))).toEqual([]);
    expect((await cli("export", file, "--format", "svg")).code).toBe(2);
  });

  it("a window: --from/--to export exactly those events, --vm only that VM's (perfetto: its tracks only)", async () => {
    const dir = tempDir();
    const file = join(dir, "w.hvt");
    writeFileSync(file, bytes);
    const text = await cli("export", file, "--format", "text", "--from", "100", "--to", "199");
    expect(text.code).toBe(0);
    expect(text.stdout).toHaveLength(100);
    expect(text.stdout[0]).toMatch(/^#100 /);
    expect(text.stdout.at(-1)).toMatch(/^#199 /);
    const out = join(dir, "w.json");
    const p = await cli("export", file, "--format", "perfetto", "--from", "100", "--to", "399", "--vm", "255", "-o", out);
    expect(p.code).toBe(0);
    expect(p.stdout[0]).toMatch(/^wrote .*w\.json: perfetto, \d+ lines of trace events from events #100\.\.#399 of VM 255$/);
    const doc = JSON.parse(readFileSync(out, "utf8")) as { traceEvents: ChromeEvent[] };
    expect(checkChromeTrace(doc)).toEqual([]);
    const instants = doc.traceEvents.filter((e) => e.ph === "i");
    const seqs = instants.map((e) => (e.args as { seq: number }).seq);
    expect(Math.min(...seqs)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...seqs)).toBeLessThanOrEqual(399);
    expect(instants.every((e) => e.pid === 1255 && (e.args as { vm?: number }).vm === 255)).toBe(true);
    expect((await cli("export", file, "--format", "text", "--to", "99999")).code).toBe(2);
  });
});
