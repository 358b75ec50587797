import type { Command } from "commander";
import { counted } from "../words.ts";
import { withTrace } from "../target.ts";
import { helpAfter } from "../help.ts";
import type { Io } from "../io.ts";
import { EXIT } from "../exit.ts";
import { refuseInputAsOutput, writeTraceFile } from "../output.ts";
import { repairTrace, type RepairResult } from "../../trace/repair.ts";

/** What repair carried over and what it dropped, in a line or two. */
export function repairLines(file: string, out: string, r: RepairResult): string[] {
  const kept = `kept ${r.blocks} whole block${r.blocks === 1 ? "" : "s"} (${r.events} events) with their checkpoints`;
  const lines = [`wrote ${out}: a complete trace (format ${r.formatVersion}, footer and trailer rebuilt); ${kept}`];
  if (r.ended === null) lines.push(`dropped nothing: ${file} was whole`);
  else {
    const why = r.ended.code === "TRACE_INCOMPLETE" ? `the recording had not finished (${r.ended.message.replace(/^the recording did not finish: /, "")})` : `damage at byte offset ${r.ended.offset}: ${r.ended.message}`;
    lines.push(r.droppedBytes === 0 ? `dropped no bytes of ${file} (it ends after its last whole block, at byte offset ${r.droppedFrom}): ${why}` : `dropped the last ${counted(r.droppedBytes, "byte")} of ${file} (from byte offset ${r.droppedFrom}): ${why}`);
  }
  if (r.droppedBlock !== null) lines.push(`dropped block of events ${r.droppedBlock.first}..${r.droppedBlock.first + r.droppedBlock.count - 1} too: its checkpoint is missing, so nothing verifies its state`);
  return lines;
}

export function runRepair(io: Io, file: string, out: string): number {
  refuseInputAsOutput("-o", out, [file]);
  // Opened as every command opens a trace (the damage said once, first), then copied block by block.
  return withTrace(io, file, (trace) => {
    const r = writeTraceFile(out, (sink) => repairTrace(trace.reader, sink, `repaired by hvsim repair from ${file}`));
    for (const l of repairLines(file, out, r)) io.out(l);
    return EXIT.ok;
  });
}

export function registerRepair(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command("repair")
    .description("write a complete trace from the whole blocks of a damaged or unfinished one (footer rebuilt), saying what was dropped")
    .argument("<file>", "trace file (damaged, or a recording that did not finish)")
    .requiredOption("-o, --out <file>", "where to write the repaired trace (not the input)")
    .addHelpText(
      "after",
      helpAfter("repair", [`hvsim record smoke --max-events 500 -o out/smoke.hvt && hvsim repair out/smoke.hvt -o out/smoke-fixed.hvt`], [
        "Every whole block with its checkpoint is copied as recorded; nothing is recomputed, so `hvsim replay` of",
        "the result verifies exactly what was recorded. A killed recording's OUT.partial is the usual input:",
        "  hvsim repair run.hvt.partial -o run.hvt   (then hvsim replay run.hvt)",
      ]),
    )
    .action((file: string, opts: { out: string }) => setCode(runRepair(io, file, opts.out)));
}
