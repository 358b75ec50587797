import type { Command } from "commander";
import { counted } from "../words.ts";
import { parseIntOption } from "../files.ts";
import { withTrace } from "../target.ts";
import type { Io } from "../io.ts";
import { EXAMPLE_TRACE, helpAfter } from "../help.ts";
import { EXIT } from "../exit.ts";
import type { EventBase } from "../../core/event.ts";
import { hvModel, type Machine, type MachineConfig } from "../../model/machine.ts";
import { refuseInputAsOutput, writeTraceFile } from "../output.ts";
import { writeTraceFromEvents } from "../../trace/rewrite.ts";
import { conditionFromOptions } from "../../timetravel/condition.ts";
import { minimize } from "../../timetravel/minimize.ts";
import type { AnyModel } from "../../timetravel/seeker.ts";
import type { OpenedTrace } from "../../timetravel/open.ts";

export interface MinimizeCliOptions {
  readonly invariant?: string;
  readonly until?: string;
  readonly out: string;
  readonly budget: number;
}

/** Reads every whole event of a trace into memory (minimisation needs them all, repeatedly). */
function readEvents(trace: OpenedTrace): EventBase[] {
  const events: EventBase[] = [];
  for (let i = 0; i < trace.count; i++) events.push(trace.store.event(i));
  return events;
}

/** Shrinks a failing trace and writes the small one; returns the exit code. */
export function runMinimize(io: Io, file: string, o: MinimizeCliOptions): number {
  conditionFromOptions<Machine>(o, hvModel.invariants);
  refuseInputAsOutput("-o", o.out, [file]);
  return withTrace(io, file, (trace) => minimizeTrace(io, file, trace, o));
}

function minimizeTrace(io: Io, file: string, trace: OpenedTrace, o: MinimizeCliOptions): number {
  const header = trace.header;
  const genesis = hvModel.genesis(header.config as MachineConfig);
  const cond = conditionFromOptions<Machine>(o, hvModel.invariants, undefined, genesis);
  const events = readEvents(trace);
  io.out(`minimising ${file}: ${events.length} events, looking for: ${cond.label} (budget ${counted(o.budget, "replay")})`);
  const r = minimize(hvModel as unknown as AnyModel<Machine>, genesis, events, cond, {
    budget: o.budget,
    onProgress: io.isTTY ? (n, size) => (n % 10 === 0 ? io.progress(`minimising: ${n} replays, ${size} events in the candidate`) : undefined) : undefined,
  });
  if (io.isTTY) io.progress("");
  if (r === null) {
    io.err(`hvsim: ${file}: ${cond.label.replace(/ (holds|breaks)$/, "")} never ${cond.label.endsWith("breaks") ? "breaks" : "holds"}${trace.damage === null ? "" : " in the whole events before the damage"}: nothing to minimise`);
    return EXIT.input;
  }
  writeTraceFile(o.out, (sink) => writeTraceFromEvents(
    sink,
    {
      modelVersion: hvModel.version,
      scenario: header.scenario,
      seed: header.seed,
      config: header.config,
      generator: `hvsim minimize: minimised from ${file} (${r.events.length} of ${r.originalCount} events; ${cond.label})`,
    },
    r.events.map((ev) => ({ ev })),
  ));
  io.out(
    `${r.events.length} events remain of ${r.originalCount} (the original first fails at #${r.firstFailure}); ${r.replays} candidate replays${r.budgetExhausted ? "; budget exhausted: smaller may exist" : "; 1-minimal"}`,
  );
  io.out(`kept original events: ${r.kept.map((k) => `#${k}`).join(" ")}`);
  io.out(`wrote ${o.out}`);
  return EXIT.ok;
}

export function registerMinimize(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command("minimize")
    .alias("minimise")
    .description("shrink a failing trace (ddmin over events) to a small one that still fails")
    .argument("<file>", "trace file")
    .option("--invariant <name>", "the invariant the trace breaks")
    .option("--until <predicate>", "or: a predicate that holds in the failing state (same language as bisect)")
    .requiredOption("-o, --out <file>", "where to write the minimised trace")
    .option("--budget <n>", "most candidate replays", "2000")
    .addHelpText("after", helpAfter("minimize", [`hvsim minimize ${EXAMPLE_TRACE} --until 'hypercallCounts.vcpu_run >= 3' -o out/small.hvt`]))
    .action((file: string, opts: { invariant?: string; until?: string; out: string; budget: string }) => {
      setCode(
        runMinimize(io, file, {
          ...(opts.invariant === undefined ? {} : { invariant: opts.invariant }),
          ...(opts.until === undefined ? {} : { until: opts.until }),
          out: opts.out,
          budget: parseIntOption("--budget", opts.budget, 1),
        }),
      );
    });
}
