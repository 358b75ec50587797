import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";

/**
 * The tooling the viewer's browser tests and its documentation screenshot share: Debian's Chromium
 * driven by playwright-core, against a real `hvsim view` process. `.ci/run` installs Chromium.
 */
export const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
const bin = fileURLToPath(new URL("../bin/hvsim.mjs", import.meta.url));

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (.ci/run does)`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

export interface ViewProcess {
  readonly url: string;
  readonly child: ChildProcess;
  readonly output: () => string;
  /** Sends Ctrl-C (SIGINT) and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `hvsim view TRACE --port 0` and waits for the address it prints. */
export function startHvsimView(trace: string, args: readonly string[] = []): Promise<ViewProcess> {
  const child = spawn(process.execPath, [bin, "view", trace, "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hvsim view printed no address in 30 s:\n${out}`)), 30_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /^serving (http:\/\/127\.0\.0\.1:\d+\/)/m.exec(out);
      if (m === null) return;
      clearTimeout(timer);
      resolve({
        url: m[1]!,
        child,
        output: () => out,
        stop: () => {
          if (child.exitCode === null) child.kill("SIGINT");
          return exited;
        },
      });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`hvsim view exited (${code}) before serving:\n${out}`));
    });
  });
}

export interface ViewerPage {
  readonly page: Page;
  /** Console errors, uncaught exceptions and failed requests, as they happened. */
  readonly problems: string[];
}

/** Opens the viewer (at `hash`, e.g. "#event=12") and waits until the position is shown. */
export async function openViewer(browser: Browser, url: string, hash = "", viewport = { width: 1400, height: 900 }): Promise<ViewerPage> {
  const page = await browser.newPage({ viewport });
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => {
    // A request the page itself superseded (a newer position) is aborted on purpose.
    if (r.failure()?.errorText !== "net::ERR_ABORTED") problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  await page.goto(`${url}${hash}`);
  await page.waitForSelector("[data-testid=position]");
  await settle(page);
  return { page, problems };
}

/**
 * Waits until the page shows the current position's event and has no request in flight (the
 * page keeps the count on its root element), twice in a row across a frame so that a request a
 * just-finished one causes has started.
 */
export async function settle(page: Page): Promise<void> {
  const quiet = (): Promise<unknown> =>
    page.waitForFunction(() => {
      const ce = document.querySelector<HTMLElement>("[data-testid=current-event]");
      const pos = document.querySelector<HTMLElement>("[data-testid=position]");
      return ce !== null && pos !== null && ce.dataset.at === pos.dataset.at && document.documentElement.dataset.busy === "0";
    });
  await quiet();
  await page.evaluate(() => new Promise((r) => setTimeout(r, 60)));
  await quiet();
}

/** The viewer's address at a position with marks, for the documentation and its test. */
export const SCREENSHOT_HASH = "#event=225&a=19&b=225";

/**
 * A screenshot of the viewer on `trace` at `hash`, written to `out` (PNG), from a `hvsim view` of
 * its own that it stops with Ctrl-C; resolves with that process's exit code and output.
 */
export async function screenshotViewer(trace: string, out: string, given?: Browser, hash = SCREENSHOT_HASH): Promise<{ code: number | null; output: string }> {
  const view = await startHvsimView(trace);
  const browser = given ?? (await launchChromium());
  try {
    const { page, problems } = await openViewer(browser, view.url, hash, { width: 1440, height: 920 });
    await page.waitForFunction(() => document.querySelector("[data-testid=first-violation], [data-testid=all-hold]") !== null);
    await settle(page);
    if (problems.length > 0) throw new Error(`the viewer reported problems:\n${problems.join("\n")}`);
    await page.screenshot({ path: out });
    await page.close();
  } finally {
    if (given === undefined) await browser.close();
  }
  const code = await view.stop();
  return { code, output: view.output() };
}
