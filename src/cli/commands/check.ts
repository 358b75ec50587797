import type { Command } from "commander";
import { progressLine, type Io } from "../io.ts";
import { EXAMPLE_TRACE, helpAfter } from "../help.ts";
import { EXIT } from "../exit.ts";
import { parseIntOption } from "../files.ts";
import { collect, incompleteOption, isTraceFile, reportDamage, scenarioArg, shellQuote, withTrace } from "../target.ts";
import { printNextSteps, violationNextSteps } from "../report.ts";
import { paint } from "../colour.ts";
import { allInvariants, checkScenario, checkTrace, type CheckResult } from "../../sim/check.ts";
import { refuseInputAsOutput, writeTraceFile } from "../output.ts";
import { toJson } from "../../core/json.ts";
import { die } from "../../core/errors.ts";
import { readableText } from "../../timetravel/readable.ts";
import { hvModel, type MachineConfig } from "../../model/machine.ts";
import { compilePredicate } from "../../timetravel/predicate.ts";

interface CheckOpts {
  seed: string;
  maxEvents?: string;
  assert: string[];
  out?: string;
  json?: boolean;
  allowIncomplete?: boolean;
}

/**
 * What a check found, and its exit code. A damaged or unfinished trace was announced when it was
 * opened (target.ts); here it only decides `ok` (the exit code follows exitAfterDamage).
 */
function report(io: Io, r: CheckResult, json: boolean, accepted = false): number {
  if (json) {
    io.out(toJson({ ok: r.violation === null && r.problem === null && (r.damage === null || accepted), events: r.events, invariants: r.invariants, violation: r.violation, problem: r.problem, damage: r.damage }));
  } else if (r.violation !== null) {
    const v = r.violation;
    io.out(`${paint(io).bad("VIOLATION")} ${v.invariant} at event ${v.index} (${v.kind}): ${v.detail}`);
    io.out(`  path    ${v.path}`);
    if (v.objects) io.out(`  objects ${readableText(v.objects)}`);
  } else if (r.problem !== null) {
    io.err(`hvsim: the trace could not be checked to the end: ${r.problem} (run hvsim replay for details)`);
  } else {
    io.out(`${paint(io).good("ok")}: ${r.events} events checked against ${r.invariants} invariants after every event`);
  }
  if (r.violation !== null) return EXIT.finding;
  if (r.problem === null) return EXIT.ok;
  return r.problemClass === "divergence" ? EXIT.divergence : EXIT.input;
}

/** `--assert` paths that cannot exist in this machine's state are usage errors before anything runs. */
function checkAssertions(asserts: readonly string[], config: unknown): void {
  const shape = hvModel.genesis(config as MachineConfig);
  for (const a of asserts) compilePredicate(a, undefined, shape);
}

/** A redraw every 64k events on a terminal. */
const progress = (io: Io, verb: string, total: number) => (n: number) => {
  if (n % 65_536 < 1024 || n === total) io.progress(progressLine(verb, n, total));
};

function checkTraceFile(io: Io, target: string, opts: CheckOpts): number {
  const incomplete = incompleteOption(opts.allowIncomplete);
  return withTrace(
    io,
    target,
    (trace) => {
      checkAssertions(opts.assert, trace.header.config);
      const onCheckpoint = io.isTTY ? progress(io, "checking", trace.count) : undefined;
      const r = checkTrace(trace.reader, allInvariants(opts.assert), {
        ...(trace.damage === null ? {} : { until: trace.count - 1 }),
        ...(onCheckpoint === undefined ? {} : { onCheckpoint: (seq: number) => onCheckpoint(seq + 1) }),
      });
      if (io.isTTY) io.progress("");
      // The opening pass found the damage; replay stopped before it (until), so it is the trace's.
      const damage = r.violation === null && r.problem === null ? trace.damage ?? r.damage : null;
      const accepted = incomplete === "accept" && damage?.code === "TRACE_INCOMPLETE";
      if (trace.damage === null && r.damage !== null) reportDamage(io, target, r.damage, incomplete);
      const code = report(io, { ...r, damage }, opts.json === true, accepted);
      if (r.violation !== null && !opts.json) printNextSteps(io, violationNextSteps("hvsim", target, r.violation.invariant, r.violation.index));
      return damage !== null && code === EXIT.ok && !accepted ? EXIT.input : code;
    },
    { incomplete, reads: "streamed" },
  );
}

function checkScenarioRun(io: Io, target: string, opts: CheckOpts): number {
  const scenario = scenarioArg(target, true);
  checkAssertions(opts.assert, scenario.config);
  const seed = parseIntOption("--seed", opts.seed, 0);
  const maxEvents = opts.maxEvents === undefined ? undefined : parseIntOption("--max-events", opts.maxEvents, 1);
  const onProgress = io.isTTY ? (n: number, max: number) => progress(io, "checking", max)(n) : undefined;
  const limits = { ...(maxEvents === undefined ? {} : { maxEvents }), ...(onProgress === undefined ? {} : { onProgress }) };
  const invariants = allInvariants(opts.assert);
  const out = opts.out;
  if (out !== undefined) refuseInputAsOutput("-o", out, [scenario.source]);
  // A kept trace is written whole or not at all (output.ts), as `record` writes one.
  const r = out === undefined ? checkScenario(scenario, seed, null, invariants, limits) : writeTraceFile(out, (sink) => checkScenario(scenario, seed, sink, invariants, limits), { keepPartial: true });
  if (io.isTTY) io.progress("");
  const code = report(io, r, opts.json === true);
  if (r.violation !== null && !opts.json) {
    // The run's trace is needed by the commands that follow: keep it (or say how).
    const file = opts.out ?? `${scenario.name}-s${seed}.hvt`;
    const keep: [string, string][] =
      opts.out !== undefined ? [] : [[`hvsim check ${shellQuote(target)} --seed ${seed}${maxEvents === undefined ? "" : ` --max-events ${maxEvents}`}${opts.assert.map((a) => ` --assert ${shellQuote(a)}`).join("")} -o ${file}`, "the same run, its trace kept"]];
    printNextSteps(io, [...keep, ...violationNextSteps("hvsim", file, r.violation.invariant, r.violation.index)]);
  }
  return code;
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
      helpAfter(
        "check",
        [
          `hvsim check ${EXAMPLE_TRACE}`,
          "hvsim check bug-reclaim-without-sanitise  # exit 1: the violation it is built to show",
          "hvsim check smoke --seed 3 --max-events 2000 --assert 'hypercallCounts.hypervisor_identify < 40'  # exit 1: the assertion breaks at #63",
        ],
        ["An unfinished recording (no footer) is checked as far as it goes; it exits 2 unless --allow-incomplete."],
      ),
    )
    .action((target: string, opts: CheckOpts, cmd: Command) => {
      if (!isTraceFile(target)) return setCode(checkScenarioRun(io, target, opts));
      // They shape a scenario run; a trace is already one run, so taking them silently would mislead.
      for (const [key, flag] of [["seed", "--seed"], ["maxEvents", "--max-events"], ["out", "-o"]] as const) {
        if (cmd.getOptionValueSource(key) === "cli") die("ARGUMENT_INVALID", `${flag} is for a scenario run; ${target} is a trace (one run already: its seed and length are in hvsim info)`);
      }
      setCode(checkTraceFile(io, target, opts));
    });
}
