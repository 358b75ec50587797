import type { Command } from "commander";
import { withTrace } from "../target.ts";
import { scanTrace, type TraceSummary } from "../../trace/scan.ts";
import type { Io } from "../io.ts";
import { EXAMPLE_TRACE, helpAfter } from "../help.ts";
import { EXIT } from "../exit.ts";
import { formatNs } from "../../export/describe.ts";
import { toJson } from "../../core/json.ts";
import { damageHint } from "../../trace/damage.ts";
import { FORMAT_VERSION } from "../../trace/format.ts";

export function infoLines(file: string, s: TraceSummary): string[] {
  const h = s.header;
  const lines = [
    `trace      ${file} (${s.bytes} bytes, format ${h.formatVersion}${h.formatVersion < FORMAT_VERSION ? `, older than this build's ${FORMAT_VERSION}: read, never written` : ""})`,
    `model      ${h.modelVersion}`,
    `scenario   ${h.scenario.name} (sha256 ${h.scenario.hash.slice(0, 16)})`,
    `seed       ${h.seed}`,
    `events     ${s.events} in ${s.blocks} blocks of up to ${h.blockEvents}`,
  ];
  for (const [k, n] of Object.entries(s.countsByKind)) lines.push(`  ${k.padEnd(20)} ${n}`);
  lines.push(
    `time       ${s.firstT === null ? "-" : `${formatNs(s.firstT)} .. ${formatNs(s.lastT ?? 0)}`}`,
    `checkpoint ${s.checkpoints} (${s.snapshots} with a full snapshot)`,
  );
  if (s.damage === null) {
    lines.push("integrity  ok: every record's checksum and place verified; the footer index agrees with the file and the trailer ends it");
  } else if (s.damage.code === "TRACE_INCOMPLETE") {
    lines.push(`integrity  INCOMPLETE: ${s.damage.message}`, `           every record before offset ${s.damage.offset} verified; ${damageHint(file, s.damage)}`);
  } else {
    lines.push(
      `integrity  DAMAGED at byte offset ${s.damage.offset} (block ${s.damage.block}): ${s.damage.message}`,
      `           ${s.damage.eventsBefore} whole events survive before the damage; ${damageHint(file, s.damage)}`,
    );
  }
  return lines;
}

export function registerInfo(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command("info")
    .description("header, event counts by kind, virtual-time span, checkpoints and integrity of a trace")
    .argument("<file>", "trace file")
    .option("--json", "print as JSON")
    .addHelpText("after", helpAfter("info", [`hvsim info ${EXAMPLE_TRACE}`]))
    .action((file: string, opts: { json?: boolean }) => {
      withTrace(io, file, (trace) => {
        const scanned = scanTrace(trace.reader);
        // The open found damage a plain scan cannot see (a gap in event indices): report that one.
        const s = { ...scanned, damage: trace.damage ?? scanned.damage };
        if (opts.json) io.out(toJson({ file, ...s }));
        else for (const l of infoLines(file, s)) io.out(l);
        setCode(s.damage === null ? EXIT.ok : EXIT.input);
      });
    });
}
