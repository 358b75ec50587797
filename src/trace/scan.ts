import type { Damage, TraceItem, TraceReader } from "./reader.ts";
import type { TraceHeader } from "./format.ts";

export interface TraceSummary {
  readonly header: TraceHeader;
  readonly bytes: number;
  readonly events: number;
  readonly blocks: number;
  readonly countsByKind: Readonly<Record<string, number>>;
  readonly firstT: number | null;
  readonly lastT: number | null;
  readonly checkpoints: number;
  /** Checkpoints that store a state (a seek can start there), and how many of them as deltas. */
  readonly snapshots: number;
  readonly deltaSnapshots: number;
  readonly hasFooter: boolean;
  readonly damage: Damage | null;
  /** What was checked: every record (a scan), or the trailer and footer index only (blocks unread). */
  readonly checked: "every record" | "footer index";
}

/**
 * Reads every record once (checking every checksum) without applying anything: what `info` shows.
 * Streaming: memory stays bounded by one block. `onItem` sees every item on the way, so a pass that
 * indexes the file (the event store's) gives this summary too, without a second pass.
 */
export function scanTrace(reader: TraceReader, onItem?: (item: TraceItem) => void): TraceSummary {
  const counts: Record<string, number> = {};
  let events = 0;
  let blocks = 0;
  let checkpoints = 0;
  let snapshots = 0;
  let deltaSnapshots = 0;
  let firstT: number | null = null;
  let lastT: number | null = null;
  let hasFooter = false;
  for (const item of reader.items()) {
    onItem?.(item);
    if (item.type === "block") {
      blocks += 1;
      for (const ev of item.events) {
        counts[ev.kind] = (counts[ev.kind] ?? 0) + 1;
        firstT ??= ev.t;
        lastT = ev.t;
      }
      events += item.events.length;
    } else if (item.type === "checkpoint") {
      checkpoints += 1;
      if (item.snapshot !== undefined || item.delta !== undefined) snapshots += 1;
      if (item.delta !== undefined) deltaSnapshots += 1;
    } else {
      hasFooter = true;
    }
  }
  const sorted: Record<string, number> = {};
  for (const k of Object.keys(counts).sort()) sorted[k] = counts[k]!;
  return {
    header: reader.header,
    bytes: reader.source.size,
    events,
    blocks,
    countsByKind: sorted,
    firstT,
    lastT,
    checkpoints,
    snapshots,
    deltaSnapshots,
    hasFooter,
    damage: reader.damage,
    checked: "every record",
  };
}

/**
 * What `info` shows, from the checked footer index alone (TraceReader.footer: counts, blocks,
 * checkpoints, the last time) and the time of the first event (`firstT`, which the caller reads
 * from the first block): no other record is read, so it costs the same on any length of trace.
 */
export function footerSummary(reader: TraceReader, firstT: number | null): TraceSummary {
  const f = reader.footer();
  if (f === null) throw new Error("footerSummary: the trace has no usable footer");
  const sorted: Record<string, number> = {};
  for (const k of Object.keys(f.countsByKind).sort()) sorted[k] = f.countsByKind[k]!;
  let snapshots = 0;
  let deltaSnapshots = 0;
  for (const c of f.checkpoints) {
    if (c[2] !== 0) snapshots += 1;
    if (c[2] === 2) deltaSnapshots += 1;
  }
  return {
    header: reader.header,
    bytes: reader.source.size,
    events: f.events,
    blocks: f.blocks.length,
    countsByKind: sorted,
    firstT,
    lastT: f.events === 0 ? null : f.lastT,
    checkpoints: f.checkpoints.length,
    snapshots,
    deltaSnapshots,
    hasFooter: true,
    damage: null,
    checked: "footer index",
  };
}
