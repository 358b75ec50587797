import type { Command } from "commander";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Io } from "../io.ts";
import { helpAfter } from "../help.ts";
import { EXIT } from "../exit.ts";
import { paint } from "../colour.ts";
import { printNextSteps, violationNextSteps } from "../report.ts";
import { parseIntOption } from "../files.ts";
import { runRecord } from "./record.ts";
import { runReplay } from "./replay.ts";
import { scenarioArg } from "../target.ts";

/**
 * The main job in one command: record a scenario (the built-in default unless named), replay the
 * trace to prove it reproduces, print a summary and what to try next.
 */
export function registerRun(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command("run")
    .description("record a scenario, replay it to verify it reproduces, and summarise (the quick start)")
    .argument("[scenario]", "built-in scenario name or scenario file (default: the built-in default)")
    .option("--seed <n>", "seed", "1")
    .option("-o, --out <file>", "trace file (default: out/<scenario>-s<seed>.hvt)")
    .addHelpText("after", helpAfter("run", ["hvsim run", "hvsim run vm-secondary --seed 3", "hvsim run bug-host-s2-kept-after-lend  # exit 1: the isolation violation it is built to show"]))
    .action((scenarioRef: string | undefined, opts: { seed: string; out?: string }) => {
      const seed = parseIntOption("--seed", opts.seed, 0);
      const scenario = scenarioArg(scenarioRef);
      const out = opts.out ?? `out/${scenario.name}-s${seed}.hvt`;
      mkdirSync(dirname(out), { recursive: true });
      io.out(`== ${scenario.name}: ${scenario.description}`);
      const rec = runRecord(io, { scenario: scenarioRef, seed, out });
      if (rec.code !== EXIT.ok) {
        setCode(rec.code);
        return;
      }
      const rep = runReplay(io, out, "fast", true);
      const finding = rep.result.finding;
      if (finding?.type === "violation") {
        printNextSteps(io, violationNextSteps("npx hvsim", out, finding.failure.invariant, finding.seq));
        setCode(rep.code);
        return;
      }
      // The same build just recorded this trace: a replay that disagrees is hvsim's bug, not the trace's.
      if (rep.code === EXIT.divergence) {
        io.err("hvsim: internal error (a simulator bug, please report it with the command line): the trace this build just recorded does not replay the same");
        setCode(EXIT.bug);
        return;
      }
      if (rep.code !== EXIT.ok) {
        setCode(rep.code);
        return;
      }
      const same = rep.result.finalHash === rec.result.finalHash;
      const p = paint(io);
      io.out(`reproduced: ${same ? p.good("yes") : p.bad("NO")} (replayed final state ${rep.result.finalHash.slice(0, 16)}, every invariant held after every event)`);
      printNextSteps(io, [
        [`npx hvsim info ${out}`, "what is in the trace"],
        [`npx hvsim log ${out} --to 40`, "the first events, with Gunyah's names"],
        [`npx hvsim state ${out} --at 100 --path hypercallCounts`, "the machine after event 100 (without --path: all of it)"],
        [`npx hvsim debug ${out}`, "step, back, break, watch, reverse-continue (type help)"],
        ["npx hvsim check bug-reclaim-without-sanitise", "an injected isolation bug, caught by the oracle"],
        ["npx hvsim scenarios", "what else there is to run"],
      ]);
      setCode(same ? EXIT.ok : EXIT.bug);
    });
}
