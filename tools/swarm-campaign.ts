/**
 * The swarm campaign (issue #16): every model defect looked for by the swarm with no scenario
 * written for it, clean swarm seeds checked for violations, liveness failures and crashes, the
 * hostile actors' calls counted, and the model's coverage by the swarm compared with the built-in
 * scenarios'. Runs `hvsim fuzz --swarm` as shard processes (the same commands a cluster runs,
 * docs/fuzz-cluster.md) and merges their JSON with the library `hvsim fuzz merge` uses.
 *
 *   node bin/run-ts.mjs tools/swarm-campaign.ts [--clean 1..10000] [--defect-budget 2000] [--jobs 2] [--out campaign-out]
 *     [--phases defects,clean,rates] [--rate-seeds 200]
 *   defects: the first seed that finds each defect, and its shrunk size; clean: the clean seeds;
 *   rates: how many of seeds 1..N find each defect (how often a world meets it, not just once).
 *
 * Prints seeds needed per defect (and the shrunk size), the clean seeds' failures, the hostile
 * totals, and coverage; writes everything to OUT/campaign.json. Exit 1 when a clean seed failed or
 * a defect was not found within its budget.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { MODEL_DEFECT_NAMES } from "../src/model/faults.ts";
import { mergeFuzzOutputs, type MergedFuzz } from "../src/sim/fuzz-merge.ts";
import { builtinScenarios } from "../src/sim/builtin/index.ts";
import { COVERAGE_PARTS, emptyCoverage, mergeCoverage, scenarioCoverage, type Coverage } from "../src/sim/swarm/coverage.ts";
import { totalsReport } from "../src/cli/commands/fuzz.ts";

const HVSIM = fileURLToPath(new URL("../bin/hvsim.mjs", import.meta.url));
const { values } = parseArgs({
  options: {
    clean: { type: "string", default: "1..10000" },
    "defect-budget": { type: "string", default: "2000" },
    jobs: { type: "string", default: "2" },
    out: { type: "string", default: "campaign-out" },
    phases: { type: "string", default: "defects,clean" },
    "rate-seeds": { type: "string", default: "200" },
  },
});
const jobs = Math.max(1, Number(values.jobs));
const out = values.out!;
mkdirSync(out, { recursive: true });
const started = Date.now();
const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(0)} s`;

/** Runs `hvsim ARGS` and writes its stdout to `file`; resolves with the exit code. */
function hvsim(args: string[], file: string, onLine?: (line: string) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HVSIM, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    const chunks: Buffer[] = [];
    let partial = "";
    child.stdout.on("data", (b: Buffer) => {
      chunks.push(b);
      if (onLine === undefined) return;
      const text = partial + b.toString("utf8");
      const lines = text.split("\n");
      partial = lines.pop()!;
      for (const l of lines) onLine(l);
    });
    child.on("error", reject);
    child.on("close", (code) => {
      writeFileSync(file, Buffer.concat(chunks));
      resolve(code ?? 70);
    });
  });
}

/** A pool of `jobs` concurrent tasks. */
async function pool<T>(tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(jobs, tasks.length) }, async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  }));
  return results;
}

interface DefectResult {
  defect: string;
  found: boolean;
  seedsNeeded: number | null;
  invariant: string | null;
  events: number | null;
  shrunk: number | null;
  shrinkBudgetSpent: boolean | null;
  repro: string | null;
}

async function defects(budget: number): Promise<DefectResult[]> {
  console.log(`defects: ${MODEL_DEFECT_NAMES.length}, each looked for in swarm seeds 1..${budget} (first failure, then shrunk) [${elapsed()}]`);
  return pool(MODEL_DEFECT_NAMES.map((defect) => async () => {
    const file = join(out, `defect-${defect}.json`);
    await hvsim(["fuzz", "--swarm", "--defect", defect, "--seeds", `1..${budget}`, "--first-failure", "--json", "--keep", join(out, "defects")], file);
    const lines = readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Record<string, unknown>);
    const hit = lines.find((l) => l.ok === false);
    const f = hit?.failure as { type: string; invariant?: string; index?: number } | undefined;
    const sh = hit?.shrunk as { events: number; budgetExhausted: boolean } | undefined;
    const r: DefectResult = {
      defect,
      found: hit !== undefined && f?.type === "violation",
      seedsNeeded: hit === undefined ? null : (hit.seed as number),
      invariant: f?.invariant ?? (f === undefined ? null : `(${f.type})`),
      events: f?.index === undefined ? null : f.index + 1,
      shrunk: sh?.events ?? null,
      shrinkBudgetSpent: sh?.budgetExhausted ?? null,
      repro: (hit?.repro as string | undefined) ?? null,
    };
    console.log(`  ${defect.padEnd(28)} ${r.found ? `found at seed ${r.seedsNeeded} by ${r.invariant} (event ${(r.events ?? 0) - 1}), shrunk to ${r.shrunk} events${r.shrinkBudgetSpent ? " (budget spent)" : ""}` : `NOT FOUND in ${budget} seeds${hit === undefined ? "" : ` (seed ${String(hit.seed)} failed otherwise: ${f?.type})`}`} [${elapsed()}]`);
    return r;
  }));
}

async function clean(range: string): Promise<MergedFuzz> {
  console.log(`clean: swarm seeds ${range} in ${jobs} shards [${elapsed()}]`);
  let done = 0;
  let failing = 0;
  const files = Array.from({ length: jobs }, (_, i) => join(out, `clean-${i + 1}-of-${jobs}.json`));
  await pool(files.map((file, i) => () =>
    hvsim(["fuzz", "--swarm", "--seeds", range, "--shard", `${i + 1}/${jobs}`, "--json", "--keep", join(out, "clean")], file, (line) => {
      if (!line.startsWith("{\"seed\"")) return;
      done += 1;
      if (line.includes("\"ok\":false")) {
        failing += 1;
        console.log(`  FAILING ${line.slice(0, 400)}`);
      }
      if (done % 500 === 0) console.log(`  ${done} seeds, ${failing} failing [${elapsed()}]`);
    }),
  ));
  return mergeFuzzOutputs(files.map((name) => ({ name, text: readFileSync(name, "utf8") })));
}

function builtinCoverage(): Coverage {
  const c = emptyCoverage();
  for (const s of builtinScenarios()) mergeCoverage(c, scenarioCoverage(s, 1));
  return c;
}

function compare(swarm: Coverage, builtin: Coverage): Record<string, { swarm: number; builtin: number; both: number; swarmOnly: string[]; builtinOnly: string[] }> {
  const out: Record<string, { swarm: number; builtin: number; both: number; swarmOnly: string[]; builtinOnly: string[] }> = {};
  for (const p of COVERAGE_PARTS) {
    const a = Object.keys(swarm[p]);
    const b = Object.keys(builtin[p]);
    out[p] = { swarm: a.length, builtin: b.length, both: a.filter((k) => b.includes(k)).length, swarmOnly: a.filter((k) => !b.includes(k)).sort(), builtinOnly: b.filter((k) => !a.includes(k)).sort() };
  }
  return out;
}

/** For each defect: how many of seeds 1..n fail with it switched on (no shrinking). */
async function rates(n: number): Promise<Record<string, number>> {
  console.log(`rates: each defect over swarm seeds 1..${n} [${elapsed()}]`);
  const counts = await pool(MODEL_DEFECT_NAMES.map((defect) => async () => {
    const file = join(out, `rate-${defect}.json`);
    await hvsim(["fuzz", "--swarm", "--defect", defect, "--seeds", `1..${n}`, "--shrink-budget", "0", "--json", "--keep", join(out, "rates")], file);
    const failing = readFileSync(file, "utf8").split("\n").filter((l) => l.includes("\"ok\":false")).length;
    console.log(`  ${defect.padEnd(28)} ${failing} of ${n} worlds find it [${elapsed()}]`);
    return [defect, failing] as const;
  }));
  return Object.fromEntries(counts);
}

const phases = values.phases!.split(",");
const defectResults = phases.includes("defects") ? await defects(Number(values["defect-budget"])) : [];
const report: Record<string, unknown> = { defects: defectResults };
if (phases.includes("rates")) report.rates = { seeds: Number(values["rate-seeds"]), failing: await rates(Number(values["rate-seeds"])) };
let cleanOk = true;
if (phases.includes("clean")) {
  const merged = await clean(values.clean!);
  const s = merged.summary;
  cleanOk = s.failing === 0;
  console.log(`clean: ${s.seeds} seeds, ${s.failing} failing${s.failing > 0 ? ` (seeds ${s.failingSeeds.join(", ")})` : ""} [${elapsed()}]`);
  for (const line of totalsReport(s.totals!)) console.log(line);
  console.log(`coverage of the built-in scenarios (seed 1 each) [${elapsed()}]`);
  const cmp = compare(s.totals!.coverage, builtinCoverage());
  for (const [part, c] of Object.entries(cmp)) {
    console.log(`  ${part.padEnd(11)} swarm ${c.swarm}, built-ins ${c.builtin}, both ${c.both}`);
    if (c.swarmOnly.length > 0) console.log(`    swarm only:    ${c.swarmOnly.join(", ")}`);
    if (c.builtinOnly.length > 0) console.log(`    built-ins only: ${c.builtinOnly.join(", ")}`);
  }
  console.log(`features (seeds with each on): ${Object.entries(s.totals!.features).map(([f, n]) => `${f} ${n}`).join(", ")}`);
  Object.assign(report, { clean: s, coverage: cmp });
}
writeFileSync(join(out, "campaign.json"), `${JSON.stringify({ ...report, seconds: (Date.now() - started) / 1000 }, null, 1)}\n`);
console.log(`wrote ${join(out, "campaign.json")} [${elapsed()}]`);
process.exitCode = cleanOk && defectResults.every((d) => d.found) ? 0 : 1;
