import type { Command } from "commander";
import { die } from "../../core/errors.ts";
import { progressLine, type Io } from "../io.ts";
import { EXAMPLE_TRACE, helpAfter } from "../help.ts";
import { refuseInputAsOutput } from "../output.ts";
import { EXIT } from "../exit.ts";
import { fileLines, pump } from "../lines.ts";
import { exitAfterDamage, withTrace } from "../target.ts";
import { windowFromOptions, type WindowOptions } from "./log.ts";
import { FoundDamage } from "../../timetravel/store.ts";
import { EXPORT_FORMATS, jsonLines, perfettoLines, textLines, type ExportFormat } from "../../export/exporters.ts";

/** A progress redraw every 16k events on a terminal, when the export goes to a file. */
function exportProgress(io: Io, from: number, total: number): ((i: number) => void) | undefined {
  if (!io.isTTY) return undefined;
  return (i) => {
    if ((i - from) % 16_384 === 0) io.progress(progressLine("exporting", i - from, total));
  };
}

export async function runExport(io: Io, file: string, format: ExportFormat, o: WindowOptions & { out?: string }): Promise<number> {
  if (o.out !== undefined) refuseInputAsOutput("-o", o.out, [file]);
  // A window (--from/--to) is read through the footer index, its blocks only: exporting the last
  // thousand events of a long trace does not decode the rest. A whole export reads everything, so
  // it scans first and says the damage before the first line, as replay does.
  const windowed = o.from !== undefined || o.to !== undefined;
  return withTrace(io, file, async (trace) => {
    const w = windowFromOptions(trace, o);
    const onEvent = o.out === undefined ? undefined : exportProgress(io, w.from, w.to - w.from + 1);
    const lines =
      format === "text" ? textLines(trace.store, w, onEvent)
      : format === "json" ? jsonLines(trace.store, w, onEvent)
      : perfettoLines(trace.seeker(), trace.header, w, onEvent);
    const outFile = o.out === undefined ? null : fileLines(o.out);
    const target = outFile ?? io.stream();
    let r: Awaited<ReturnType<typeof pump>>;
    try {
      r = await pump(target, lines);
    } catch (e) {
      // A block of the window read through the index is damaged: what stdout got stays, a file is not written.
      if (!(e instanceof FoundDamage)) throw e;
      if (outFile === null) await target.end();
      io.err(`hvsim: ${e.message}`);
      return EXIT.input;
    } finally {
      // An export that fails leaves whatever was at the output path as it was.
      outFile?.abandon();
    }
    if (onEvent !== undefined) io.progress("");
    if (r.readerLeft) return EXIT.ok;
    if (o.out !== undefined) {
      const window = w.from === 0 && w.to === trace.count - 1 && w.vm === undefined ? `${trace.count} events` : `events #${w.from}..#${w.to}${w.vm === undefined ? "" : ` of VM ${w.vm}`}`;
      io.out(`wrote ${o.out}: ${format}, ${r.lines} ${format === "perfetto" ? "lines of trace events" : "lines"} from ${window}`);
      if (format === "perfetto") io.out("open it at https://ui.perfetto.dev (Open trace file) or chrome://tracing");
    }
    return exitAfterDamage(trace, EXIT.ok);
  }, { reads: windowed ? "asked" : "whole" });
}

export function registerExport(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command("export")
    .description("export a trace: perfetto (Chrome JSON trace events for ui.perfetto.dev), json (one event per line), text")
    .argument("<file>", "trace file")
    .requiredOption("--format <format>", `one of ${EXPORT_FORMATS.join(", ")}`)
    .option("-o, --out <file>", "write here instead of stdout")
    .option("--from <n>", "first event index of the window")
    .option("--to <n>", "last event index of the window (`end`: the last event)")
    .option("--vm <vmid>", "only this VM's events (perfetto: and its vCPU tracks)")
    .addHelpText(
      "after",
      helpAfter("export", [
        `hvsim export ${EXAMPLE_TRACE} --format perfetto -o out/boot.json   # then open it in ui.perfetto.dev`,
        `hvsim export ${EXAMPLE_TRACE} --format perfetto --from 100 --to 400 --vm 128 -o out/part.json`,
      ]),
    )
    .action(async (file: string, opts: WindowOptions & { format: string; out?: string }) => {
      if (!EXPORT_FORMATS.includes(opts.format as ExportFormat)) die("ARGUMENT_INVALID", `--format: expected one of ${EXPORT_FORMATS.join(", ")}, got '${opts.format}'`);
      setCode(await runExport(io, file, opts.format as ExportFormat, opts));
    });
}
