import type { Command } from "commander";
import { damageLine } from "../../trace/damage.ts";
import { isHvsimError } from "../../core/errors.ts";
import { openTraceFile, parseIntOption } from "../files.ts";
import type { Io } from "../io.ts";
import { EXIT } from "../exit.ts";
import { describeEvent } from "../../export/describe.ts";
import { toJson } from "../../export/json.ts";
import { hvModel, type Machine } from "../../model/machine.ts";
import { seekerForTrace } from "../../timetravel/open.ts";
import { conditionFromOptions, type Condition } from "../../timetravel/condition.ts";
import { bisect, bisectReport, type BisectResult } from "../../timetravel/bisect.ts";
import type { TraceReader } from "../../trace/reader.ts";

export interface BisectCliOptions {
  readonly until?: string;
  readonly invariant?: string;
  /** git bisect run's convention: 0 never, 1 reached, 125 cannot tell, 128 usage (aborts the bisection). */
  readonly exitCode?: boolean;
  readonly json?: boolean;
  readonly interval?: number;
}

/** git bisect run: 0 good, 1 bad, 125 skip (cannot test), >127 abort. */
export const GIT_BISECT = { good: 0, bad: 1, skip: 125, abort: 128 } as const;

/** Runs bisect over a trace file and prints the answer; returns the exit code. */
export function runBisect(io: Io, file: string, o: BisectCliOptions): number {
  let cond: Condition<Machine>;
  try {
    cond = conditionFromOptions<Machine>(o, hvModel.invariants);
  } catch (e) {
    if (!isHvsimError(e)) throw e;
    io.err(`hvsim: ${e.message}`);
    return o.exitCode ? GIT_BISECT.abort : EXIT.input;
  }
  let reader: TraceReader;
  try {
    reader = openTraceFile(file);
  } catch (e) {
    if (!isHvsimError(e)) throw e;
    io.err(`hvsim: ${e.message}`);
    return o.exitCode ? GIT_BISECT.skip : EXIT.input;
  }
  try {
    return searchAndReport(io, file, reader, cond, o);
  } catch (e) {
    // An event this build cannot apply: the trace is invalid for this model, so the answer is unknown.
    if (!isHvsimError(e)) throw e;
    io.err(`hvsim: ${e.message}`);
    return o.exitCode ? GIT_BISECT.skip : EXIT.input;
  } finally {
    reader.close();
  }
}

function searchAndReport(io: Io, file: string, reader: TraceReader, cond: Condition<Machine>, o: BisectCliOptions): number {
  const seeker = seekerForTrace(reader, o.interval === undefined ? {} : { interval: o.interval });
  const r = bisect(seeker, cond);
  const damage = seeker.store.damage;
  if (o.json) {
    const ev = r.index !== null && r.index >= 0 ? seeker.event(r.index) : null;
    io.out(toJson({ index: r.index, condition: cond.label, event: ev, events: seeker.count, probes: r.probes, seeks: r.seeks, eventsReplayed: r.eventsReplayed, verified: r.verified, damaged: damage !== null }));
  } else {
    for (const line of textReport(file, seeker.count, cond, r)) io.out(line);
    if (r.index !== null) for (const line of bisectReport(seeker, cond, r.index, describeEvent)) io.out(line);
    io.out(`${r.seeks} seeks from checkpoints (${r.eventsReplayed} events replayed), ${r.probes} states probed; bisect assumes that once the condition holds it keeps holding`);
  }
  if (r.index !== null) {
    // Found within the whole part: the answer stands, but the trace is still not whole.
    if (damage !== null) io.err(`hvsim: ${damageLine(file, damage)}`);
    return o.exitCode ? GIT_BISECT.bad : EXIT.finding;
  }
  if (damage !== null) {
    io.err(`hvsim: ${damageLine(file, damage)}: the condition does not hold in the ${seeker.count} events there; cannot tell about the rest`);
    return o.exitCode ? GIT_BISECT.skip : EXIT.input;
  }
  return o.exitCode ? GIT_BISECT.good : EXIT.ok;
}

function textReport(file: string, events: number, cond: Condition<Machine>, r: BisectResult): string[] {
  if (r.index === null) return [`${cond.label.replace(/ (holds|breaks)$/, "")}: never ${cond.label.endsWith("breaks") ? "breaks" : "holds"} in the ${events} events of ${file}`];
  if (r.index === -1) return [`${cond.label} already in the genesis state`];
  const check = r.verified ? `checked: the condition is true after #${r.index} and false after #${r.index - 1}` : "NOT verified: the condition is not monotonic here";
  return [`${cond.label} first after event #${r.index} (${check})`];
}

export function registerBisect(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command("bisect")
    .description("the first event after which a condition holds (or an invariant breaks), in O(log n) seeks")
    .argument("<file>", "trace file")
    .option("--until <predicate>", "a predicate over state paths, e.g. 'hypercallCounts.0x33 >= 3 && len(hypercallCounts) > 2'")
    .option("--invariant <name>", "a named invariant of the model: find where it first breaks")
    .option("--exit-code", "exit like a git bisect run script: 0 never, 1 reached, 125 damaged/invalid trace, 128 bad usage")
    .option("--json", 'print {"index": N, ...} (index null: never; -1: already in genesis)')
    .option("--interval <n>", "events between in-memory checkpoints")
    .addHelpText(
      "after",
      "\nPredicates: paths (a.b[3].c, hypercallCounts.0x33), integers (0x8040_0000), strings, true/false/null,\n" +
        "== != < <= > >=, && || !, parentheses, len(path), exists(path) and functions the model registers.\n" +
        "Bisect assumes monotonicity: once the condition holds it keeps holding.\n" +
        "Exit codes: 0 never, 1 found, 2 bad input (with --exit-code: 0 / 1 / 125 cannot tell / 128 usage).",
    )
    .action((file: string, opts: { until?: string; invariant?: string; exitCode?: boolean; json?: boolean; interval?: string }) => {
      setCode(
        runBisect(io, file, {
          ...(opts.until === undefined ? {} : { until: opts.until }),
          ...(opts.invariant === undefined ? {} : { invariant: opts.invariant }),
          exitCode: opts.exitCode === true,
          json: opts.json === true,
          ...(opts.interval === undefined ? {} : { interval: parseIntOption("--interval", opts.interval, 1) }),
        }),
      );
    });
}
