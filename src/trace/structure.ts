/**
 * The order a trace's records must come in, and what the footer must agree with:
 *
 *   header, genesis checkpoint (seq -1), then per block: the block (first = the next event index,
 *   t0 = the time the last one ended) and its checkpoint (seq and t of the block's last event),
 *   then the footer, whose event count, last time, final hash and block, checkpoint and per-kind
 *   lists are exactly what the file holds.
 *
 * A reader feeds every checked record to `accept` as it goes, so a block that is missing,
 * repeated, reordered or renumbered is found where it is, and a footer that lists anything else is
 * found at the footer. `indexProblem` checks a footer alone (for seeking without a scan), so its
 * lists are dense, ordered and bounded by the file before anything is read through them.
 */
import type { CheckpointBody, FooterBody, SnapshotDelta, TraceHeader } from "./format.ts";
import type { Damage, TraceItem } from "./reader.ts";

type Triple = readonly [number, number, number];

export class Structure {
  readonly blocks: Triple[] = [];
  readonly checkpoints: Triple[] = [];
  /** Events by kind in the blocks accepted so far (filled by the reader's block check: schema.ts). */
  readonly counts = new Map<string, number>();
  private expect: "genesis" | "block" | "checkpoint" = "genesis";
  private events = 0;
  private t = 0;
  private lastHash = "";
  private lastSeq = -1;
  /** The last checkpoint that stored a state, and how many deltas from a whole one it is. */
  private stored: { offset: number; seq: number; chain: number } | null = null;

  constructor(private readonly header: TraceHeader) {}

  /** Checks one record against what may come here; null when it fits (and it is then counted). */
  accept(item: TraceItem): string | null {
    switch (item.type) {
      case "checkpoint": {
        if (this.expect === "genesis") {
          if (item.seq !== -1) return `the first checkpoint is after event ${item.seq}, expected the genesis checkpoint (-1)`;
        } else if (this.expect === "checkpoint") {
          if (item.seq !== this.lastSeq || item.t !== this.t) {
            return `is after event ${item.seq} at ${item.t} ns, but the block before it ends with event ${this.lastSeq} at ${this.t} ns`;
          }
        } else return `a second checkpoint after event ${item.seq} (one follows each block)`;
        const link = item.delta === undefined ? null : this.deltaProblem(item.offset, item.delta);
        if (link !== null) return link;
        this.t = item.t;
        this.lastHash = item.hash;
        this.checkpoints.push([item.offset, item.seq, storedKind(item)]);
        if (storesState(item)) this.stored = { offset: item.offset, seq: item.seq, chain: item.delta === undefined ? 0 : this.stored!.chain + 1 };
        this.expect = "block";
        return null;
      }
      case "block": {
        const n = this.blocks.length;
        if (this.expect === "genesis") return "a block before the genesis checkpoint";
        if (this.expect === "checkpoint") return `block ${n} follows block ${n - 1} with no checkpoint between them`;
        if (item.first !== this.events) {
          return `block ${n} starts at event ${item.first}, expected ${this.events} (a block missing, repeated or out of order)`;
        }
        if (item.t0 !== this.t) return `block ${n} starts from time ${item.t0} ns, but the trace is at ${this.t} ns there`;
        const last = item.events[item.events.length - 1]!;
        this.blocks.push([item.offset, item.first, item.events.length]);
        this.events += item.events.length;
        this.lastSeq = last.seq;
        this.t = last.t;
        this.expect = "checkpoint";
        return null;
      }
      case "footer":
        if (this.expect === "genesis") return "a footer before the genesis checkpoint";
        if (this.expect === "checkpoint") return `the footer follows block ${this.blocks.length - 1} without its checkpoint`;
        return this.footerMismatch(item.footer);
    }
  }

  /** A delta must change the state stored last, within the chain length the header allows. */
  private deltaProblem(offset: number, d: SnapshotDelta): string | null {
    const s = this.stored;
    if (s === null || offset - d.back !== s.offset || d.baseSeq !== s.seq) {
      const last = s === null ? "none is stored before it" : `the last one stored is after event ${s.seq} at offset ${s.offset}`;
      return `its delta changes the state at offset ${offset - d.back} after event ${d.baseSeq}, but ${last}`;
    }
    const limit = this.header.snapshotFullEvery ?? 1;
    if (s.chain + 2 > limit) return `its delta is ${s.chain + 1} deltas from a whole snapshot, more than the header's snapshotFullEvery ${limit} allows`;
    return null;
  }

  /** Damage found here: everything accepted so far is whole. */
  damage(code: Damage["code"], offset: number, message: string): Damage {
    return { code, offset, block: this.blocks.length, eventsBefore: this.events, message };
  }

  /** The file ends at `offset` before the trace does: an unfinished recording. */
  incomplete(offset: number, detail: string, footerWhole = false): Damage {
    const b = this.blocks.length;
    const what = `${b} whole block${b === 1 ? "" : "s"} (${this.events} event${this.events === 1 ? "" : "s"})`;
    return this.damage("TRACE_INCOMPLETE", offset, `the recording did not finish: ${footerWhole ? `${what} and the footer` : `no footer after ${what}`}${detail}`);
  }

  private footerMismatch(f: FooterBody): string | null {
    if (f.events !== this.events) return `the footer says ${f.events} events, the blocks before it hold ${this.events}`;
    if (f.lastT !== this.t) return `the footer says the trace ends at ${f.lastT} ns, its last event is at ${this.t} ns`;
    if (f.finalHash !== this.lastHash) return `the footer's final hash ${f.finalHash.slice(0, 16)} is not the last checkpoint's ${this.lastHash.slice(0, 16)}`;
    const b = firstDifference(f.blocks, this.blocks);
    if (b >= 0) return `the footer's block list differs from the file at block ${b}: ${listed(f.blocks[b])} listed, ${listed(this.blocks[b])} in the file`;
    const c = firstDifference(f.checkpoints, this.checkpoints);
    if (c >= 0) return `the footer's checkpoint list differs from the file at checkpoint ${c}: ${listed(f.checkpoints[c])} listed, ${listed(this.checkpoints[c])} in the file`;
    const kinds = Object.keys(f.countsByKind);
    for (const k of kinds) if (this.counts.get(k) !== f.countsByKind[k]) return `the footer counts ${f.countsByKind[k]} ${k} events, the blocks hold ${this.counts.get(k) ?? 0}`;
    if (kinds.length !== this.counts.size) return "the footer's counts by kind leave out kinds the blocks hold";
    return null;
  }

  /**
   * A footer read alone, as an index: one checkpoint for genesis and one after each block, blocks
   * dense from event 0 and in file order, every offset between the header and the footer, counts
   * that add up. Null when it can be trusted for seeking (each record read through it is still
   * checked when read).
   */
  static indexProblem(f: FooterBody, header: TraceHeader, bodyStart: number, footerOffset: number): string | null {
    const { blocks, checkpoints } = f;
    if (checkpoints.length !== blocks.length + 1) return `${checkpoints.length} checkpoints listed for ${blocks.length} blocks`;
    const genesis = checkpoints[0]!;
    if (genesis[0] !== bodyStart || genesis[1] !== -1) return `the first checkpoint listed is not the genesis checkpoint at offset ${bodyStart}`;
    let next = 0;
    let prev = bodyStart;
    for (let i = 0; i < blocks.length; i++) {
      const [offset, first, count] = blocks[i]!;
      const [cpOffset, seq] = checkpoints[i + 1]!;
      if (offset <= prev || cpOffset <= offset) return `block ${i} or its checkpoint is listed out of file order`;
      if (first !== next) return `block ${i} is listed from event ${first}, expected ${next}`;
      if (count > header.blockEvents) return `block ${i} is listed with ${count} events, more than the header's ${header.blockEvents} per block`;
      if (seq !== first + count - 1) return `the checkpoint after block ${i} is listed after event ${seq}, expected ${first + count - 1}`;
      next += count;
      prev = cpOffset;
    }
    if (prev >= footerOffset) return "a checkpoint is listed at or after the footer";
    if (f.events !== next) return `${f.events} events, but the blocks listed hold ${next}`;
    let sum = 0;
    for (const k of Object.keys(f.countsByKind)) sum += f.countsByKind[k]!;
    if (sum !== next) return `counts by kind add up to ${sum}, not ${next}`;
    return null;
  }
}

/** A checkpoint that stores a state, whole or as a delta: a seek can start from it (TraceReader.snapshotAt). */
export const storesState = (c: CheckpointBody): boolean => c.snapshot !== undefined || c.delta !== undefined;

/**
 * What the footer lists for a checkpoint: 0 no state, 1 a whole snapshot, 2 a delta (format 3), so
 * `info` can say how many of each from the footer alone.
 */
export const storedKind = (c: CheckpointBody): 0 | 1 | 2 => (c.delta !== undefined ? 2 : c.snapshot !== undefined ? 1 : 0);

function firstDifference(a: readonly Triple[], b: readonly Triple[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined || x[0] !== y[0] || x[1] !== y[1] || x[2] !== y[2]) return i;
  }
  return -1;
}

const listed = (e: Triple | undefined): string => (e === undefined ? "nothing" : `[${e.join(", ")}]`);
