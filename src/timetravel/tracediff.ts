import { plainEqual } from "../core/equal.ts";
import { canonicalString } from "../core/hash.ts";
import type { EventBase } from "../core/event.ts";
import type { CoreState } from "../core/reducer.ts";
import type { TraceHeader } from "../trace/format.ts";
import { diffStates, withoutEnvelope, type Change } from "./diff.ts";
import type { Seeker } from "./seeker.ts";

/** One side of a trace comparison: its header and a seeker over its events (state on demand). */
export interface DiffSide<S extends CoreState> {
  readonly header: TraceHeader;
  readonly seeker: Seeker<S>;
}

export interface Alignment {
  /** Event index (in both) where the aligned window starts: the first event difference. */
  readonly from: number;
  readonly window: number;
  readonly common: number;
  /** Events of A with no counterpart in B (by signature), as A indices. */
  readonly missing: readonly number[];
  /** Events of B with no counterpart in A, as B indices. */
  readonly inserted: readonly number[];
}

export interface TraceDiff {
  readonly same: boolean;
  /** Header fields that differ (the generator string is not compared). */
  readonly header: readonly { readonly field: string; readonly a: unknown; readonly b: unknown }[];
  readonly eventsA: number;
  readonly eventsB: number;
  /** First index where the events differ (or where one trace ends); null if none. */
  readonly firstEvent: number | null;
  /** First index where the stored outcomes differ; null if none (among the events both have). */
  readonly firstOutcome: number | null;
  /** Same events and outcomes but a checkpoint with another state hash: the event it follows. */
  readonly firstCheckpoint: number | null;
  /** Counts by kind from the first difference on, in each trace. */
  readonly countsAfter: { readonly a: Readonly<Record<string, number>>; readonly b: Readonly<Record<string, number>> } | null;
  readonly alignment: Alignment | null;
  /** State difference after the first differing event (states recomputed by the given model). */
  readonly state: { readonly at: number; readonly changes: readonly Change[]; readonly truncated: boolean } | null;
}

// Not formatVersion: a run is the same run in either file format (a repaired or older file).
const HEADER_FIELDS = ["modelVersion", "scenario", "seed", "config", "blockEvents", "snapshotEveryBlocks"] as const;

/**
 * Compares two traces: the same run (header, events, outcomes)? If not, where they first differ by
 * event and by outcome, an alignment of the events after that point (LCS over event signatures in a
 * bounded window, so inserted and missing events show as such rather than as a shifted mismatch
 * everywhere), counts by kind, and the state difference at the divergence.
 */
export function diffTraces<S extends CoreState>(a: DiffSide<S>, b: DiffSide<S>, window = 400): TraceDiff {
  const header = HEADER_FIELDS.filter((f) => !plainEqual(a.header[f], b.header[f])).map((f) => ({ field: f, a: a.header[f], b: b.header[f] }));
  const na = a.seeker.count;
  const nb = b.seeker.count;
  let firstEvent: number | null = null;
  let firstOutcome: number | null = null;
  // Blocks stored byte for byte alike (checksums verified) hold the same events and outcomes: skip
  // them undecoded. Only within one file format, where the same bytes mean the same thing.
  const raw = a.header.formatVersion === b.header.formatVersion;
  for (let i = 0; i < Math.min(na, nb) && (firstEvent === null || firstOutcome === null); ) {
    if (raw && firstEvent === null && firstOutcome === null) {
      const ra = a.seeker.store.rawBlock(i);
      const rb = ra === null || ra.first !== i ? null : b.seeker.store.rawBlock(i);
      if (ra !== null && rb !== null && rb.first === i && ra.count === rb.count && Buffer.from(ra.bytes).equals(rb.bytes)) {
        i += ra.count;
        continue;
      }
    }
    if (firstEvent === null && !plainEqual(a.seeker.event(i), b.seeker.event(i))) firstEvent = i;
    if (firstOutcome === null && !plainEqual(a.seeker.store.outcome(i), b.seeker.store.outcome(i))) firstOutcome = i;
    i++;
  }
  if (firstEvent === null && na !== nb) firstEvent = Math.min(na, nb);
  const firstCheckpoint = header.length === 0 && firstEvent === null && firstOutcome === null && raw ? checkpointsDiffer(a, b) : null;
  const same = header.length === 0 && firstEvent === null && firstOutcome === null && firstCheckpoint === null;
  if (firstEvent === null) return { same, header, eventsA: na, eventsB: nb, firstEvent, firstOutcome, firstCheckpoint, countsAfter: null, alignment: null, state: null };
  return {
    same,
    header,
    firstCheckpoint,
    eventsA: na,
    eventsB: nb,
    firstEvent,
    firstOutcome,
    countsAfter: { a: countsFrom(a.seeker, firstEvent), b: countsFrom(b.seeker, firstEvent) },
    alignment: align(a.seeker, b.seeker, firstEvent, window),
    state: stateDiffAt(a.seeker, b.seeker, firstEvent),
  };
}

/**
 * With the same events and outcomes, the checkpoints' state hashes too, read as stored with their
 * checksums verified (damage in one is the trace's damage, thrown as a seek would): the event
 * index of the first that differs, or null. Null too when an index is not the footer's.
 */
function checkpointsDiffer<S extends CoreState>(a: DiffSide<S>, b: DiffSide<S>): number | null {
  const ca = a.seeker.store.rawCheckpoints();
  const cb = b.seeker.store.rawCheckpoints();
  if (ca === null || cb === null) return null;
  for (let k = 0; k < Math.max(ca.length, cb.length); k++) {
    const x = ca[k];
    const y = cb[k];
    if (x !== undefined && y !== undefined && x.seq === y.seq && Buffer.from(x.bytes).equals(y.bytes)) continue;
    // Stored differently (a delta's offsets move with the layout): the same state if the hashes agree;
    // each read checked, so a malformed one is the trace's damage.
    if (x === undefined || y === undefined || x.seq !== y.seq || x.hash() !== y.hash()) return (x ?? y)!.seq;
  }
  return null;
}

/** Events by kind from `from` on: the trace's totals less those before it when the index has them and that is less to read. */
function countsFrom<S extends CoreState>(seeker: Seeker<S>, from: number): Record<string, number> {
  const totals = seeker.store.countsByKind;
  const byTotals = totals !== null && from < seeker.count - from;
  const counts: Record<string, number> = byTotals ? { ...totals } : {};
  for (let i = byTotals ? 0 : from; i < (byTotals ? from : seeker.count); i++) {
    const k = seeker.event(i).kind;
    counts[k] = (counts[k] ?? 0) + (byTotals ? -1 : 1);
  }
  if (byTotals) for (const k of Object.keys(counts)) if (counts[k] === 0) delete counts[k];
  return counts;
}

/** An event without its index and time: what "the same event" means when aligning two runs. */
export function signature(ev: EventBase): string {
  const { seq: _seq, t: _t, ...rest } = ev;
  return canonicalString(rest);
}

/** LCS (dynamic programming, O(window^2)) over event signatures from `from` on in both traces. */
function align<S extends CoreState>(a: Seeker<S>, b: Seeker<S>, from: number, window: number): Alignment {
  const sa = range(from, Math.min(a.count, from + window)).map((i) => signature(a.event(i)));
  const sb = range(from, Math.min(b.count, from + window)).map((i) => signature(b.event(i)));
  const n = sa.length;
  const m = sb.length;
  const w = m + 1;
  const lcs = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] = sa[i] === sb[j] ? lcs[(i + 1) * w + j + 1]! + 1 : Math.max(lcs[(i + 1) * w + j]!, lcs[i * w + j + 1]!);
    }
  }
  const missing: number[] = [];
  const inserted: number[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (sa[i] === sb[j]) {
      i++;
      j++;
    } else if (lcs[(i + 1) * w + j]! >= lcs[i * w + j + 1]!) missing.push(from + i++);
    else inserted.push(from + j++);
  }
  while (i < n) missing.push(from + i++);
  while (j < m) inserted.push(from + j++);
  return { from, window, common: lcs[0] ?? 0, missing, inserted };
}

const range = (lo: number, hi: number): number[] => Array.from({ length: Math.max(0, hi - lo) }, (_, k) => lo + k);

function stateDiffAt<S extends CoreState>(a: Seeker<S>, b: Seeker<S>, at: number): TraceDiff["state"] {
  const i = Math.min(at, a.count - 1, b.count - 1);
  const d = diffStates(a.stateAt(i), b.stateAt(i), 100);
  return { at: i, changes: withoutEnvelope(d.changes), truncated: d.truncated };
}
