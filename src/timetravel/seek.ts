import { hvModel, type Machine, type MachineConfig } from "../model/machine.ts";
import { replay, type ReplayFinding } from "../core/replay.ts";
import type { TraceReader, TraceItem } from "../trace/reader.ts";
import { die } from "../core/errors.ts";

/** The nearest stored snapshot at or before event `n`, from the footer index; null without one. */
function nearestSnapshot(reader: TraceReader, n: number): { state: Machine; offset: number; block: number } | null {
  const footer = reader.footer();
  if (footer === null) return null;
  let best: readonly [number, number, number] | undefined;
  for (const cp of footer.checkpoints) if (cp[2] === 1 && cp[1] <= n && (best === undefined || cp[1] > best[1])) best = cp;
  if (best === undefined) return null;
  const item = reader.itemAt(best[0]);
  if (item === null || item.type !== "checkpoint" || item.snapshot === undefined) return null;
  const block = footer.blocks.filter((b) => b[0] < best[0]).length;
  return { state: item.snapshot as Machine, offset: best[0], block };
}

export interface SeekResult {
  readonly state: Machine;
  /** Events replayed to get there (at most one snapshot interval when the trace has a footer). */
  readonly replayed: number;
  readonly finding: ReplayFinding | null;
}

/**
 * The state after event `n` (n = -1: genesis). Starts from the nearest stored snapshot and replays
 * forward on the fast path, verifying outcomes and hashes on the way.
 */
export function stateAt(reader: TraceReader, n: number): SeekResult {
  const start = nearestSnapshot(reader, n);
  const genesis = start?.state ?? hvModel.genesis(reader.header.config as MachineConfig);
  if (n < -1) die("ARGUMENT_INVALID", `event index ${n} is out of range`);
  const items: Iterable<TraceItem> = start === null ? reader.items() : reader.items(start.offset, start.block, start.state.seq + 1);
  const r = replay(hvModel, genesis, items, { until: n });
  if (r.finding === null && r.state.seq < n) {
    die("ARGUMENT_INVALID", `event ${n} is past the end of the trace (last whole event: ${r.state.seq})`, { seq: n });
  }
  return { state: r.state, replayed: r.verified, finding: r.finding };
}
