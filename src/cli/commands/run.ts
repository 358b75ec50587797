import type { Command } from "commander";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Io } from "../io.ts";
import { EXIT } from "../exit.ts";
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
    .action((scenarioRef: string | undefined, opts: { seed: string; out?: string }) => {
      const seed = parseIntOption("--seed", opts.seed, 0);
      const scenario = scenarioArg(scenarioRef);
      const out = opts.out ?? `out/${scenario.name}-s${seed}.hvt`;
      mkdirSync(dirname(out), { recursive: true });
      io.out(`== ${scenario.name}: ${scenario.description}`);
      const rec = runRecord(io, { scenario: scenarioRef, seed, out });
      const rep = runReplay(io, out, "fast", true);
      if (rep.code !== EXIT.ok) {
        setCode(rep.code);
        return;
      }
      const same = rep.result.finalHash === rec.result.finalHash;
      io.out(`reproduced: ${same ? "yes" : "NO"} (replayed final state ${rep.result.finalHash.slice(0, 16)}, every invariant held after every event)`);
      io.out("");
      io.out("next:");
      const tries: [string, string][] = [
        [`npx hvsim info ${out}`, "what is in the trace"],
        [`npx hvsim log ${out} --to 40`, "the first events, with Gunyah's names"],
        [`npx hvsim state ${out} --at 100`, "the machine after event 100"],
        [`npx hvsim debug ${out}`, "step, back, watch, reverse-continue (type help)"],
        [`npx hvsim check bug-reclaim-without-sanitise`, "an injected isolation bug, caught by the oracle"],
        ["npx hvsim scenarios", "what else there is to run"],
      ];
      const width = Math.max(...tries.map(([c]) => c.length));
      for (const [c, why] of tries) io.out(`  ${c.padEnd(width)}  # ${why}`);
      setCode(same ? EXIT.ok : EXIT.divergence);
    });
}
