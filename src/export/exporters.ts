import type { CoreState } from "../core/reducer.ts";
import type { TraceHeader } from "../trace/format.ts";
import type { Seeker } from "../timetravel/seeker.ts";
import type { EventStore } from "../timetravel/store.ts";
import { describeEvent } from "./describe.ts";
import { toJson } from "./json.ts";
import { PerfettoBuilder, type ChromeEvent } from "./perfetto.ts";

export type ExportFormat = "perfetto" | "json" | "text";
export const EXPORT_FORMATS: readonly ExportFormat[] = ["perfetto", "json", "text"];

/** Writes lines; the CLI passes a file or stdout writer, tests collect them. */
export type LineSink = (line: string) => void;

/** text: one describeEvent line per event, as `hvsim log` prints them. */
export function exportText(store: EventStore, out: LineSink): number {
  for (let i = 0; i < store.count; i++) out(describeEvent(store.event(i), store.outcome(i)));
  return store.count;
}

/** json: one JSON object per line, the event's fields and its stored `outcome` (bigints as "0x..."). */
export function exportJsonLines(store: EventStore, out: LineSink): number {
  for (let i = 0; i < store.count; i++) out(toJson({ ...store.event(i), outcome: store.outcome(i) }));
  return store.count;
}

/**
 * perfetto: the Chrome JSON trace event format. Replays the trace on the fast path (one walk) so the
 * run-state slices and memory counters can read the state after every event; one event per line
 * inside the traceEvents array, so the file streams out.
 */
export function exportPerfetto<S extends CoreState>(seeker: Seeker<S>, header: TraceHeader, out: LineSink): number {
  let n = 0;
  const emit = (e: ChromeEvent): void => {
    out(`${n === 0 ? "" : ","}${JSON.stringify(e)}`);
    n += 1;
  };
  out(`{"displayTimeUnit":"ns","otherData":${JSON.stringify({ generator: "hvsim export", scenario: header.scenario.name, seed: header.seed, model: header.modelVersion })},"traceEvents":[`);
  const builder = new PerfettoBuilder(emit);
  builder.start(seeker.genesis);
  if (seeker.count > 0) {
    seeker.walk(0, seeker.count - 1, (i, state, ev) => {
      builder.event(ev, seeker.store.outcome(i), state);
      return false;
    });
  }
  builder.finish();
  out("]}");
  return n;
}
