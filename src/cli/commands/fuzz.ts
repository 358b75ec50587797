import type { Command } from "commander";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Io } from "../io.ts";
import { helpAfter } from "../help.ts";
import { EXIT } from "../exit.ts";
import { parseIntOption } from "../files.ts";
import { allInvariants } from "../../sim/check.ts";
import { fuzzSeeds, parseSeedRange, parseShard, shardSeeds } from "../../sim/fuzz.ts";
import { collect, scenarioArg, shellQuote } from "../target.ts";
import { toJson } from "../../export/json.ts";
import { writeFileAtomic } from "../../trace/source.ts";

interface FuzzOpts {
  scenario?: string;
  seeds: string;
  shard?: string;
  keep: string;
  assert: string[];
  maxEvents?: string;
  json?: boolean;
}

/** The one command that reproduces a failing seed. */
export function reproCommand(scenario: string, seed: number, asserts: readonly string[], maxEvents?: number): string {
  const parts = ["hvsim", "check", shellQuote(scenario), "--seed", String(seed)];
  if (maxEvents !== undefined) parts.push("--max-events", String(maxEvents));
  for (const a of asserts) parts.push("--assert", shellQuote(a));
  return parts.join(" ");
}

export function registerFuzz(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command("fuzz")
    .description("run seeded variants of a scenario with every invariant checked; keep each failing trace and print its repro")
    .requiredOption("--seeds <a..b>", "seed range, inclusive (e.g. 1..200)")
    .option("--scenario <s>", "built-in scenario name or scenario file (default: the built-in default)")
    .option("--shard <i/n>", "run only shard i of n (seeds dealt round-robin; results merge by seed)")
    .option("--keep <dir>", "where failing traces are written", "fuzz-failures")
    .option("--assert <expr>", "an extra invariant over the state (repeatable)", collect, [])
    .option("--max-events <n>", "cap each run")
    .option("--json", "one JSON object per seed, then a summary object")
    .addHelpText(
      "after",
      helpAfter("fuzz", ["hvsim fuzz --scenario smoke --seeds 1..8 --shard 2/4 --max-events 1000"], ["One line per seed (sortable by seed, so shards merge with sort -n)."]),
    )
    .action((opts: FuzzOpts) => {
      const scenario = scenarioArg(opts.scenario);
      const seeds = shardSeeds(parseSeedRange(opts.seeds), opts.shard === undefined ? undefined : parseShard(opts.shard));
      const maxEvents = opts.maxEvents === undefined ? undefined : parseIntOption("--max-events", opts.maxEvents, 1);
      const invariants = allInvariants(opts.assert);
      if (!opts.json) io.out(`fuzz scenario=${scenario.name} seeds=${opts.seeds}${opts.shard ? ` shard=${opts.shard}` : ""} (${seeds.length} runs, ${invariants.length} invariants)`);
      let failures = 0;
      let done = 0;
      for (const r of fuzzSeeds(scenario, seeds, invariants, maxEvents === undefined ? {} : { maxEvents })) {
        done += 1;
        if (io.isTTY) io.progress(`fuzz ${done}/${seeds.length} seeds, ${failures} failing`);
        if (r.violation === null) {
          io.out(opts.json ? toJson({ seed: r.seed, ok: true, events: r.events }) : `seed=${r.seed} ok events=${r.events}`);
          continue;
        }
        failures += 1;
        mkdirSync(opts.keep, { recursive: true });
        const file = join(opts.keep, `${scenario.name}-s${r.seed}.hvt`);
        writeFileAtomic(file, r.trace!);
        const repro = reproCommand(opts.scenario ?? scenario.name, r.seed, opts.assert, maxEvents);
        if (io.isTTY) io.progress("");
        io.out(
          opts.json
            ? toJson({ seed: r.seed, ok: false, events: r.events, violation: r.violation, trace: file, repro })
            : `seed=${r.seed} FAIL ${r.violation.invariant} at event ${r.violation.index}: ${r.violation.detail}; trace ${file}; reproduce: ${repro}`,
        );
      }
      if (io.isTTY) io.progress("");
      io.out(opts.json ? toJson({ summary: true, seeds: seeds.length, failing: failures }) : `fuzz: ${seeds.length} seeds, ${failures} failing`);
      setCode(failures === 0 ? EXIT.ok : EXIT.finding);
    });
}
