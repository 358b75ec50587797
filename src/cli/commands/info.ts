import type { Command } from "commander";
import { counted } from "../words.ts";
import { withTrace } from "../target.ts";
import type { OpenedTrace } from "../../timetravel/open.ts";
import { FoundDamage } from "../../timetravel/store.ts";
import { footerSummary, scanTrace, type TraceSummary } from "../../trace/scan.ts";
import type { Io } from "../io.ts";
import { EXAMPLE_TRACE, helpAfter } from "../help.ts";
import { EXIT } from "../exit.ts";
import { formatNs } from "../../export/describe.ts";
import { toJson } from "../../core/json.ts";
import { damageHint } from "../../trace/damage.ts";
import { FORMAT_VERSION, stateHashOf } from "../../trace/format.ts";

/** What sets each format apart, for `info` (docs/architecture.md "Trace file"). */
const FORMAT_NOTES: Readonly<Record<number, string>> = {
  1: ": msgpack records",
  2: ": msgpack records, checksummed trailer",
  3: ": deflate-compressed records, snapshots as deltas",
  4: ": deflate-compressed events with a byte column, snapshots as deltas naming event bytes",
};

/** What each state hash definition is (docs/architecture.md "State hash"): verifiers use the one a trace names. */
const HASH_NOTES: Readonly<Record<number, string>> = {
  1: "SHA-256 of the whole state",
  2: "a tree of SHA-256 digests",
};

/** The summary, and with --verify the stored states rebuilt: what a seek would start from must be what it claims. */
type InfoSummary = TraceSummary & { readonly storedStatesChecked?: number };

function verifiedSummary(trace: OpenedTrace): InfoSummary {
  const s = summaryOf(trace);
  if (s.damage !== null) return s;
  try {
    return { ...s, storedStatesChecked: trace.store.checkStoredStates() };
  } catch (e) {
    if (!(e instanceof FoundDamage)) throw e;
    return { ...s, damage: e.damage };
  }
}

export function infoLines(file: string, s: InfoSummary): string[] {
  const h = s.header;
  const lines = [
    `trace      ${file} (${s.bytes} bytes, format ${h.formatVersion}${FORMAT_NOTES[h.formatVersion] ?? ""}${h.formatVersion < FORMAT_VERSION ? `, older than this build's ${FORMAT_VERSION}: read, never written` : ""})`,
    `model      ${h.modelVersion}`,
    `scenario   ${h.scenario.name} (sha256 ${h.scenario.hash.slice(0, 16)})`,
    `seed       ${h.seed}`,
    `events     ${s.events} in ${counted(s.blocks, "block")} of up to ${h.blockEvents}`,
  ];
  for (const [k, n] of Object.entries(s.countsByKind)) lines.push(`  ${k.padEnd(20)} ${n}`);
  lines.push(
    `time       ${s.firstT === null ? "-" : `${formatNs(s.firstT)} .. ${formatNs(s.lastT ?? 0)}`}`,
    `checkpoint ${s.checkpoints} (${s.snapshots} with a stored state${s.deltaSnapshots === 0 ? "" : `: ${s.snapshots - s.deltaSnapshots} whole, ${s.deltaSnapshots} delta${s.deltaSnapshots === 1 ? "" : "s"}`})`,
    `hash       state hash definition ${stateHashOf(h)}: ${HASH_NOTES[stateHashOf(h)]}`,
  );
  if (s.damage === null && s.checked === "footer index") {
    lines.push(
      "integrity  index ok: the trailer's and footer's checksums verified and the footer index consistent; blocks are checked when read",
      `           (hvsim info --verify ${file} checks every record, about a second per million events)`,
    );
  } else if (s.damage === null) {
    const stored = s.storedStatesChecked === undefined ? "" : `; ${counted(s.storedStatesChecked, "stored state")} rebuilt, each hashing to its checkpoint's hash`;
    lines.push(`integrity  ok: every record's checksum and place verified; the footer index agrees with the file and the trailer ends it${stored}`);
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

/** The summary through the footer index when the trace was opened through it, else from one checked scan. */
function summaryOf(trace: OpenedTrace): TraceSummary {
  if (trace.store.index === "footer") return footerSummary(trace.reader, trace.count === 0 ? null : trace.store.event(0).t);
  // The scan that opened the trace (reads: "whole", or no usable footer) already read every record.
  const scanned = trace.store.scanned ?? scanTrace(trace.reader);
  // The open found damage a plain scan cannot see (a gap in event indices): report that one.
  return { ...scanned, damage: trace.damage ?? scanned.damage };
}

export function registerInfo(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command("info")
    .description("header, event counts by kind, virtual-time span, checkpoints and integrity of a trace")
    .argument("<file>", "trace file")
    .option("--json", "print as JSON")
    .option("--verify", "check every record (checksum, schema, place), not only the trailer and footer index")
    .addHelpText(
      "after",
      helpAfter("info", [`hvsim info ${EXAMPLE_TRACE}`, `hvsim info ${EXAMPLE_TRACE} --verify`], [
        "Without --verify, a whole trace is described from its footer index (checked through the trailer), so",
        "info takes the same time on any length of trace; a file without a usable footer is scanned whole.",
      ]),
    )
    .action((file: string, opts: { json?: boolean; verify?: boolean }) => {
      withTrace(
        io,
        file,
        (trace) => {
          const s = opts.verify ? verifiedSummary(trace) : summaryOf(trace);
          if (opts.json) io.out(toJson({ file, ...s }));
          else for (const l of infoLines(file, s)) io.out(l);
          setCode(s.damage === null ? EXIT.ok : EXIT.input);
        },
        { reads: opts.verify ? "whole" : "asked" },
      );
    });
}
