import type { Command } from "commander";
import type { Io } from "../io.ts";
import { EXIT } from "../exit.ts";
import { openTraceFile, parseIntOption } from "../files.ts";
import { collect, isTraceFile } from "../target.ts";
import { allInvariants, checkScenario, checkTrace, type CheckResult } from "../../sim/check.ts";
import { resolveScenario } from "../../sim/resolve.ts";
import { memorySink } from "../../trace/source.ts";
import { damageHint, damageLine } from "../../trace/damage.ts";
import { refuseInputAsOutput, writeTraceFile } from "../output.ts";
import { toJson } from "../../export/json.ts";

function report(io: Io, r: CheckResult, json: boolean, file: string, allowIncomplete: boolean): number {
  const accepted = r.damage !== null && allowIncomplete && r.damage.code === "TRACE_INCOMPLETE";
  if (json) {
    io.out(toJson({ ok: r.violation === null && r.problem === null && (r.damage === null || accepted), events: r.events, invariants: r.invariants, violation: r.violation, problem: r.problem, damage: r.damage }));
  } else if (r.violation !== null) {
    const v = r.violation;
    io.out(`VIOLATION ${v.invariant} at event ${v.index} (${v.kind}): ${v.detail}`);
    io.out(`  path    ${v.path}`);
    if (v.objects) io.out(`  objects ${toJson(v.objects)}`);
  } else if (r.problem !== null) {
    io.err(`hvsim: the trace could not be checked to the end: ${r.problem} (run hvsim replay for details)`);
  } else {
    io.out(`ok: ${r.events} events checked against ${r.invariants} invariants after every event`);
  }
  if (r.damage !== null && r.violation === null && r.problem === null) {
    const hint = accepted ? "" : ` (${r.damage.code === "TRACE_INCOMPLETE" ? "--allow-incomplete accepts it; " : ""}${damageHint(file, r.damage)})`;
    io.err(`hvsim: ${damageLine(file, r.damage)}; every invariant held in the ${r.events} events checked${hint}`);
  }
  return r.violation !== null ? EXIT.finding : r.problem !== null || (r.damage !== null && !accepted) ? EXIT.input : EXIT.ok;
}

export function registerCheck(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command("check")
    .description("run every invariant after every event of a trace, or of a scenario run from a seed (the isolation oracle)")
    .argument("<target>", "trace file, built-in scenario name, or scenario file")
    .option("--seed <n>", "seed, when the target is a scenario", "1")
    .option("--max-events <n>", "stop a scenario run after this many events")
    .option("--assert <expr>", "an extra invariant: a predicate over the state that must hold after every event (repeatable)", collect, [])
    .option("-o, --out <file>", "keep the scenario run's trace here")
    .option("--json", 'print {"ok", "events", "invariants", "violation": {"invariant", "index", ...}}')
    .option("--allow-incomplete", "accept an unfinished recording (no footer): check the whole blocks it holds and exit 0 if they pass")
    .addHelpText(
      "after",
      "\nExit codes: 0 every invariant held, 1 a violation (named with its event index), 2 bad input (a damaged or,\n" +
        "without --allow-incomplete, unfinished trace: what is whole is still checked).\n" +
        "Examples:\n  hvsim check out/default-s1.hvt\n  hvsim check smoke --seed 3 --assert 'hypercallCounts.0x33 < 40'",
    )
    .action((target: string, opts: { seed: string; maxEvents?: string; assert: string[]; out?: string; json?: boolean; allowIncomplete?: boolean }) => {
      const invariants = allInvariants(opts.assert);
      let result: CheckResult;
      if (isTraceFile(target)) {
        const reader = openTraceFile(target);
        try {
          result = checkTrace(reader, invariants);
        } finally {
          reader.close();
        }
      } else {
        const scenario = resolveScenario(target);
        const seed = parseIntOption("--seed", opts.seed, 0);
        const limits = opts.maxEvents === undefined ? {} : { maxEvents: parseIntOption("--max-events", opts.maxEvents, 1) };
        const out = opts.out;
        if (out !== undefined) refuseInputAsOutput("-o", out, [scenario.source]);
        result = out === undefined ? checkScenario(scenario, seed, memorySink(), invariants, limits) : writeTraceFile(out, (sink) => checkScenario(scenario, seed, sink, invariants, limits), { keepPartial: true });
      }
      setCode(report(io, result, opts.json === true, target, opts.allowIncomplete === true));
    });
}
