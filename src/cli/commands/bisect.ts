import type { Command } from "commander";
import { isHvsimError, type HvsimError } from "../../core/errors.ts";
import { parseIntOption } from "../files.ts";
import { openTraceFile, shellQuote } from "../target.ts";
import type { Io } from "../io.ts";
import { EXAMPLE_TRACE, helpAfter } from "../help.ts";
import { EXIT } from "../exit.ts";
import { describeEvent } from "../../export/describe.ts";
import { toJson } from "../../core/json.ts";
import { hvModel, type Machine } from "../../model/machine.ts";
import type { OpenedTrace } from "../../timetravel/open.ts";
import { conditionFromOptions, type Condition } from "../../timetravel/condition.ts";
import { bisect, bisectReport, scanFirst, type BisectResult } from "../../timetravel/bisect.ts";

export interface BisectCliOptions {
  readonly until?: string;
  readonly invariant?: string;
  /** git bisect run's convention: 0 never, 1 reached, 125 cannot tell, 128 usage (aborts the bisection). */
  readonly exitCode?: boolean;
  readonly json?: boolean;
  readonly interval?: number;
  /** A linear scan instead of the binary search: the first index for any condition, monotonic or not. */
  readonly scan?: boolean;
}

/**
 * Events between the seeker's in-memory checkpoints during a bisect: 4 per stored-state interval
 * (16,384 events). Each is a deep copy of the state, and bisect's probes are far apart until the
 * last few: on long-run 1.2M, 4096 took 2.9 s where the debugger's 256 took 4.3 s (a condition
 * that never holds; 3.4 against 4.9 s for one found near the end).
 */
const BISECT_INTERVAL = 4096;

/** git bisect run: 0 good, 1 bad, 125 skip (cannot test), >127 abort. */
export const GIT_BISECT = { good: 0, bad: 1, skip: 125, abort: 128 } as const;

/** Fails of a class: a bad condition (usage) or a trace that cannot answer. */
class Refusal {
  constructor(
    readonly message: string,
    readonly usage: boolean,
  ) {}
}

/** Runs a stage, its failure a Refusal: a usage error (git bisect aborts) when `usage` says so of it, else "cannot tell". */
const asRefusal = (usage: boolean | ((e: HvsimError) => boolean), fn: () => void): void => {
  try {
    fn();
  } catch (e) {
    if (!isHvsimError(e)) throw e;
    throw new Refusal(e.message, typeof usage === "function" ? usage(e) : usage && e.failureClass === "input");
  }
};

/** Runs bisect over a trace file and prints the answer; returns the exit code. */
export function runBisect(io: Io, file: string, o: BisectCliOptions): number {
  try {
    // The condition's syntax first (usage), then the trace (cannot tell), then its paths against the trace's shape (usage).
    asRefusal(true, () => conditionFromOptions<Machine>(o, hvModel.invariants));
    let trace: OpenedTrace | undefined;
    asRefusal(false, () => void (trace = openTraceFile(io, file)));
    try {
      let cond: Condition<Machine> | undefined;
      asRefusal(true, () => void (cond = conditionFromOptions<Machine>(o, hvModel.invariants, undefined, trace!.seeker().genesis)));
      let code: number = EXIT.ok;
      // An event this build cannot apply: the trace is invalid for this model, so the answer is
      // unknown; a predicate that meets a value of the wrong type is bad usage, whatever the trace.
      asRefusal((e) => e.code === "ARGUMENT_INVALID", () => void (code = searchAndReport(io, file, trace!, cond!, o)));
      return code;
    } finally {
      trace?.close();
    }
  } catch (e) {
    if (!(e instanceof Refusal)) throw e;
    io.err(`hvsim: ${e.message}`);
    return o.exitCode ? (e.usage ? GIT_BISECT.abort : GIT_BISECT.skip) : EXIT.input;
  }
}

function searchAndReport(io: Io, file: string, trace: OpenedTrace, cond: Condition<Machine>, o: BisectCliOptions): number {
  const seeker = trace.seeker({ interval: o.interval ?? BISECT_INTERVAL });
  const damage = trace.damage;
  if (o.scan) return scanAndReport(io, file, trace, cond, o);
  const r = bisect(seeker, cond);
  if (o.json) {
    const ev = r.index !== null && r.index >= 0 ? seeker.event(r.index) : null;
    io.out(
      toJson({
        index: r.index,
        condition: cond.label,
        event: ev,
        events: seeker.count,
        probes: r.probes,
        samples: r.samples,
        seeks: r.seeks,
        eventsReplayed: r.eventsReplayed,
        verified: r.verified,
        notMonotonic: r.notMonotonic,
        damaged: damage !== null,
      }),
    );
  } else {
    for (const line of textReport(file, seeker.count, cond, r)) io.out(line);
    if (r.index !== null) for (const line of bisectReport(seeker, cond, r.index, describeEvent)) io.out(line);
    io.out(`${r.seeks} seeks from checkpoints (${r.eventsReplayed} events replayed), ${r.probes} states probed and ${r.samples} sampled to test that the condition, once it holds, keeps holding`);
  }
  if (r.notMonotonic !== null) {
    io.err(`hvsim: bisect cannot answer: the condition is not monotonic; the first index by a linear scan: ${scanCommand(file, o)}`);
    return o.exitCode ? GIT_BISECT.skip : EXIT.input;
  }
  if (r.index !== null) return o.exitCode ? GIT_BISECT.bad : EXIT.finding;
  if (damage !== null) {
    io.err(`hvsim: ${file}: the condition does not hold in the ${seeker.count} whole events before the damage; cannot tell about the rest`);
    return o.exitCode ? GIT_BISECT.skip : EXIT.input;
  }
  return o.exitCode ? GIT_BISECT.good : EXIT.ok;
}

/** `--scan`: every state from genesis on, one walk; the first where the condition holds. */
function scanAndReport(io: Io, file: string, trace: OpenedTrace, cond: Condition<Machine>, o: BisectCliOptions): number {
  const seeker = trace.seeker({ interval: o.interval ?? BISECT_INTERVAL });
  const index = scanFirst(seeker, cond);
  if (o.json) {
    io.out(toJson({ index, condition: cond.label, event: index !== null && index >= 0 ? seeker.event(index) : null, events: seeker.count, scan: true, eventsReplayed: seeker.stats.eventsReplayed, damaged: trace.damage !== null }));
  } else if (index === null) {
    io.out(`${never(cond)} in any of the ${seeker.count} states of ${file} (linear scan)`);
  } else {
    io.out(index === -1 ? `${cond.label} already in the genesis state (linear scan)` : `${cond.label} first after event #${index} (linear scan of ${seeker.stats.eventsReplayed} events)`);
    for (const line of bisectReport(seeker, cond, index, describeEvent)) io.out(line);
  }
  if (index !== null) return o.exitCode ? GIT_BISECT.bad : EXIT.finding;
  if (trace.damage !== null) return o.exitCode ? GIT_BISECT.skip : EXIT.input;
  return o.exitCode ? GIT_BISECT.good : EXIT.ok;
}

const never = (cond: Condition<Machine>): string => `${cond.label.replace(/ (holds|breaks)$/, "")}: never ${cond.label.endsWith("breaks") ? "breaks" : "holds"}`;

function scanCommand(file: string, o: BisectCliOptions): string {
  const what = o.until !== undefined ? `--until ${shellQuote(o.until)}` : `--invariant ${shellQuote(o.invariant ?? "")}`;
  return `hvsim bisect ${shellQuote(file)} ${what} --scan`;
}

function textReport(file: string, events: number, cond: Condition<Machine>, r: BisectResult): string[] {
  if (r.notMonotonic !== null) {
    const { holds, fails } = r.notMonotonic;
    const where = holds < 0 ? "in the genesis state" : `after #${holds}`;
    return [`${cond.label} ${where} but not after the later #${fails}: it does not keep holding once it holds, so a binary search has no answer`];
  }
  if (r.index === null) {
    return [`${never(cond)} at the end of ${file} (${events} events) nor in any of the ${r.samples + r.probes - 1} other states looked at; bisect assumes once it holds it keeps holding (--scan checks every state)`];
  }
  if (r.index === -1) return [`${cond.label} already in the genesis state`];
  const check = r.verified ? `checked: the condition is true after #${r.index} and false after #${r.index - 1}` : "NOT verified";
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
    .option("--interval <n>", `events between in-memory checkpoints (default ${BISECT_INTERVAL})`)
    .option("--scan", "check every state in order instead (a linear scan): the first index for a condition that is not monotonic")
    .addHelpText(
      "after",
      helpAfter(
        "bisect",
        [
          `hvsim bisect ${EXAMPLE_TRACE} --until 'hypercallCounts.vcpu_run >= 100'  # exit 1: found`,
          `hvsim bisect ${EXAMPLE_TRACE} --until 'rm.vms.ids[0] == 128' --scan  # exit 1: found`,
          `hvsim bisect ${EXAMPLE_TRACE} --invariant isolation.reclaimed_memory_sanitised`,
        ],
        [
          "Predicates: paths (a.b[3].c, hypercallCounts.msgqueue_send, a[\"odd key\"]), integers (0x8040_0000), strings,",
          "true/false/null, == != < <= > >=, && || !, parentheses, len(path), exists(path). A path that cannot exist",
          "in the trace's state is an error; a hypercall never made counts 0.",
          "Bisect assumes monotonicity (once the condition holds it keeps holding) and tests it on the ends, the",
          "cached checkpoints and a spread of samples; when it does not hold, bisect says so: use --scan.",
        ],
      ),
    )
    .action((file: string, opts: { until?: string; invariant?: string; exitCode?: boolean; json?: boolean; interval?: string; scan?: boolean }) => {
      setCode(
        runBisect(io, file, {
          ...(opts.until === undefined ? {} : { until: opts.until }),
          ...(opts.invariant === undefined ? {} : { invariant: opts.invariant }),
          exitCode: opts.exitCode === true,
          json: opts.json === true,
          scan: opts.scan === true,
          ...(opts.interval === undefined ? {} : { interval: parseIntOption("--interval", opts.interval, 1) }),
        }),
      );
    });
}
