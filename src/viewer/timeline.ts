import type { EventBase, Outcome } from "../core/event.ts";
import { PerfettoBuilder, type ChromeEvent } from "../export/perfetto.ts";
import { eventPlace } from "../export/timeline.ts";
import { MarkStore, markOf } from "./marks.ts";
import { Names, SliceStore, TrackRegistry, placeTrack, type Track } from "./tracks.ts";

/**
 * Timeline data in event-index space. The run-state slices are the Perfetto export's own: a
 * PerfettoBuilder is fed the state at sampled event indices, with virtual time replaced by the
 * index (t = index * 1000 ns, so its microsecond timestamps are indices), and its "X" slices are
 * kept per track. The x axis is the event index because that is what the scrubber moves over.
 */
export const sampleEvent = (i: number): EventBase => ({ seq: i, t: i * 1000, kind: "sample" });

export class TimelineRecorder {
  readonly slices: SliceStore;
  readonly marks: MarkStore;
  private readonly builder: PerfettoBuilder;

  constructor(
    readonly tracks: TrackRegistry,
    names: Names,
    markBucket: number,
  ) {
    this.slices = new SliceStore(names);
    this.marks = new MarkStore(markBucket);
    this.builder = new PerfettoBuilder((e) => this.take(e));
  }

  /** Names the physical CPU tracks from the genesis state, as the export does. */
  start(genesis: unknown): void {
    this.builder.start(genesis);
  }

  /** An event of the trace: its mark on its own track (and the track, if new). */
  event(i: number, ev: EventBase, outcome: Outcome): void {
    const [pid, tid] = placeTrack(eventPlace(ev));
    const track = this.tracks.learn(pid, tid);
    const mask = markOf(ev, outcome);
    if (mask !== 0) this.marks.add(i, track.id, mask);
  }

  /** The state after event i: run states open and close slices. */
  sample(i: number, state: unknown): void {
    this.builder.event(sampleEvent(i), {}, state);
  }

  /** Closes every open slice at index `end` (one past the last event drawn). */
  finish(end: number, state: unknown): void {
    this.builder.event(sampleEvent(end), {}, state);
    this.builder.finish();
  }

  private take(e: ChromeEvent): void {
    this.tracks.learnFrom(e);
    if (e.ph === "X") this.slices.add(this.tracks.learn(e.pid, e.tid).id, e);
  }
}

/** What `/api/timeline` answers: tracks, slices per track, marks, for [from, to] at `width` pixels. */
export interface TimelineView {
  readonly from: number;
  readonly to: number;
  /** Events between run-state samples: 1 when the range was drawn from every event. */
  readonly resolution: number;
  /** Events the answer covers (the background scan may not have reached `to` yet). */
  readonly coveredTo: number;
  readonly tracks: readonly Track[];
  readonly names: readonly string[];
  /** Track id -> [start, end, name index] triples (end exclusive). */
  readonly slices: Readonly<Record<string, number[]>>;
  /** [first index, span, track index, mask] quadruples. */
  readonly marks: number[];
}

export function timelineView(
  rec: TimelineRecorder,
  names: Names,
  from: number,
  to: number,
  width: number,
  resolution: number,
  coveredTo: number,
): TimelineView {
  const tracks = rec.tracks.list();
  const index = new Map(tracks.map((t, i) => [t.id, i]));
  const slices: Record<string, number[]> = {};
  for (const id of rec.slices.tracks()) {
    const s = rec.slices.query(id, from, to, width);
    if (s.length > 0) slices[id] = s;
  }
  const marks = rec.marks.query(from, to, width, (id) => index.get(id) ?? -1);
  return { from, to, resolution, coveredTo, tracks, names: names.list, slices, marks };
}
