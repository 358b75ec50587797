import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { cli, tempDir } from "./helpers.ts";
import { launchChromium, openViewer, screenshotViewer, settle, startHvsimView, type ViewProcess } from "./viewer-harness.ts";
import { openTraceFile as openTrace } from "../src/cli/target.ts";
import { memoryIo } from "../src/cli/io.ts";
/** The reader of a trace, opened as every command opens one. */
const openTraceFile = (path: string) => openTrace(memoryIo(), path).reader;
import { perfettoLines, wholeWindow } from "../src/export/exporters.ts";
import type { ChromeEvent } from "../src/export/perfetto.ts";
import { seekerForTrace } from "../src/timetravel/open.ts";

const BUG = "traces/bug-reclaim-without-sanitise-s1.hvt";

/** The tracks the Perfetto export names for a trace: one per physical CPU and per vCPU. */
function perfettoTracks(trace: string): string[] {
  const reader = openTraceFile(trace);
  const ids: string[] = [];
  const seeker = seekerForTrace(reader);
  for (const line of perfettoLines(seeker, reader.header, wholeWindow(seeker.store.count))) {
    const t = line.replace(/^,/, "");
    if (!t.startsWith('{"name":"thread_name"')) continue;
    const e = JSON.parse(t) as ChromeEvent;
    if (e.tid > 0) ids.push(e.pid === 1 ? `cpu:${e.tid - 1}` : `vcpu:${e.pid - 1000}:${e.tid - 1}`);
  }
  reader.close();
  return ids;
}

describe("hvsim view in headless Chromium, on a recorded bug trace", () => {
  let view: ViewProcess;
  let browser: Browser;
  let checked: { invariant: string; index: number };

  beforeAll(async () => {
    [view, browser] = await Promise.all([startHvsimView(BUG), launchChromium()]);
    const r = await cli("check", BUG, "--json");
    checked = JSON.parse(r.stdout[0]!).violation;
  });
  afterAll(async () => {
    await browser?.close();
    await view?.stop();
  });

  const position = async (page: import("playwright-core").Page): Promise<string> => (await page.textContent("[data-testid=position]"))!.replace(/\s*\/.*$/, "");

  it("loads with no console errors, and the invariants panel names hvsim check's violation at its index", async () => {
    const { page, problems } = await openViewer(browser, view.url);
    const button = page.locator("[data-testid=first-violation]");
    await button.waitFor();
    expect(checked).toMatchObject({ invariant: "isolation.reclaimed_memory_sanitised", index: 235 });
    expect(await button.getAttribute("data-index")).toBe(String(checked.index));
    expect(await button.textContent()).toContain(`${checked.invariant} broken at #${checked.index} (host_read)`);
    expect(await position(page)).toBe("#0");
    expect(problems).toEqual([]);
    await page.close();
  });

  it("clicking the violation moves the scrubber there and the state tree highlights the paths the event changed", async () => {
    const { page, problems } = await openViewer(browser, view.url);
    await page.click("[data-testid=first-violation]");
    await page.waitForFunction(() => document.querySelector("[data-testid=current-event] .line")?.textContent?.startsWith("#235 "));
    await settle(page);
    expect(await position(page)).toBe("#235");
    expect(await page.inputValue("input.slider")).toBe("235");
    expect(new URL(page.url()).hash).toBe("#event=235");
    const api = (await page.evaluate(() => fetch("/api/change?at=235").then((r) => r.json()))) as { changes: { path: string }[]; ancestors: string[] };
    await page.locator(".node.changed").first().waitFor();
    const changed = await page.locator(".node.changed").evaluateAll((els) => els.map((e) => e.getAttribute("data-path")));
    expect(changed).toEqual(api.changes.map((c) => c.path));
    expect(changed).toEqual(["pvm.hostRead"]);
    expect(await page.locator(".node.changed .was").textContent()).toBe("was null");
    const marked = await page.locator(".node.changed-below").evaluateAll((els) => els.map((e) => e.getAttribute("data-path")));
    expect(marked).toEqual(api.ancestors.filter((p) => p !== "(root)"));
    expect(await page.locator(".event-row.current").getAttribute("data-seq")).toBe("235");
    expect(await page.locator(".inv-list li.broken").getAttribute("data-invariant")).toBe(checked.invariant);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("the keyboard steps back and forth, a hundred with Shift, to either end with Home/End", async () => {
    const { page, problems } = await openViewer(browser, view.url, "#event=235");
    const expectAt = async (label: string, line: RegExp): Promise<void> => {
      await page.waitForFunction((l) => document.querySelector("[data-testid=position]")?.textContent?.startsWith(l), label);
      await settle(page);
      expect(await page.textContent("[data-testid=current-event]")).toMatch(line);
    };
    await page.keyboard.press("ArrowLeft");
    await expectAt("#234", /^#234 t=0\.002466655s vmm_ioctl GH_RELEASE/);
    expect(new URL(page.url()).hash).toBe("#event=234");
    await page.keyboard.press("ArrowRight");
    await expectAt("#235", /^#235 t=0\.002472306s host_read/);
    await page.keyboard.press("Shift+ArrowLeft");
    await expectAt("#135", /^#135 /);
    await page.keyboard.press("Home");
    await expectAt("genesis", /the genesis state/);
    await page.keyboard.press("End");
    await expectAt("#235", /^#235 /);
    // The slider takes the keys too, without moving twice.
    await page.focus("input.slider");
    await page.keyboard.press("ArrowLeft");
    await expectAt("#234", /^#234 /);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("the timeline draws one track per physical CPU and per vCPU, the Perfetto export's tracks; a click there moves the position", async () => {
    const { page, problems } = await openViewer(browser, view.url, "#event=10");
    const canvas = page.locator(".timeline canvas");
    await page.waitForFunction(() => JSON.parse(document.querySelector<HTMLCanvasElement>(".timeline canvas")?.dataset.tracks ?? "[]").length > 0);
    const drawn = JSON.parse((await canvas.getAttribute("data-tracks"))!) as string[];
    const expected = perfettoTracks(BUG);
    expect([...drawn].sort()).toEqual([...expected].sort());
    expect(drawn.filter((t) => t.startsWith("cpu:"))).toEqual(["cpu:0", "cpu:1", "cpu:2", "cpu:3"]);
    expect(drawn).toContain("vcpu:128:0");
    // Something is drawn on every track row: the run-state slices have colour in the plot area.
    const box = (await canvas.boundingBox())!;
    const coloured = await canvas.evaluate((c: HTMLCanvasElement) => {
      const g = c.getContext("2d")!;
      const d = g.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3]! > 0 && !(d[i]! > 240 && d[i + 1]! > 240 && d[i + 2]! > 240)) n++;
      return n;
    });
    expect(coloured).toBeGreaterThan(20_000);
    // Clicking halfway along the plot (gutter 132 px) moves to the event drawn there.
    const plot = box.width - 132;
    await page.mouse.click(box.x + 132 + plot * 0.5, box.y + 30);
    await page.waitForFunction(() => document.querySelector("[data-testid=position]")?.textContent?.startsWith("#118"));
    // The wheel zooms about the pointer.
    await page.mouse.move(box.x + 132 + plot * 0.5, box.y + 60);
    await page.mouse.wheel(0, -400);
    await page.waitForFunction(() => document.querySelector<HTMLCanvasElement>(".timeline canvas")!.dataset.view !== "0-235");
    const [from, to] = (await canvas.getAttribute("data-view"))!.split("-").map(Number) as [number, number];
    expect(to - from).toBeLessThan(235);
    expect(from <= 118 && 118 <= to).toBe(true);
    await settle(page);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("an address with #event=N opens at N, in the scrubber, the current event and the event list; Space plays from there", async () => {
    const { page, problems } = await openViewer(browser, view.url, "#event=100");
    expect(await position(page)).toBe("#100");
    expect(await page.inputValue("input.slider")).toBe("100");
    const log = await cli("log", BUG, "--from", "100", "--to", "100");
    expect(await page.textContent("[data-testid=current-event] .line")).toBe(log.stdout[0]);
    await page.locator(".event-row.current").waitFor();
    expect(await page.locator(".event-row.current").textContent()).toBe(log.stdout[0]);
    // Space plays (10 events a second by default) and pauses.
    await page.keyboard.press(" ");
    await page.waitForFunction(() => Number(document.querySelector<HTMLElement>("[data-testid=position]")!.dataset.at) >= 102);
    await page.keyboard.press(" ");
    await settle(page);
    const paused = await position(page);
    await page.waitForTimeout(400);
    expect(await position(page)).toBe(paused);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("the event list filters by kind and by VM, rows as hvsim log prints them", async () => {
    const { page, problems } = await openViewer(browser, view.url, "#event=120");
    await page.selectOption("[data-testid=filter-kind]", "host_read");
    await page.waitForFunction(() => [...document.querySelectorAll(".event-row")].every((r) => r.textContent!.includes(" host_read ")));
    const rows = await page.locator(".event-row").allTextContents();
    expect(rows).toEqual((await cli("log", BUG, "--kind", "host_read")).stdout);
    await page.selectOption("[data-testid=filter-kind]", "stage2_fault");
    await page.selectOption("[data-testid=filter-vm]", "128");
    await page.waitForFunction(() => [...document.querySelectorAll(".event-row")].every((r) => r.textContent!.includes(" stage2_fault vm0x80/")));
    const shown = await page.locator(".event-row").allTextContents();
    const all = (await cli("log", BUG, "--kind", "stage2_fault", "--vm", "128")).stdout;
    expect(shown.length).toBeGreaterThan(10);
    expect(all).toEqual(expect.arrayContaining(shown));
    // The virtualised list puts only the rows in view in the DOM.
    expect(shown.length).toBeLessThan(all.length);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("two marks give the diff between their states; no vCPU panel for a trace without CPU registers", async () => {
    const { page, problems } = await openViewer(browser, view.url, "#event=100");
    await page.keyboard.press("a");
    await page.keyboard.press("End");
    // The mark goes where the position is: wait for End to have moved it (the page settles asynchronously).
    await page.waitForFunction(() => location.hash.startsWith("#event=235"));
    await page.keyboard.press("b");
    await page.locator("[data-testid=diff-count]").waitFor();
    expect(new URL(page.url()).hash).toBe("#event=235&a=100&b=235");
    const api = (await page.evaluate(() => fetch("/api/diff?a=100&b=235").then((r) => r.json()))) as { changes: unknown[]; truncated: boolean };
    expect(await page.textContent("[data-testid=diff-count]")).toBe(`${api.changes.length}${api.truncated ? "+" : ""} differences`);
    expect(await page.locator("[data-testid=diff] tr").count()).toBe(api.changes.length);
    expect(await page.locator("[data-testid=cpu]").count()).toBe(0);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("a link pasted into an open tab moves the position and the marks; + - f zoom the timeline; a window wider than the server draws still gets its tracks", async () => {
    const { page, problems } = await openViewer(browser, view.url, "#event=10", { width: 8600, height: 900 });
    await page.evaluate(() => (location.hash = "#event=50&a=10&b=20"));
    await page.locator("[data-testid=diff-count]").waitFor();
    await settle(page);
    expect(new URL(page.url()).hash).toBe("#event=50&a=10&b=20");
    const canvas = page.locator(".tl-canvas canvas");
    expect(await canvas.getAttribute("data-view")).toBe("0-235");
    await page.waitForFunction(() => JSON.parse(document.querySelector<HTMLCanvasElement>(".timeline canvas")?.dataset.tracks ?? "[]").length > 0);
    await page.keyboard.press("+");
    await page.waitForFunction(() => document.querySelector(".tl-canvas canvas")?.getAttribute("data-view") !== "0-235");
    const [from, to] = (await canvas.getAttribute("data-view"))!.split("-").map(Number) as [number, number];
    expect(to - from + 1).toBe(118);
    await page.keyboard.press("-");
    await page.waitForFunction(() => document.querySelector(".tl-canvas canvas")?.getAttribute("data-view") === "0-235");
    await page.keyboard.press("+");
    await page.keyboard.press("f");
    await page.waitForFunction(() => document.querySelector(".tl-canvas canvas")?.getAttribute("data-view") === "0-235");
    expect(problems).toEqual([]);
    await page.close();
  });

  it("a far jump (End, Home) shows the rows around the new position, in order, and stops fetching", async () => {
    const trace = join(tempDir(), "smoke-3000.hvt");
    expect((await cli("record", "smoke", "--max-events", "3000", "-o", trace)).code).toBe(0);
    const long = await startHvsimView(trace);
    try {
      const { page, problems } = await openViewer(browser, long.url, "#event=1500");
      let requests = 0;
      page.on("request", (r) => void (new URL(r.url()).pathname === "/api/events" && (requests += 1)));
      const rowsNow = () => page.locator(".event-row").evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-seq"))));
      // End: the last event, its row current; Home: genesis, before every row (none current), the list from #0.
      for (const [key, at, shown] of [["End", 2999, ".event-row.current"], ["Home", -1, ".event-row:first-child"]] as const) {
        await page.keyboard.press(key);
        await page.waitForFunction(([sel, n]) => document.querySelector(sel)?.getAttribute("data-seq") === String(n), [shown, Math.max(0, at)] as const);
        await settle(page);
        expect(await page.getAttribute("[data-testid=position]", "data-at"), key).toBe(String(at));
        const rows = await rowsNow();
        expect(rows, key).toEqual([...rows].sort((a, b) => a - b));
        expect(rows, key).toContain(Math.max(0, at));
        const before = requests;
        await page.evaluate(() => new Promise((r) => setTimeout(r, 300)));
        expect(requests - before, `${key}: no more event pages once it settled`).toBe(0);
      }
      expect(problems).toEqual([]);
      await page.close();
    } finally {
      await long.stop();
    }
  });

  it("a trace of real guest code gets the vCPU panel: the PC of the vcpu_exec, its registers, the instruction there marked", async () => {
    const trace = "traces/pvm-boot-s1.hvt";
    const first = JSON.parse((await cli("log", trace, "--kind", "vcpu_exec", "--json")).stdout[0]!) as { seq: number; outcome: { pc: number } };
    const pvm = await startHvsimView(trace);
    try {
      const { page, problems } = await openViewer(browser, pvm.url, `#event=${first.seq}`);
      await page.locator("[data-testid=cpu]").waitFor();
      expect(await page.textContent("[data-testid=cpu] h2")).toContain(`PC 0x${first.outcome.pc.toString(16)}`);
      expect(await page.locator("[data-testid=cpu] .reg").count()).toBe(32);
      expect(await page.locator("[data-testid=cpu] li.pc .addr").textContent()).toBe(`0x${first.outcome.pc.toString(16)}`);
      expect(problems).toEqual([]);
      await page.close();
    } finally {
      await pvm.stop();
    }
  });

  it("the documentation screenshot is taken by this tooling, on the protected-VM boot; Ctrl-C stops that server with exit 0", async () => {
    const out = join(tempDir(), "viewer.png");
    const r = await screenshotViewer("traces/pvm-boot-s1.hvt", out, browser);
    const png = readFileSync(out);
    expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1440, 920]);
    expect(r.code).toBe(0);
    expect(r.output).toMatch(/^hvsim view: traces\/pvm-boot-s1\.hvt: 435 events, scenario pvm-boot, seed 1$/m);
  });
});
