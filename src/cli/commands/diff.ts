import type { Command } from "commander";
import { die } from "../../core/errors.ts";
import { parseIntOption } from "../files.ts";
import { exitAfterDamage, withTrace } from "../target.ts";
import { paint } from "../colour.ts";
import type { Io } from "../io.ts";
import { EXAMPLE_TRACE, helpAfter } from "../help.ts";
import { EXIT } from "../exit.ts";
import { describeFinding } from "../report.ts";
import { describeEvent } from "../../export/describe.ts";
import { toJson } from "../../core/json.ts";
import { hvModel } from "../../model/machine.ts";
import { verifyTrace } from "../../trace/verify.ts";
import type { MachineModel } from "../../timetravel/open.ts";
import { diffTraces, type TraceDiff } from "../../timetravel/tracediff.ts";
import { readableBrief as brief, changeText } from "../../timetravel/readable.ts";
import type { Seeker } from "../../timetravel/seeker.ts";
import type { Machine } from "../../model/machine.ts";

const LISTED_MAX = 5;

/**
 * Compares two trace files; prints the report; exit 0 same run, 1 different. With a damaged side, a
 * difference among the whole events both have stands (1); "same" or a difference only in length
 * (what the damage cut) cannot be told: 2.
 */
export function runDiff(io: Io, fileA: string, fileB: string, o: { window?: number; json?: boolean } = {}): number {
  const asked = { reads: "asked" } as const;
  return withTrace(
    io,
    fileA,
    (ta) =>
      withTrace(
        io,
        fileB,
        (tb) => {
          const a = { header: ta.header, seeker: ta.seeker() };
          const b = { header: tb.header, seeker: tb.seeker() };
          const d = diffTraces(a, b, o.window);
          const p = paint(io);
          if (o.json) io.out(toJson(d));
          else for (const line of diffLines(fileA, fileB, d, a.seeker, b.seeker)) io.out(line === "different runs:" ? p.bad(line) : line.startsWith("same run") ? p.good(line) : p.change(line));
          if (d.same) return ta.damage !== null || tb.damage !== null ? EXIT.input : EXIT.ok;
          const onlyLength = d.header.length === 0 && d.firstOutcome === null && d.firstEvent === Math.min(d.eventsA, d.eventsB);
          if (onlyLength && (ta.damage !== null || tb.damage !== null)) {
            io.err(`hvsim: the traces differ only in length, and the shorter one is damaged: cannot tell whether they are the same run`);
            return EXIT.input;
          }
          return EXIT.finding;
        },
        asked,
      ),
    asked,
  );
}

function diffLines(fileA: string, fileB: string, d: TraceDiff, a: Seeker<Machine>, b: Seeker<Machine>): string[] {
  const lines = [`A ${fileA}: ${d.eventsA} events`, `B ${fileB}: ${d.eventsB} events`];
  if (d.same) return [...lines, "same run: identical header, events, outcomes and checkpoints"];
  lines.push("different runs:");
  for (const h of d.header) lines.push(`  header ${h.field}: ${brief(h.a)} vs ${brief(h.b)}`);
  if (d.firstEvent !== null) {
    const at = d.firstEvent;
    lines.push(`  first event difference at #${at}:`);
    lines.push(`    A ${at < a.count ? describeEvent(a.event(at), a.store.outcome(at)) : "(trace ended)"}`);
    lines.push(`    B ${at < b.count ? describeEvent(b.event(at), b.store.outcome(at)) : "(trace ended)"}`);
  } else lines.push("  the events are identical");
  lines.push(d.firstOutcome === null ? "  the stored outcomes of the common events are identical" : `  first outcome difference at #${d.firstOutcome}`);
  if (d.firstOutcome !== null && (d.firstEvent === null || d.firstOutcome < d.firstEvent)) {
    const i = d.firstOutcome;
    lines.push(`    A ${brief(a.store.outcome(i))}`, `    B ${brief(b.store.outcome(i))}`, "    (same event, another outcome: recorded by different models?)");
  }
  if (d.firstCheckpoint !== null) lines.push(`  the checkpoint after #${d.firstCheckpoint} has another state hash: the same events gave another state`);
  if (d.alignment !== null) lines.push(...alignmentLines(d, a, b));
  if (d.state !== null) {
    lines.push(`  state difference after #${d.state.at} (both recomputed by this build): ${d.state.changes.length === 0 ? "none" : `${d.state.changes.length}${d.state.truncated ? "+" : ""} paths`}`);
    for (const c of d.state.changes.slice(0, 20)) lines.push(`    ${changeText(c.path, c.before, c.after)}`);
  }
  return lines;
}

function alignmentLines(d: TraceDiff, a: Seeker<Machine>, b: Seeker<Machine>): string[] {
  const al = d.alignment!;
  const lines = [`  aligned from #${al.from} (window ${al.window}): ${al.common} in common, ${al.missing.length} only in A, ${al.inserted.length} only in B`];
  for (const i of al.missing.slice(0, LISTED_MAX)) lines.push(`    - A ${describeEvent(a.event(i), a.store.outcome(i))}`);
  for (const j of al.inserted.slice(0, LISTED_MAX)) lines.push(`    + B ${describeEvent(b.event(j), b.store.outcome(j))}`);
  const kinds = [...new Set([...Object.keys(d.countsAfter!.a), ...Object.keys(d.countsAfter!.b)])].sort();
  lines.push(`  events by kind from #${al.from}:`);
  for (const k of kinds) lines.push(`    ${k.padEnd(20)} A ${String(d.countsAfter!.a[k] ?? 0).padStart(8)}  B ${String(d.countsAfter!.b[k] ?? 0).padStart(8)}`);
  return lines;
}

/**
 * Replays trace A with a model (this build's by default; tests pass a modified one) and reports the
 * first event whose stored outcome no longer holds. Exit 0 all hold, 1 changed, 2 damaged.
 */
export function runDiffReplay(io: Io, file: string, model: MachineModel = hvModel as MachineModel, json = false): number {
  return withTrace(io, file, (trace) => {
    const r = verifyTrace(trace.reader, trace.damage === null ? {} : { until: trace.count - 1 }, model as unknown as typeof hvModel);
    if (json) io.out(toJson({ same: r.finding === null && trace.damage === null, verified: r.verified, finding: r.finding, damage: trace.damage }));
    else if (r.modelVersionRecorded !== null) io.out(`recorded by ${r.modelVersionRecorded}, replayed with ${model.version}`);
    if (r.finding !== null) {
      if (!json) {
        io.out(`stored outcomes no longer hold: ${describeFinding(r.finding)}`);
        if (r.finding.seq >= 0) io.out(`  ${describeEvent(trace.store.event(r.finding.seq), trace.store.outcome(r.finding.seq))}`);
      }
      return EXIT.finding;
    }
    if (!json) io.out(`same behaviour: all ${r.verified} stored outcomes and ${r.checkpointsVerified} checkpoint hashes hold with ${model.version}`);
    return exitAfterDamage(trace, EXIT.ok);
  });
}

export function registerDiff(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command("diff")
    .description("compare two traces (same run? first divergence, aligned summary, state difference), or replay one with this build (--replay)")
    .argument("<a>", "trace file A")
    .argument("[b]", "trace file B (not with --replay)")
    .option("--replay", "replay A with this build's model and report the first event whose stored outcome no longer holds")
    .option("--window <n>", "events after the divergence to align (LCS over event signatures)", "400")
    .option("--json", "print the comparison as JSON")
    .addHelpText("after", helpAfter("diff", [`hvsim record --seed 2 -o out/pvm-boot-s2.hvt && hvsim diff ${EXAMPLE_TRACE} out/pvm-boot-s2.hvt  # exit 1: another seed, another run`, `hvsim diff ${EXAMPLE_TRACE} --replay`]))
    .action((a: string, b: string | undefined, opts: { replay?: boolean; window: string; json?: boolean }) => {
      if (opts.replay) {
        if (b !== undefined) die("ARGUMENT_INVALID", "--replay takes one trace (it compares the trace with this build's model)");
        setCode(runDiffReplay(io, a, undefined, opts.json === true));
        return;
      }
      if (b === undefined) die("ARGUMENT_INVALID", "give two traces, or one with --replay");
      setCode(runDiff(io, a, b, { window: parseIntOption("--window", opts.window, 1), json: opts.json === true }));
    });
}
