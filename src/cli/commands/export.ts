import type { Command } from "commander";
import { damageLine } from "../../trace/damage.ts";
import { die } from "../../core/errors.ts";
import { openTraceFile } from "../files.ts";
import { refuseInputAsOutput } from "../output.ts";
import { AtomicFile } from "../../trace/source.ts";
import type { Io } from "../io.ts";
import { EXIT } from "../exit.ts";
import { seekerForTrace } from "../../timetravel/open.ts";
import { EXPORT_FORMATS, exportJsonLines, exportPerfetto, exportText, type ExportFormat, type LineSink } from "../../export/exporters.ts";

/**
 * A line sink into a file, buffered so a million-event export is not a million write calls.
 * Written whole or not at all: `close` puts the file in place, `abandon` (a failed export) leaves
 * whatever was at the path untouched.
 */
function fileLines(path: string): { sink: LineSink; close(): void; abandon(): void } {
  const file = new AtomicFile(path);
  let buf: string[] = [];
  let size = 0;
  const flush = (): void => {
    if (buf.length > 0) file.write(buf.join(""));
    buf = [];
    size = 0;
  };
  return {
    sink: (line) => {
      buf.push(line, "\n");
      size += line.length + 1;
      if (size >= 1 << 20) flush();
    },
    close: () => {
      if (file.finished) return;
      flush();
      file.commit();
    },
    abandon: () => void file.abandon(),
  };
}

export function runExport(io: Io, file: string, format: ExportFormat, outPath?: string): number {
  if (outPath !== undefined) refuseInputAsOutput("-o", outPath, [file]);
  const reader = openTraceFile(file);
  const target = outPath === undefined ? { sink: (l: string) => io.out(l), close: () => {}, abandon: () => {} } : fileLines(outPath);
  try {
    const seeker = seekerForTrace(reader);
    const n =
      format === "text" ? exportText(seeker.store, target.sink)
      : format === "json" ? exportJsonLines(seeker.store, target.sink)
      : exportPerfetto(seeker, reader.header, target.sink);
    target.close();
    if (outPath !== undefined) {
      io.out(`wrote ${outPath}: ${format}, ${n} ${format === "perfetto" ? "trace events" : "lines"} from ${seeker.count} events`);
      if (format === "perfetto") io.out("open it at https://ui.perfetto.dev (Open trace file) or chrome://tracing");
    }
    const damage = seeker.store.damage;
    if (damage !== null) {
      io.err(`hvsim: ${damageLine(file, damage)}; exported its ${seeker.count} whole events`);
      return EXIT.input;
    }
    return EXIT.ok;
  } finally {
    target.abandon();
    reader.close();
  }
}

export function registerExport(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command("export")
    .description("export a trace: perfetto (Chrome JSON trace events for ui.perfetto.dev), json (one event per line), text")
    .argument("<file>", "trace file")
    .requiredOption("--format <format>", `one of ${EXPORT_FORMATS.join(", ")}`)
    .option("-o, --out <file>", "write here instead of stdout")
    .addHelpText("after", "\nExample:\n  hvsim export a.hvt --format perfetto -o a.json   # then open a.json in ui.perfetto.dev")
    .action((file: string, opts: { format: string; out?: string }) => {
      if (!EXPORT_FORMATS.includes(opts.format as ExportFormat)) die("ARGUMENT_INVALID", `--format: expected one of ${EXPORT_FORMATS.join(", ")}, got '${opts.format}'`);
      setCode(runExport(io, file, opts.format as ExportFormat, opts.out));
    });
}
