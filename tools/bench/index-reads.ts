/**
 * Work proportional to what is asked (issue 15): `info`, `log` of the last 20 events and `state --at`
 * near the end, on a small and a big long-run trace, as ratios big/small measured in one run. Not a
 * test: it prints figures (the machine is shared and noisy; each figure is the best of --runs).
 *
 *   npm run bench:index                      # 100k and 10M events (recording 10M takes minutes, once)
 *   npm run bench:index -- --big 2000000     # a quicker run
 *   npm run bench:index -- --json            # one JSON object
 *
 * `state --at` is asked for the same number of events after the last stored snapshot in both traces
 * (a seek replays from the nearest snapshot, so that is the work it does whatever the length).
 * The traces are recorded by the built CLI and cached under $TMPDIR/hvsim-bench-index/KEY, where KEY
 * is a digest of every source that decides a trace's bytes (src/core, src/cpu, src/model, src/sim,
 * src/trace, guests/bin) and the event count, so a new build of those records them again.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { buildCli } from "../build-cli.ts";
import { benchArgs } from "./args.ts";
import { TraceReader } from "../../src/trace/reader.ts";
import { fileSource } from "../../src/trace/source.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const bin = join(ROOT, "bin/hvsim.mjs");

/** A digest of the sources that decide a recorded trace's bytes. */
function buildKey(): string {
  const h = createHash("sha256");
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else h.update(relative(ROOT, p)).update(readFileSync(p));
    }
  };
  for (const d of ["src/core", "src/cpu", "src/model", "src/sim", "src/trace", "guests/bin"]) if (existsSync(join(ROOT, d))) walk(join(ROOT, d));
  return h.digest("hex").slice(0, 16);
}

function hvsim(args: readonly string[]): { seconds: number; stdout: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", maxBuffer: 1 << 28 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`hvsim ${args.join(" ")}: exit ${r.status}: ${r.stderr}`);
  return { seconds, stdout: r.stdout };
}

/** The long-run trace of `events` events, recorded once per build key. */
function trace(a: Args, key: string, events: number): string {
  const dir = join(a.cache, key);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `long-run-${events}.hvt`);
  if (existsSync(path)) return path;
  if (!a.json) console.log(`recording long-run to ${events} events: ${path}`);
  const partial = join(dir, `long-run-${events}.recording.hvt`);
  const t = hvsim(["record", "long-run", "--max-events", String(events), "-o", partial]);
  renameSync(partial, path);
  if (!a.json) console.log(`  ${t.seconds.toFixed(1)} s (${Math.round(events / t.seconds)} events/s)`);
  return path;
}

const best = (runs: number, f: () => number): number => {
  let b = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) b = Math.min(b, f());
  return b;
};

const { opts: args } = benchArgs("bench:index", { small: 100_000, big: 10_000_000, runs: 3, cache: join(tmpdir(), "hvsim-bench-index"), json: false });
type Args = typeof args;
await buildCli();
const key = buildKey();
const files = { small: trace(args, key, args.small), big: trace(args, key, args.big) };
// `state --at` replays from the nearest stored snapshot (one every blockEvents x snapshotEveryBlocks
// events), so "near the end" is the same distance after the last snapshot in both traces: the
// work is then the same, and a difference is what the length of the trace costs.
const lastSnapshot = (f: string): { seq: number; count: number } => {
  const reader = TraceReader.open(fileSource(f));
  try {
    const footer = reader.footer();
    if (footer === null) throw new Error(`${f}: no usable footer`);
    const seqs = footer.checkpoints.filter((c) => c[2] !== 0).map((c) => c[1]);
    return { seq: Math.max(...seqs), count: footer.events };
  } finally {
    reader.close();
  }
};
const snaps = { small: lastSnapshot(files.small), big: lastSnapshot(files.big) };
const afterSnapshot = Math.min(snaps.small.count - 1 - snaps.small.seq, snaps.big.count - 1 - snaps.big.seq);
const at = (f: string): string => String((f === files.small ? snaps.small.seq : snaps.big.seq) + afterSnapshot);
const commands: Record<string, (f: string) => string[]> = {
  info: (f) => ["info", f],
  logLast20: (f) => ["log", f, "--from", "end-19"],
  stateNearEnd: (f) => ["state", f, "--at", at(f), "--path", "seq"],
};
const startup = best(args.runs, () => hvsim(["--version"]).seconds);
const figures: Record<string, { small: number; big: number; ratio: number }> = {};
for (const [name, argv] of Object.entries(commands)) {
  // Interleaved, so a burst of load on the shared machine hits both sides alike.
  let small = Number.POSITIVE_INFINITY;
  let big = Number.POSITIVE_INFINITY;
  for (let i = 0; i < args.runs; i++) {
    small = Math.min(small, hvsim(argv(files.small)).seconds);
    big = Math.min(big, hvsim(argv(files.big)).seconds);
  }
  figures[name] = { small: +small.toFixed(3), big: +big.toFixed(3), ratio: +(big / small).toFixed(2) };
}
const result = {
  events: { small: args.small, big: args.big },
  bytes: { small: statSync(files.small).size, big: statSync(files.big).size },
  startupSeconds: +startup.toFixed(3),
  stateAt: { small: Number(at(files.small)), big: Number(at(files.big)), eventsAfterLastSnapshot: afterSnapshot },
  seconds: figures,
  target: "each big/small ratio within 2",
};
if (args.json) console.log(JSON.stringify(result));
else {
  console.log(`hvsim --version (start-up): ${result.startupSeconds} s; traces ${args.small} events (${result.bytes.small} bytes) and ${args.big} (${result.bytes.big} bytes)`);
  console.log(`state --at ${result.stateAt.small} and ${result.stateAt.big}: ${afterSnapshot} events after the last stored snapshot in each`);
  for (const [name, f] of Object.entries(figures)) console.log(`${name.padEnd(14)} ${String(f.small).padStart(7)} s  ${String(f.big).padStart(7)} s   big/small ${f.ratio}`);
}
