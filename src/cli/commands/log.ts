import type { Command } from "commander";
import { damageLine } from "../../trace/damage.ts";
import { openTraceFile, parseIntOption } from "../files.ts";
import type { Io } from "../io.ts";
import { EXIT } from "../exit.ts";
import { describeEvent } from "../../export/describe.ts";
import { toJson } from "../../export/json.ts";
import { EVENT_KINDS } from "../../model/events.ts";
import { die } from "../../core/errors.ts";
import type { EventBase } from "../../core/event.ts";

export interface LogFilter {
  readonly from?: number;
  readonly to?: number;
  readonly kind?: string;
  readonly vm?: number;
}

/** Does an event pass the filter? `vm` matches an event's `vm` field (events without one never match). */
export function matchesFilter(ev: EventBase, f: LogFilter): boolean {
  if (f.from !== undefined && ev.seq < f.from) return false;
  if (f.to !== undefined && ev.seq > f.to) return false;
  if (f.kind !== undefined && ev.kind !== f.kind) return false;
  if (f.vm !== undefined && (ev as unknown as { vm?: number }).vm !== f.vm) return false;
  return true;
}

export function registerLog(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command("log")
    .description("events with their outcomes, one line each, with Gunyah's names")
    .argument("<file>", "trace file")
    .option("--from <n>", "first event index")
    .option("--to <n>", "last event index")
    .option("--kind <kind>", `only this kind (${EVENT_KINDS.join(", ")})`)
    .option("--vm <vmid>", "only events of this VM")
    .option("--json", "one JSON object per line: {seq, t, kind, ..., outcome}")
    .action((file: string, opts: Record<string, string | boolean | undefined>) => {
      if (typeof opts.kind === "string" && !EVENT_KINDS.includes(opts.kind as never)) {
        die("ARGUMENT_INVALID", `--kind: unknown event kind '${opts.kind}' (kinds: ${EVENT_KINDS.join(", ")})`);
      }
      const f: LogFilter = {
        ...(typeof opts.from === "string" ? { from: parseIntOption("--from", opts.from, 0) } : {}),
        ...(typeof opts.to === "string" ? { to: parseIntOption("--to", opts.to, 0) } : {}),
        ...(typeof opts.kind === "string" ? { kind: opts.kind } : {}),
        ...(typeof opts.vm === "string" ? { vm: parseIntOption("--vm", opts.vm, 0) } : {}),
      };
      const reader = openTraceFile(file);
      try {
        for (const { ev, outcome } of reader.events()) {
          if (f.to !== undefined && ev.seq > f.to) break;
          if (!matchesFilter(ev, f)) continue;
          io.out(opts.json ? toJson({ ...ev, outcome }) : describeEvent(ev, outcome));
        }
        if (reader.damage !== null) {
          io.err(`hvsim: ${damageLine(file, reader.damage)}`);
          setCode(EXIT.input);
          return;
        }
        setCode(EXIT.ok);
      } finally {
        reader.close();
      }
    });
}
