import type { CoreState } from "../core/reducer.ts";
import { readableJson } from "../timetravel/readable.ts";
import type { EventBase } from "../core/event.ts";
import type { TraceHeader } from "../trace/format.ts";
import type { Seeker } from "../timetravel/seeker.ts";
import type { EventStore } from "../timetravel/store.ts";
import { describeEvent } from "./describe.ts";
import { PerfettoBuilder, type ChromeEvent } from "./perfetto.ts";

export type ExportFormat = "perfetto" | "json" | "text";
export const EXPORT_FORMATS: readonly ExportFormat[] = ["perfetto", "json", "text"];

/**
 * Which events an export or a log covers: indices `from..to` (inclusive, both within the trace),
 * optionally only one VM's (an event's `vm` field; events without one never match), one kind.
 */
export interface EventWindow {
  readonly from: number;
  readonly to: number;
  readonly vm?: number;
  readonly kind?: string;
}

/** The whole trace. */
export const wholeWindow = (count: number): EventWindow => ({ from: 0, to: count - 1 });

export function inWindow(ev: EventBase, w: EventWindow): boolean {
  if (ev.seq < w.from || ev.seq > w.to) return false;
  if (w.kind !== undefined && ev.kind !== w.kind) return false;
  return w.vm === undefined || (ev as unknown as { vm?: unknown }).vm === w.vm;
}

/** The events of a window in order, with their stored outcomes; read lazily, a block at a time. */
export function* windowEvents(store: EventStore, w: EventWindow, onEvent?: (i: number) => void): Generator<{ ev: EventBase; outcome: ReturnType<EventStore["outcome"]> }> {
  // A block at a time: one lookup per block, not two per event.
  for (let i = w.from; i <= w.to; ) {
    const span = store.span(i);
    const end = Math.min(w.to, span.first + span.events.length - 1);
    for (; i <= end; i++) {
      onEvent?.(i);
      const ev = span.events[i - span.first]!;
      if (inWindow(ev, w)) yield { ev, outcome: span.outcomes[i - span.first]! };
    }
  }
}

/** text: one describeEvent line per event, as `hvsim log` prints them. */
export function* textLines(store: EventStore, w: EventWindow, onEvent?: (i: number) => void): Generator<string> {
  for (const { ev, outcome } of windowEvents(store, w, onEvent)) yield describeEvent(ev, outcome);
}

/** json: one JSON object per line, the event's fields and its stored `outcome` (bigints as "0x..."). */
export function* jsonLines(store: EventStore, w: EventWindow, onEvent?: (i: number) => void): Generator<string> {
  // The same lines as `hvsim log --json`: numbers kept, a `<field>Hex` beside each address.
  for (const { ev, outcome } of windowEvents(store, w, onEvent)) yield readableJson({ ...ev, outcome });
}

/**
 * perfetto: the Chrome JSON trace event format. One forward pass on the fast path from the state
 * before the window, so run-state slices and memory counters read the state after every event; one
 * trace event per line inside the traceEvents array, so the file streams out. With `vm`, only that
 * VM's events and vCPU tracks.
 */
export function* perfettoLines<S extends CoreState>(seeker: Seeker<S>, header: TraceHeader, w: EventWindow, onEvent?: (i: number) => void): Generator<string> {
  let n = 0;
  const queued: ChromeEvent[] = [];
  const line = (e: ChromeEvent): string => `${n++ === 0 ? "" : ","}${JSON.stringify(e)}`;
  yield `{"displayTimeUnit":"ns","otherData":${JSON.stringify({ generator: "hvsim export", scenario: header.scenario.name, seed: header.seed, model: header.modelVersion, from: w.from, to: w.to, ...(w.vm === undefined ? {} : { vm: w.vm }) })},"traceEvents":[`;
  const builder = new PerfettoBuilder((e) => void queued.push(e), w.vm);
  builder.start(seeker.stateAt(w.from - 1));
  for (const e of queued.splice(0)) yield line(e);
  if (w.to >= w.from) {
    for (const { i, ev, state } of seeker.forward(w.from, w.to)) {
      onEvent?.(i);
      builder.event(ev, seeker.store.outcome(i), state, inWindow(ev, w));
      for (const e of queued.splice(0)) yield line(e);
    }
  }
  builder.finish();
  for (const e of queued.splice(0)) yield line(e);
  yield "]}";
}
