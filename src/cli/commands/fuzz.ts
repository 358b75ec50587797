import type { Command } from "commander";
import { counted } from "../words.ts";
import { mkdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import type { Io } from "../io.ts";
import { helpAfter } from "../help.ts";
import { EXIT } from "../exit.ts";
import { isSystemError, parseIntOption } from "../files.ts";
import { collect, scenarioArg, shellQuote } from "../target.ts";
import { die } from "../../core/errors.ts";
import type { EventBase } from "../../core/event.ts";
import { mutableCopy } from "../../core/reducer.ts";
import { hvModel, type MachineConfig } from "../../model/machine.ts";
import type { HypEvent } from "../../model/events.ts";
import { allInvariants } from "../../sim/check.ts";
import {
  addRun,
  emptyTotals,
  fuzzSeeds,
  fuzzSwarmSeeds,
  parseSeedRange,
  parseShard,
  shardSeeds,
  swarmRepro,
  type SwarmSeedRun,
} from "../../sim/fuzz.ts";
import { mergeFuzzOutputs, type FuzzSettings, type FuzzSummary } from "../../sim/fuzz-merge.ts";
import { defectNamed, describeWorld, swarmRef, swarmScenario } from "../../sim/swarm/scenario.ts";
import { SHRINK_BUDGET, writeShrunkTrace } from "../../sim/swarm/shrink.ts";
import { COVERAGE_PARTS } from "../../sim/swarm/coverage.ts";
import { fileSink } from "../../trace/source.ts";
import { toJson } from "../../core/json.ts";
import { describeEvent } from "../../export/describe.ts";
import { writeFileAtomic } from "../../trace/source.ts";

interface FuzzOpts {
  scenario?: string;
  seeds?: string;
  shard?: string;
  keep: string;
  assert: string[];
  maxEvents?: string;
  json?: boolean;
  swarm?: boolean;
  defect?: string;
  firstFailure?: boolean;
  shrinkBudget: string;
}

/** The one command that reproduces a failing seed. */
export function reproCommand(scenario: string, seed: number, asserts: readonly string[], maxEvents?: number): string {
  const parts = ["hvsim", "check", shellQuote(scenario), "--seed", String(seed)];
  if (maxEvents !== undefined) parts.push("--max-events", String(maxEvents));
  for (const a of asserts) parts.push("--assert", shellQuote(a));
  return parts.join(" ");
}

export function registerFuzz(program: Command, io: Io, setCode: (c: number) => void): void {
  const fuzz = program
    .command("fuzz")
    .description("run seeded variants of a scenario, or swarm worlds, with every invariant checked; keep each failing trace, shrink it and print its repro")
    .option("--seeds <a..b>", "seed range, inclusive (e.g. 1..200); required")
    .option("--scenario <s>", "built-in scenario name or scenario file (default: the built-in default)")
    .option("--swarm", "each seed draws a whole world (VMs, devices, host and guest workloads, hostile actors, faults) instead of a scenario's timing")
    .option("--defect <name>", "with --swarm: switch on one of the model's defects (src/model/faults.ts) and look for it")
    .option("--shard <i/n>", "run only shard i of n (seeds dealt round-robin; merge the shards' --json output with hvsim fuzz merge)")
    .option("--keep <dir>", "where failing (and shrunk) traces are written", "fuzz-failures")
    .option("--assert <expr>", "an extra invariant over the state (repeatable)", collect, [])
    .option("--max-events <n>", "cap each run")
    .option("--first-failure", "stop at the first failing seed (how many seeds a defect needs)")
    .option("--shrink-budget <n>", "with --swarm: most replays spent shrinking a violation (0: do not shrink)", String(SHRINK_BUDGET))
    .option("--json", "one JSON object per seed, then a summary object (hvsim fuzz merge reads these)")
    .addHelpText(
      "after",
      helpAfter(
        "fuzz",
        [
          "hvsim fuzz --scenario smoke --seeds 1..8 --shard 2/4 --max-events 1000",
          "hvsim fuzz --swarm --seeds 1..10",
          "hvsim fuzz --swarm --defect host-s2-kept-after-lend --seeds 1..2000 --first-failure  # exit 1: the first seed that finds it, shrunk",
        ],
        [
          "One line per seed (sortable by seed, so shards merge with sort -n; hvsim fuzz merge shard-*.json adds up their --json output).",
          "Exit 0 when every seed passed, 1 when one failed (a violation or a liveness failure), 70 when the model crashed.",
          "docs/swarm.md describes the swarm; docs/fuzz-cluster.md runs shards on Kubernetes or Slurm.",
        ],
      ),
    )
    .action((opts: FuzzOpts) => {
      if (opts.seeds === undefined) die("ARGUMENT_INVALID", "--seeds: required (e.g. --seeds 1..200)");
      const range = parseSeedRange(opts.seeds);
      const shard = opts.shard === undefined ? undefined : parseShard(opts.shard);
      const seeds = shardSeeds(range, shard);
      const maxEvents = opts.maxEvents === undefined ? undefined : parseIntOption("--max-events", opts.maxEvents, 1);
      const invariants = allInvariants(opts.assert);
      if (opts.swarm === true) return setCode(runSwarm(io, opts, seeds, invariants, maxEvents));
      if (opts.defect !== undefined) die("ARGUMENT_INVALID", "--defect: only with --swarm (a scenario names its own faults)");
      const scenario = scenarioArg(opts.scenario);
      if (!opts.json) io.out(`fuzz scenario=${scenario.name} seeds=${opts.seeds}${opts.shard ? ` shard=${opts.shard}` : ""} (${seeds.length} runs, ${invariants.length} invariants)`);
      const failingSeeds: number[] = [];
      let done = 0;
      let keepFailed = false;
      for (const r of fuzzSeeds(scenario, seeds, invariants, maxEvents === undefined ? {} : { maxEvents })) {
        done += 1;
        if (io.isTTY) io.progress(`fuzz ${done}/${seeds.length} seeds, ${failingSeeds.length} failing`);
        if (r.violation === null) {
          io.out(opts.json ? toJson({ seed: r.seed, ok: true, events: r.events }) : `seed=${r.seed} ok events=${r.events}`);
          continue;
        }
        failingSeeds.push(r.seed);
        const file = keeping(io, r.seed, opts.keep, () => {
          mkdirSync(opts.keep, { recursive: true });
          const f = join(opts.keep, `${scenario.name}-s${r.seed}.hvt`);
          writeFileAtomic(f, r.trace!);
          return f;
        });
        if (file === null) keepFailed = true;
        const repro = reproCommand(opts.scenario ?? scenario.name, r.seed, opts.assert, maxEvents);
        if (io.isTTY) io.progress("");
        io.out(
          opts.json
            ? toJson({ seed: r.seed, ok: false, events: r.events, violation: r.violation, trace: file, repro })
            : `seed=${r.seed} FAIL ${r.violation.invariant} at event ${r.violation.index}: ${r.violation.detail}; trace ${file ?? "(not kept)"}; reproduce: ${repro}`,
        );
        if (opts.firstFailure) break;
      }
      if (io.isTTY) io.progress("");
      const summary: FuzzSummary = { summary: true, scenario: scenario.name, defect: null, range: opts.seeds, shard: opts.shard ?? null, seeds: done, failing: failingSeeds.length, failingSeeds, settings: settingsOf(opts, maxEvents) };
      io.out(opts.json ? toJson(summary) : `fuzz: ${done} seeds, ${failingSeeds.length} failing`);
      setCode(keepFailed ? EXIT.input : failingSeeds.length === 0 ? EXIT.ok : EXIT.finding);
    });

  fuzz
    .command("merge")
    .description("merge the --json results of fuzz shards (one file per shard) into one: seeds in order, totals added up")
    .argument("<files...>", "each shard's JSON-lines output")
    .option("--json", "the merged seed lines and one summary line, as one unsharded run would print them")
    .addHelpText("after", "\nExit 0 when every merged seed passed, 1 when one failed, 2 when a shard is missing, unfinished or repeated.\nExample:\n  hvsim fuzz merge out/shard-*.json")
    .action((files: string[], own: { json?: boolean }) => {
      // `--json` after `merge` may be taken by `fuzz` itself (it has the same option).
      const opts = { json: own.json === true || fuzz.opts<FuzzOpts>().json === true };
      const inputs = files.map((name) => {
        if (!existsSync(name)) die("ARGUMENT_INVALID", `${name}: no such file`);
        return { name, text: readFileSync(name, "utf8") };
      });
      const merged = mergeFuzzOutputs(inputs);
      const s = merged.summary;
      if (opts.json) {
        for (const r of merged.records) io.out(JSON.stringify(r));
        io.out(JSON.stringify(s));
      } else {
        io.out(`merged ${s.shards} result file${s.shards === 1 ? "" : "s"} of ${s.scenario}${s.defect === null ? "" : ` (defect ${s.defect})`}, seeds ${s.ranges.join(", ")}: ${s.seeds} seeds, ${s.failing} failing${s.failing > 0 ? ` (seeds ${s.failingSeeds.slice(0, 20).join(", ")}${s.failing > 20 ? ", ..." : ""})` : ""}`);
        if (s.totals !== undefined) for (const line of totalsReport(s.totals)) io.out(line);
        for (const r of merged.records) if (r.ok === false && typeof r.repro === "string") io.out(`  seed=${String(r.seed)}: reproduce: ${r.repro}`);
      }
      setCode(s.failing === 0 ? EXIT.ok : EXIT.finding);
    });
}

/** The swarm: one world per seed; failures kept, shrunk and printed with their repro. */
function runSwarm(io: Io, opts: FuzzOpts, seeds: readonly number[], invariants: ReturnType<typeof allInvariants>, maxEvents: number | undefined): number {
  if (opts.scenario !== undefined) die("ARGUMENT_INVALID", "--scenario: not with --swarm (each seed draws its own world)");
  if (opts.assert.length > 0) die("ARGUMENT_INVALID", "--assert: not with --swarm (its repro names the world only; check a kept trace with --assert instead)");
  const defect = opts.defect === undefined ? null : defectNamed(opts.defect);
  const shrinkBudget = parseIntOption("--shrink-budget", opts.shrinkBudget, 0);
  if (!opts.json) io.out(`fuzz --swarm seeds=${opts.seeds}${opts.shard ? ` shard=${opts.shard}` : ""}${defect === null ? "" : ` defect=${defect}`} (${seeds.length} worlds, ${invariants.length} invariants, liveness checked at the end of each)`);
  const totals = emptyTotals();
  const failingSeeds: number[] = [];
  let done = 0;
  let crashed = false;
  let keepFailed = false;
  // Text mode: a failure's whole trace is kept and said before the shrink, which can take a while:
  // stopping then (Ctrl-C) loses nothing found. (JSON keeps one line per seed.)
  const early = new Map<number, { trace?: string } | null>();
  const found = (run: { result: SwarmSeedRun["result"]; failure: SwarmSeedRun["failure"] }): void => {
    const kept = keeping(io, run.result.seed, opts.keep, () => keepFiles(opts.keep, { ...run, shrunk: null }, defect));
    early.set(run.result.seed, kept);
    if (kept?.trace === undefined || run.failure?.type !== "violation" || shrinkBudget === 0) return;
    io.out(`seed=${run.result.seed} found ${run.failure.invariant} at event ${run.failure.index}; its trace is kept (${kept.trace}); shrinking it`);
  };
  for (const run of fuzzSwarmSeeds(seeds, { defect, invariants, shrinkBudget, ...(maxEvents === undefined ? {} : { maxEvents }), ...(opts.json ? {} : { found }) })) {
    done += 1;
    addRun(totals, run);
    const r = run.result;
    if (io.isTTY) io.progress(`fuzz --swarm ${done}/${seeds.length} worlds, ${failingSeeds.length} failing`);
    if (run.failure === null) {
      io.out(opts.json ? toJson({ seed: r.seed, ok: true, events: r.events, features: r.features, hostile: hostileOf(run) }) : `seed=${r.seed} ok events=${r.events} features=${r.features.length}`);
      continue;
    }
    failingSeeds.push(r.seed);
    if (run.failure.type === "crash") crashed = true;
    if (io.isTTY) io.progress("");
    // Kept before the shrink: only the shrunk trace is left to write (a keep that failed is not tried again).
    const before = early.get(r.seed);
    const kept = before === null ? null : keeping(io, r.seed, opts.keep, () => keepFiles(opts.keep, run, defect, before?.trace));
    if (kept === null) keepFailed = true;
    const files = kept ?? {};
    const repro = swarmRepro(r.seed, defect);
    if (opts.json) io.out(toJson({ seed: r.seed, ok: false, events: r.events, features: r.features, hostile: hostileOf(run), failure: run.failure, ...files, ...(run.shrunk === null ? {} : { shrunk: { events: run.shrunk.events.length, of: run.shrunk.originalCount, kept: run.shrunk.kept, budgetExhausted: run.shrunk.budgetExhausted } }), repro }));
    else for (const line of failureReport(run, files, repro, defect)) io.out(line);
    if (opts.firstFailure) break;
  }
  if (io.isTTY) io.progress("");
  const summary: FuzzSummary = { summary: true, scenario: "swarm", defect, range: opts.seeds!, shard: opts.shard ?? null, seeds: done, failing: failingSeeds.length, failingSeeds, totals, settings: settingsOf(opts, maxEvents) };
  if (opts.json) io.out(toJson(summary));
  else {
    io.out(`fuzz --swarm: ${done} worlds, ${failingSeeds.length} failing${failingSeeds.length > 0 ? ` (first: seed ${failingSeeds[0]}${opts.firstFailure ? ", stopped there" : ""})` : ""}`);
    for (const line of totalsReport(totals)) io.out(line);
  }
  return crashed ? EXIT.bug : keepFailed ? EXIT.input : failingSeeds.length === 0 ? EXIT.ok : EXIT.finding;
}

/**
 * Keeps a failing seed's traces with `write`. A trace that cannot be written (disk full, no
 * permission) must not lose the finding: the error is one line, null is returned, and the caller
 * still reports the failure and its repro (which records the trace again); the run exits 2.
 */
function keeping<T>(io: Io, seed: number, dir: string, write: () => T): T | null {
  try {
    return write();
  } catch (e) {
    if (!isSystemError(e)) throw e;
    io.err(`hvsim: seed ${seed}: could not keep its traces in ${dir}: ${e.message} (its repro records them again)`);
    return null;
  }
}

/** What shaped each seed's run, in the summary: `fuzz merge` merges only shards run alike. */
const settingsOf = (opts: FuzzOpts, maxEvents: number | undefined): FuzzSettings => ({ asserts: opts.assert, maxEvents: maxEvents ?? null, firstFailure: opts.firstFailure === true });

const hostileOf = (run: SwarmSeedRun) => {
  const { firstUnanswered: _, ...counts } = run.result.stats;
  return counts;
};

/** Writes the failing run's trace and its shrunk trace; returns their paths. */
function keepFiles(dir: string, run: SwarmSeedRun, defect: string | null, traceKept?: string): { trace?: string; shrunkTrace?: string } {
  const r = run.result;
  if (r.trace === null && run.shrunk === null) return {};
  mkdirSync(dir, { recursive: true });
  const scenario = swarmScenario(r.seed, defect === null ? null : defectNamed(defect));
  const out: { trace?: string; shrunkTrace?: string } = {};
  // Whole or not at all: a file under its final name is a finding someone will open.
  if (traceKept !== undefined) out.trace = traceKept;
  else if (r.trace !== null) writeFileAtomic((out.trace = join(dir, `${scenario.name}-s${r.seed}.hvt`)), r.trace);
  if (run.shrunk !== null && run.failure?.type === "violation") writeShrunkTrace(fileSink((out.shrunkTrace = join(dir, `${scenario.name}-s${r.seed}-shrunk.hvt`))), scenario, r.seed, run.shrunk, run.failure.invariant);
  return out;
}

/** What a failing seed prints: the failure, the world, the files, the shrunk events one per line, the repro. */
function failureReport(run: SwarmSeedRun, files: { trace?: string; shrunkTrace?: string }, repro: string, defect: string | null): string[] {
  const r = run.result;
  const f = run.failure!;
  const head =
    f.type === "violation" ? `FAIL ${f.invariant} at event ${f.index} (${f.kind}): ${f.detail}`
    : f.type === "liveness" ? `LIVENESS ${f.kind} at event ${f.index}: ${f.detail}${f.count > 1 ? ` (and ${f.count - 1} more)` : ""}`
    : f.type === "crash" ? `CRASH (${f.source}) at event ${f.index} (${f.kind}): ${f.message.split("\n")[0]}`
    : `UNANSWERED ${f.detail}`;
  const lines = [`seed=${r.seed} ${head}`, `  world      ${describeWorld(swarmScenario(r.seed).world)}`];
  if (files.trace !== undefined) lines.push(`  trace      ${files.trace} (${r.events} events)`);
  const sh = run.shrunk;
  if (sh !== null) {
    lines.push(`  shrunk     ${sh.events.length} of ${sh.originalCount} events in ${counted(sh.replays, "replay")}${sh.budgetExhausted ? " (budget spent: smaller may exist)" : " (1-minimal)"}: ${files.shrunkTrace ?? ""}`);
    for (const line of describeEvents(swarmScenario(r.seed, defect === null ? null : defectNamed(defect)).config, sh.events)) lines.push(`    ${line}`);
  }
  lines.push(`  reproduce  ${repro}`);
  if (f.type === "violation") lines.push(`  debug      hvsim check ${swarmRef(r.seed, defect)} --seed ${r.seed}${files.trace === undefined ? "" : ` (or: hvsim debug ${files.trace})`}`);
  return lines;
}

/** The shrunk events as `hvsim log` prints them (outcomes recomputed). */
function describeEvents(config: MachineConfig, events: readonly EventBase[]): string[] {
  const s = mutableCopy(hvModel.genesis(config));
  return events.map((ev, seq) => {
    const e = { ...ev, seq } as HypEvent;
    return describeEvent(e, hvModel.apply(s, e));
  });
}

/** The campaign's figures: failures by type, hostile calls, coverage reached. */
export function totalsReport(t: ReturnType<typeof emptyTotals>): string[] {
  const f = t.failures;
  const h = t.hostile;
  const c = t.coverage;
  return [
    `  failures   ${f.violation} violations, ${f.liveness} liveness, ${f.crash} crashes, ${f.unanswered} unanswered; ${t.events} events${t.budgetHit > 0 ? `; ${t.budgetHit} runs reached their event budget (not checked for liveness)` : ""}`,
    `  hostile    ${h.hypercalls} hypercalls, ${h.smccc} SMCCC calls, ${h.accesses} accesses, ${h.rmCalls} host RM calls, ${h.ioctls} ioctls, ${h.hostReads} host reads; ${h.unanswered} not answered with Gunyah's codes`,
    `  coverage   ${COVERAGE_PARTS.map((p) => `${Object.keys(c[p]).length} ${COVERAGE_NAMES[p]}`).join(", ")}`,
  ];
}

const COVERAGE_NAMES: Record<(typeof COVERAGE_PARTS)[number], string> = { hypercalls: "hypercalls", rmMessages: "RM messages", errors: "error codes", vmEdges: "VM status edges", kinds: "event kinds" };
