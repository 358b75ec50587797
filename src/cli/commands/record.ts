import type { Command } from "commander";
import { scenarioArg } from "../target.ts";
import { record, type RecordResult } from "../../sim/record.ts";
import { refuseInputAsOutput, writeTraceFile } from "../output.ts";
import { parseIntOption } from "../files.ts";
import { parseDuration } from "../duration.ts";
import { progressLine, type Io } from "../io.ts";
import { helpAfter } from "../help.ts";
import { EXIT } from "../exit.ts";
import { formatNs } from "../../export/describe.ts";
import type { Scenario } from "../../sim/scenario.ts";
import { BLOCK_EVENTS } from "../../trace/writer.ts";

export interface RecordCliOptions {
  readonly scenario?: string;
  readonly seed: number;
  readonly out: string;
  readonly maxEvents?: number;
  readonly untilNs?: number;
  readonly blockEvents?: number;
}

/** Runs a scenario from a seed and writes its trace; prints the seed and options first (VOPR style). */
export function runRecord(io: Io, o: RecordCliOptions): { code: number; result: RecordResult; scenario: Scenario } {
  const scenario = scenarioArg(o.scenario);
  const maxEvents = o.maxEvents ?? scenario.maxEvents;
  io.out(`SEED=${o.seed} scenario=${scenario.name} max-events=${maxEvents}${o.untilNs === undefined ? "" : ` until=${formatNs(o.untilNs)}`} out=${o.out}`);
  refuseInputAsOutput("-o", o.out, [scenario.source]);
  // Written beside the target and renamed into place when the trace is complete (or cleanly
  // stopped): a run that fails leaves an existing file as it was, and its partial trace at OUT.partial.
  const result = writeTraceFile(
    o.out,
    (sink) =>
      record(scenario, sink, {
        seed: o.seed,
        maxEvents,
        ...(o.untilNs === undefined ? {} : { untilNs: o.untilNs }),
        ...(o.blockEvents === undefined ? {} : { blockEvents: o.blockEvents }),
        onProgress: io.isTTY ? (n, max) => io.progress(progressLine("recording", n, max)) : undefined,
      }),
    { keepPartial: true },
  );
  if (io.isTTY) io.progress("");
  io.out(
    `recorded ${result.events} events (${formatNs(result.lastT)} virtual) to ${o.out}; stopped by ${result.stoppedBy.replace("_", " ")}; final state ${result.finalHash.slice(0, 16)}`,
  );
  // The trace is whole and kept; the scenario is what is wrong: it cannot finish.
  if (result.stoppedBy === "stalled") {
    io.err(`hvsim: ${scenario.source ?? scenario.name}: the scenario stalls after event ${result.events - 1}: nothing more can happen, yet ${result.stalled.length === 1 ? "this still waits" : "these still wait"}: ${result.stalled.join("; ")}`);
    return { code: EXIT.input, result, scenario };
  }
  return { code: EXIT.ok, result, scenario };
}


export function registerRecord(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command("record")
    .description("run a scenario from a seed and write its trace")
    .argument("[scenario]", "built-in scenario name or scenario file (default: the built-in default)")
    .option("--seed <n>", "seed for every random choice (same seed, same bytes)", "1")
    .option("-o, --out <file>", "trace file to write (default: <scenario>-s<seed>.hvt)")
    .option("--max-events <n>", "stop after this many events")
    .option("--until <time>", "stop at this virtual time (e.g. 250ms, 2s, 1500us, 1000000ns)")
    .option("--block-events <n>", `events per trace block (default ${BLOCK_EVENTS}); a checkpoint with the state hash follows each, and a recording that crashes loses at most its unfinished block`)
    .addHelpText("after", helpAfter("record", ["hvsim record --seed 7 -o out/a.hvt", "hvsim record smoke --seed 8 --max-events 500 -o out/b.hvt", "hvsim record scenarios/mem-churn.yaml --seed 3 --until 5ms -o out/churn.hvt"]))
    .action((scenario: string | undefined, opts: Record<string, string | undefined>) => {
      const seed = parseIntOption("--seed", opts.seed ?? "1", 0);
      // The resolved name, not the reference: `record scenarios/x.yaml` writes x-s1.hvt.
      const name = scenarioArg(scenario).name;
      const { code } = runRecord(io, {
        scenario,
        seed,
        out: opts.out ?? `${name.replace(/[^\w.-]+/g, "_")}-s${seed}.hvt`,
        ...(opts.maxEvents === undefined ? {} : { maxEvents: parseIntOption("--max-events", opts.maxEvents, 1) }),
        ...(opts.until === undefined ? {} : { untilNs: parseDuration("--until", opts.until) }),
        ...(opts.blockEvents === undefined ? {} : { blockEvents: parseIntOption("--block-events", opts.blockEvents, 1) }),
      });
      setCode(code);
    });
}
