import type { Command } from "commander";
import { parseIntOption } from "../files.ts";
import type { Io } from "../io.ts";
import { EXAMPLE_TRACE, helpAfter } from "../help.ts";
import { EXIT } from "../exit.ts";
import { pump } from "../lines.ts";
import { exitAfterDamage, indexOption, withTrace } from "../target.ts";
import { describeEvent } from "../../export/describe.ts";
import { readableJson } from "../../timetravel/readable.ts";
import { paint } from "../colour.ts";
import { windowEvents, type EventWindow } from "../../export/exporters.ts";
import { EVENT_KINDS } from "../../model/events.ts";
import type { OpenedTrace } from "../../timetravel/open.ts";
import { FoundDamage } from "../../timetravel/store.ts";
import { kindOption } from "../words.ts";
import { die } from "../../core/errors.ts";

export interface WindowOptions {
  readonly from?: string;
  readonly to?: string;
  readonly vm?: string;
  readonly kind?: string;
}

/** `--from/--to/--vm/--kind` as a window of the trace; an index outside it is an error, as everywhere. */
export function windowFromOptions(trace: OpenedTrace, o: WindowOptions): EventWindow {
  const from = o.from === undefined ? 0 : Math.max(0, indexOption(trace, "--from", o.from));
  const to = o.to === undefined ? trace.count - 1 : indexOption(trace, "--to", o.to);
  // An empty window asked for is a slip (the two swapped, or --to -1), not a quiet empty answer.
  if (from > to && (o.from !== undefined || o.to !== undefined)) {
    die("ARGUMENT_INVALID", `${o.from === undefined ? "the window" : `--from ${o.from}`} starts after ${o.to === undefined ? "the last event" : `--to ${o.to}`} (#${from} > #${to}): no events between`);
  }
  return {
    from,
    to,
    ...(o.vm === undefined ? {} : { vm: parseIntOption("--vm", o.vm, 0) }),
    ...(o.kind === undefined ? {} : { kind: kindOption("--kind", o.kind) }),
  };
}

export async function runLog(io: Io, file: string, o: WindowOptions & { json?: boolean }): Promise<number> {
  if (o.kind !== undefined) kindOption("--kind", o.kind);
  return withTrace(
    io,
    file,
    async (trace) => {
      const w = windowFromOptions(trace, o);
      const p = paint(io);
      let found: FoundDamage | null = null;
      const lines = (function* () {
        try {
          for (const { ev, outcome } of windowEvents(trace.store, w)) yield o.json ? readableJson({ ...ev, outcome }) : p.event(describeEvent(ev, outcome));
        } catch (e) {
          // A block read through the index is damaged: the events before it are printed, then the damage.
          if (!(e instanceof FoundDamage)) throw e;
          found = e;
        }
      })();
      const r = await pump(io.stream(), lines);
      if (found !== null) {
        io.err(`hvsim: ${(found as FoundDamage).message}`);
        return EXIT.input;
      }
      // The reader left (`| head`): that is the end of the output, not a failure.
      return r.readerLeft ? EXIT.ok : exitAfterDamage(trace, EXIT.ok);
    },
    { reads: "asked" },
  );
}

export function registerLog(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command("log")
    .description("events with their outcomes, one line each, with Gunyah's names")
    .argument("<file>", "trace file")
    .option("--from <n>", "first event index (`end-19`: the last 20 events)")
    .option("--to <n>", "last event index (`end`: the last event, `end-K`: K before it)")
    .option("--kind <kind>", `only this kind (${EVENT_KINDS.join(", ")})`)
    .option("--vm <vmid>", "only events of this VM")
    .option("--json", "one JSON object per line: {seq, t, kind, ..., outcome}")
    .addHelpText("after", helpAfter("log", [`hvsim log ${EXAMPLE_TRACE} --to 40`, `hvsim log ${EXAMPLE_TRACE} --from end-19`, `hvsim log ${EXAMPLE_TRACE} --kind vcpu_exec --vm 128 | head`]))
    .action(async (file: string, opts: WindowOptions & { json?: boolean }) => {
      setCode(await runLog(io, file, opts));
    });
}
