import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { availableParallelism } from "node:os";
import { isHvsimError } from "../core/errors.ts";
import { replay, type ReplayFinding, type ReplayItem } from "../core/replay.ts";
import { stateHash } from "../core/hash.ts";
import { hvModel, type Machine } from "../model/machine.ts";
import { stateHashOf } from "../trace/format.ts";
import { TraceReader } from "../trace/reader.ts";
import { fileSource } from "../trace/source.ts";
import { openTrace, type OpenedTrace } from "../timetravel/open.ts";
import { recordedModelVersion, type VerifyResult } from "../trace/verify.ts";

/**
 * Verified replay in segments that run at once (`hvsim replay --jobs N`). A trace stores the state
 * every 16,384 events, each checked against its checkpoint's hash when a seek starts from it; so a
 * replay may start at a stored state as well as at genesis. The trace is cut at stored states into
 * segments: the main thread replays the first from genesis and reads the rest of the file as a
 * plain replay does (every record checked, so damage and structure are found exactly as before);
 * each other segment is replayed by a worker thread from its stored state. Every segment but the
 * last ends with the checkpoint the next one starts from, whose hash it verifies: the states the
 * segments start from are the states replay from genesis would reach there (as far as SHA-256
 * tells), so the segments together verify what one pass would, and report the same first finding.
 */

/** Below this many events a trace is replayed in one pass unless segments are asked for: starting a thread costs about a quarter second. */
export const SEGMENT_EVENTS_MIN = 200_000;

export type ReplayPath = "fast" | "pure";

/** What a segment found, in a form that crosses a thread: `failed` when it could not run (damage, an error), and the caller replays in one pass instead. */
export interface SegmentResult {
  readonly verified: number;
  readonly checkpointsVerified: number;
  readonly finding: ReplayFinding | null;
  readonly finalHash: string;
  readonly failed?: string;
}

/** The most segments `--jobs` takes: a thread each, and each holds a machine state. */
export const JOBS_MAX = 16;

/**
 * The default number of segments: one per core up to 4 on a machine with 4 cores or more; one pass
 * on fewer. Replay already keeps more than one core busy (V8 collects garbage on helper threads:
 * 7.2 s of CPU in 5.8 s of wall on long-run 1.2M), so on a 2-core machine two segments measured
 * 4.4..4.9 s against 4.35..5.2 s for one pass, with twice the memory (255 MB against 119).
 */
export const defaultJobs = (): number => {
  const cores = availableParallelism();
  return cores >= 4 ? Math.min(4, cores) : 1;
};

/**
 * Where segments start: the stored states nearest below an even split of the events, as event
 * indices `-1 = b0 < b1 < ... < bk = count - 1` (segment j replays events bj+1..bj+1). One segment
 * (`[-1, count - 1]`) when the trace is short, has no usable footer, or no stored state splits it.
 */
export function segmentBounds(trace: OpenedTrace, jobs: number, minEvents = SEGMENT_EVENTS_MIN): number[] {
  const whole = [-1, trace.count - 1];
  const footer = trace.reader.footer();
  if (jobs < 2 || footer === null || trace.damage !== null || trace.count < minEvents) return whole;
  const stored = footer.checkpoints.filter((c) => c[2] !== 0 && c[1] >= 0 && c[1] < trace.count - 1).map((c) => c[1]);
  const bounds = [-1];
  for (let j = 1; j < jobs; j++) {
    const target = Math.floor((trace.count * j) / jobs);
    let best = -1;
    for (const seq of stored) if (seq <= target && seq > best) best = seq;
    if (best > bounds[bounds.length - 1]!) bounds.push(best);
  }
  bounds.push(trace.count - 1);
  return bounds;
}

/** Replays events from+1..to of a trace file from the state stored after event `from`. */
export function verifySegment(file: string, from: number, to: number, path: ReplayPath, invariants: boolean, progress?: Int32Array): SegmentResult {
  const reader = TraceReader.open(fileSource(file));
  try {
    const trace = openTrace(reader, { reads: "asked" });
    const footer = reader.footer();
    const start = trace.store.snapshotAtOrBefore(from);
    if (footer === null || start === null || start.seq !== from) return failed(`no state stored after event ${from}`);
    const definition = stateHashOf(reader.header);
    const r = replay(hvModel, start.state as Machine, segmentItems(trace, footer, from, to), {
      path,
      invariants: invariants ? "every" : "off",
      until: to,
      stateHash: definition,
      ...(progress === undefined ? {} : { onCheckpoint: (seq: number) => void Atomics.store(progress, 0, seq - from) }),
    });
    return { verified: r.verified, checkpointsVerified: r.checkpointsVerified, finding: r.finding, finalHash: stateHash(r.state, definition) };
  } catch (e) {
    if (isHvsimError(e)) return failed(e.message);
    throw e;
  } finally {
    reader.close();
  }
}

const failed = (why: string): SegmentResult => ({ verified: 0, checkpointsVerified: 0, finding: null, finalHash: "", failed: why });

/** The blocks after event `from` up to the one holding `to`, each followed by its checkpoint's hash, read through the footer. */
function* segmentItems(trace: OpenedTrace, footer: NonNullable<ReturnType<TraceReader["footer"]>>, from: number, to: number): Generator<ReplayItem> {
  for (let k = 0; k < footer.blocks.length; k++) {
    const [, first, count] = footer.blocks[k]!;
    if (first + count - 1 <= from) continue;
    if (first > to) return;
    const span = trace.store.span(first);
    yield { type: "block", events: span.events, outcomes: span.outcomes };
    const [offset, seq] = footer.checkpoints[k + 1]!;
    yield { type: "checkpoint", seq, hash: trace.reader.checkpointAt(offset, seq).hash };
  }
}

/** What runs a segment other than the first: a worker thread where the CLI runs as its bundle, else this thread, after the first (tests run the sources). */
type Runner = (from: number, to: number, progress: Int32Array) => Promise<SegmentResult>;

// `import.meta["url"]`: the bundle's own URL (the build keeps `import.meta.url` pointing at sources).
const SELF = import.meta["url"];
const THREADS = SELF.endsWith(".mjs");

function runner(file: string, path: ReplayPath, invariants: boolean): Runner {
  return (from, to, progress) => {
    if (!THREADS) return Promise.resolve().then(() => verifySegment(file, from, to, path, invariants, progress));
    return new Promise((resolve, reject) => {
      const w = new Worker(new URL(SELF), { execArgv: workerFlags(process.execArgv), workerData: { hvsimSegment: { file, from, to, path, invariants, progress } } });
      w.once("message", (r: SegmentResult) => resolve(r));
      w.once("error", reject);
      w.once("exit", (code) => code === 0 || resolve(failed(`a replay thread exited with code ${code}`)));
    });
  };
}

/** Why a replay in segments gave the work back to one pass: damage (which that pass says), or a segment that could not run. */
export type SegmentFallback = { readonly fallback: "damage" } | { readonly fallback: "segment"; readonly why: string };

/** Node's own flags carry over to a thread (memory limits, profiling), not those that give the main thread its script. */
function workerFlags(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-e" || a === "--eval" || a === "-p" || a === "--print") i++;
    else if (!/^--(input-type|eval|print)=/.test(a)) out.push(a);
  }
  return out;
}

/**
 * Replays a whole trace in the segments `bounds` gives, or says why it cannot be done that way
 * (damage, a segment that could not run): the caller then replays in one pass. `onProgress` sees
 * the events verified so far, all segments together.
 */
export async function verifyInSegments(trace: OpenedTrace, file: string, bounds: readonly number[], path: ReplayPath, invariants: boolean, onProgress?: (verified: number) => void): Promise<Omit<VerifyResult, "state"> | SegmentFallback> {
  const run = runner(file, path, invariants);
  const progress = bounds.slice(2).map(() => new Int32Array(new SharedArrayBuffer(4)));
  // Threads start first, so they work while this one replays the first segment.
  const started = THREADS ? bounds.slice(1, -1).map((from, j) => run(from, bounds[j + 2]!, progress[j]!)) : [];
  const reader = trace.reader;
  const definition = stateHashOf(reader.header);
  const stream = reader.items();
  // Not closed when the replay stops at the end of its segment: the rest is read below.
  const unclosed: Iterable<ReplayItem> = { [Symbol.iterator]: () => ({ next: () => stream.next() }) };
  const others = (): number => progress.reduce((n, p) => n + Atomics.load(p, 0), 0);
  const first = replay(hvModel, hvModel.genesis(reader.header.config as never), unclosed, {
    path,
    invariants: invariants ? "every" : "off",
    until: bounds[1]!,
    stateHash: definition,
    ...(onProgress === undefined ? {} : { onCheckpoint: (seq: number) => onProgress(seq + 1 + others()) }),
  });
  const base = { damage: null, modelVersionRecorded: recordedModelVersion(reader) };
  if (first.finding !== null) return { ...base, verified: first.verified, checkpointsVerified: first.checkpointsVerified, finding: first.finding, finalHash: stateHash(first.state, definition) };
  // Every record after the first segment is read and checked here too, as one pass would.
  for (let n = 0; !stream.next().done; n++) if (onProgress !== undefined && n % 4096 === 0) onProgress(first.verified + others());
  if (reader.damage !== null) return { fallback: "damage" };
  const results = THREADS ? await Promise.all(started) : [];
  if (!THREADS) for (let j = 1; j < bounds.length - 1; j++) results.push(await run(bounds[j]!, bounds[j + 1]!, progress[j - 1]!));
  let verified = first.verified;
  let checkpointsVerified = first.checkpointsVerified;
  for (const [j, r] of results.entries()) {
    if (r.failed !== undefined) return { fallback: "segment", why: `the segment from event ${bounds[j + 1]! + 1} could not run: ${r.failed}` };
    verified += r.verified;
    checkpointsVerified += r.checkpointsVerified;
    if (r.finding !== null) return { ...base, verified, checkpointsVerified, finding: r.finding, finalHash: r.finalHash };
  }
  return { ...base, verified, checkpointsVerified, finding: null, finalHash: results[results.length - 1]!.finalHash };
}

// A worker thread started by `verifyInSegments` (this module is part of the CLI bundle it loads).
if (!isMainThread && (workerData as { hvsimSegment?: unknown } | null)?.hvsimSegment !== undefined) {
  const w = (workerData as { hvsimSegment: { file: string; from: number; to: number; path: ReplayPath; invariants: boolean; progress: Int32Array } }).hvsimSegment;
  parentPort!.postMessage(verifySegment(w.file, w.from, w.to, w.path, w.invariants, w.progress));
}
