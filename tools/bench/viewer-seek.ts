/**
 * The viewer under load (not a test: it prints figures). Starts `hvsim view` on a 1M-event trace
 * (long-run, recorded once into out/bench/ and kept), then, one request at a time as a page makes
 * them, asks the API for the state at 1,000 random event indices and for the change made by 200
 * random events, and prints latency percentiles, errors, and the server's memory (VmRSS, VmHWM)
 * before and after. The server's background scan runs meanwhile, as it does for a user.
 *
 *   npm run bench:viewer
 *   npm run bench:viewer -- --trace a.hvt --seeks 5000 --seed 2
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { Agent, get } from "node:http";
import { cpus, loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import seedrandom from "seedrandom";
import { startHvsimView } from "../../test/viewer-harness.ts";

interface Args {
  trace: string | null;
  seeks: number;
  changes: number;
  seed: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { trace: null, seeks: 1000, changes: 200, seed: 1 };
  for (let i = 0; i < argv.length; i++) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === "--trace" && v) (a.trace = v), i++;
    else if (k === "--seeks" && v) (a.seeks = Number(v)), i++;
    else if (k === "--changes" && v) (a.changes = Number(v)), i++;
    else if (k === "--seed" && v) (a.seed = Number(v)), i++;
    else {
      console.error(`bench:viewer: unknown argument '${k}' (use --trace FILE, --seeks N, --changes N, --seed N)`);
      process.exit(2);
    }
  }
  return a;
}

const EVENTS = 1_000_000;

function benchTrace(): string {
  const path = `out/bench/long-run-s1-${EVENTS}.hvt`;
  if (existsSync(path)) return path;
  mkdirSync("out/bench", { recursive: true });
  console.log(`recording ${path} (long-run, ${EVENTS} events, once)...`);
  const r = spawnSync(process.execPath, ["bin/hvsim.mjs", "record", "long-run", "--seed", "1", "--max-events", String(EVENTS), "-o", path], { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
  return path;
}

/** VmRSS and VmHWM (peak) of a process, in MB, from /proc. */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function fetchJson(url: string): Promise<{ status: number; body: any; serverMs: number }> {
  return new Promise((resolve, reject) => {
    get(url, { agent }, (res) => {
      let s = "";
      res.on("data", (d: Buffer) => (s += d.toString()));
      const timing = /dur=([\d.]+)/.exec(String(res.headers["server-timing"] ?? ""));
      res.on("end", () => resolve({ status: res.statusCode!, body: JSON.parse(s), serverMs: timing === null ? Number.NaN : Number(timing[1]) }));
    }).on("error", reject);
  });
}

interface Run {
  /** Round trip, as the page sees it. */
  readonly ms: number[];
  /** Of which the server computed the answer (Server-Timing): the rest is HTTP, JSON and waiting for a scan slice. */
  readonly serverMs: number[];
  readonly errors: string[];
}

async function timed(urls: readonly string[]): Promise<Run> {
  const ms: number[] = [];
  const serverMs: number[] = [];
  const errors: string[] = [];
  for (const url of urls) {
    const t0 = performance.now();
    const r = await fetchJson(url);
    ms.push(performance.now() - t0);
    serverMs.push(r.serverMs);
    if (r.status !== 200) errors.push(`${r.status} ${url}: ${r.body.error}`);
  }
  return { ms, serverMs, errors };
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
const share = (r: Run): string => `${((100 * sum(r.serverMs)) / sum(r.ms)).toFixed(0)}% of the round-trip time computing answers`;

function percentiles(ms: readonly number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const at = (p: number): number => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
  const f = (x: number): string => `${x.toFixed(1)} ms`;
  return `p50 ${f(at(50))}  p90 ${f(at(90))}  p99 ${f(at(99))}  max ${f(s[s.length - 1]!)}  mean ${f(s.reduce((a, b) => a + b, 0) / s.length)}`;
}

const args = parseArgs(process.argv.slice(2));
const trace = args.trace ?? benchTrace();
console.log(`load average ${loadavg().map((x) => x.toFixed(1)).join(" ")} on ${cpus().length} cores (figures scale with it: compare within one run)`);
const t0 = performance.now();
const view = await startHvsimView(trace);
const pid = view.child.pid!;
const summary = (await fetchJson(`${view.url}api/summary`)).body;
console.log(`hvsim view ${trace}: ${summary.events} events; serving and answering after ${((performance.now() - t0) / 1000).toFixed(2)} s`);
const before = memory(pid);
console.log(`server memory at start: RSS ${before.rss.toFixed(0)} MB`);

const rand = seedrandom(`viewer-bench-${args.seed}`);
const index = (): number => Math.floor(rand() * (summary.events + 1)) - 1;
const seeks = await timed(Array.from({ length: args.seeks }, () => `${view.url}api/state?at=${index()}`));
const afterSeeks = memory(pid);
console.log(`${args.seeks} random seeks (/api/state, the root of the state tree): ${percentiles(seeks.ms)}; errors ${seeks.errors.length}`);
console.log(`  server side: ${percentiles(seeks.serverMs)}; ${share(seeks)}`);
console.log(`server memory after them: RSS ${afterSeeks.rss.toFixed(0)} MB, peak ${afterSeeks.peak.toFixed(0)} MB`);
const changes = await timed(Array.from({ length: args.changes }, () => `${view.url}api/change?at=${Math.max(0, index())}`));
const after = memory(pid);
console.log(`${args.changes} random events' changes (/api/change, pure path with patches): ${percentiles(changes.ms)}; errors ${changes.errors.length}`);
console.log(`  server side: ${percentiles(changes.serverMs)}; ${share(changes)}`);
console.log(`server memory at the end: RSS ${after.rss.toFixed(0)} MB, peak ${after.peak.toFixed(0)} MB`);
const status = (await fetchJson(`${view.url}api/status`)).body;
console.log(`background scan meanwhile: ${status.phase}, overview to #${status.overviewTo}, invariants checked to #${status.checkedTo}`);
console.log(`load average ${loadavg().map((x) => x.toFixed(1)).join(" ")} at the end`);
for (const e of [...seeks.errors, ...changes.errors].slice(0, 5)) console.log(`error: ${e}`);
agent.destroy();
console.log(`server exit on Ctrl-C: ${await view.stop()}`);
