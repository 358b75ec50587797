/**
 * hvsim benchmarks. Not tests: they print figures and ratios measured in one run (our machines are
 * shared and noisy, so only ratios within a run mean anything).
 *
 *   npm run bench                         # long-run scenario (full VMM/virtio/RM path), 200k events
 *   npm run bench -- --events 500000 --scenario smoke
 *   npm run bench -- --json               # one JSON object
 *   npm run bench -- --long-events 0      # skip the long-run recording (1.2M events by default)
 *   npm run bench -- --index-big 0        # skip reading through the footer index (bench:index):
 *                                         # 100k against 10M events; the first run records 10M
 */
import { performance } from "node:perf_hooks";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { record } from "../../src/sim/record.ts";
import { resolveScenario } from "../../src/sim/resolve.ts";
import { memorySink, memorySource } from "../../src/trace/source.ts";
import { TraceReader } from "../../src/trace/reader.ts";
import { verifyTrace } from "../../src/trace/verify.ts";
import { toJson } from "../../src/core/json.ts";
import { RecordType } from "../../src/trace/format.ts";
import { buildCli } from "../build-cli.ts";
import { benchArgs } from "./args.ts";

/** What tools/bench/index-reads.ts prints with --json (the part used here). */
interface IndexFigures {
  readonly events: { readonly small: number; readonly big: number };
  readonly seconds: Record<"info" | "logLast20" | "stateNearEnd", { readonly small: number; readonly big: number; readonly ratio: number }>;
}

/** Runs fn `reps` times and keeps the fastest: the least disturbed by the machine's other load. */
function best(reps: number, fn: () => number): { seconds: number; count: number } {
  let seconds = Number.POSITIVE_INFINITY;
  let count = 0;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    count = fn();
    seconds = Math.min(seconds, (performance.now() - t0) / 1000);
  }
  return { seconds, count };
}

/** Fastest of `reps` wall times (ms) of a fresh node process with these arguments. */
function startMs(reps: number, argv: string[]): number {
  let ms = Number.POSITIVE_INFINITY;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, argv, { stdio: "ignore" });
    if (r.status !== 0) throw new Error(`bench: node ${argv.join(" ")} exited ${r.status}`);
    ms = Math.min(ms, performance.now() - t0);
  }
  return ms;
}

const { opts: args } = benchArgs(
  "bench",
  { events: 200_000, pureEvents: 20_000, scenario: "long-run", seed: 1, longEvents: 1_200_000, indexSmall: 100_000, indexBig: 10_000_000, json: false },
  ["seed", "longEvents", "indexBig"],
);
// Start-up first, while the machine is as quiet as this run gets: `hvsim --help` against `node -e 0`,
// interleaved so both see the same load. bin/hvsim.mjs runs dist/cli when the build is current.
// The CLI is rebuilt first: a bundle older than the sources would send bin/hvsim.mjs to tsx.
await buildCli();
const bin = fileURLToPath(new URL("../../bin/hvsim.mjs", import.meta.url));
let nodeStartMs = Number.POSITIVE_INFINITY;
let helpStartMs = Number.POSITIVE_INFINITY;
for (let i = 0; i < 5; i++) {
  nodeStartMs = Math.min(nodeStartMs, startMs(1, ["-e", "0"]));
  helpStartMs = Math.min(helpStartMs, startMs(1, [bin, "--help"]));
}
const scenario = resolveScenario(args.scenario);
const log = (s: string) => {
  if (!args.json) console.log(s);
};
log(`SEED=${args.seed} scenario=${scenario.name} events=${args.events} pure-events=${args.pureEvents}`);

let bytes: Buffer = Buffer.alloc(0);
const rec = best(1, () => {
  const sink = memorySink();
  const r = record(scenario, sink, { seed: args.seed, maxEvents: args.events });
  bytes = sink.bytes();
  return r.events;
});
const open = () => TraceReader.open(memorySource(bytes));

const decodeOnly = (b: Buffer) => () => {
  let n = 0;
  for (const item of TraceReader.open(memorySource(b)).items()) if (item.type === "block") n += item.events.length;
  return n;
};
// The same run in trace format 2 (uncompressed, whole snapshots), decoded interleaved with this
// build's format so both see the same load: the decode-only ratio of the two formats.
let bytesV2: Buffer = Buffer.alloc(0);
const recV2 = best(1, () => {
  const sink = memorySink();
  const r = record(scenario, sink, { seed: args.seed, maxEvents: args.events, formatVersion: 2 });
  bytesV2 = sink.bytes();
  return r.events;
});
let decode = { seconds: Number.POSITIVE_INFINITY, count: 0 };
let decodeV2 = { seconds: Number.POSITIVE_INFINITY, count: 0 };
for (let i = 0; i < 3; i++) {
  const a = best(1, decodeOnly(bytes));
  const b = best(1, decodeOnly(bytesV2));
  if (a.seconds < decode.seconds) decode = a;
  if (b.seconds < decodeV2.seconds) decodeV2 = b;
}
const fast = best(3, () => verifyTrace(open(), { path: "fast" }).verified);
const pure = best(1, () => verifyTrace(open(), { path: "pure", until: args.pureEvents - 1 }).verified);

let jsonBytes = 0;
for (const { ev, outcome } of open().events()) jsonBytes += Buffer.byteLength(toJson({ ...ev, outcome })) + 1;

// The long-running scenario at full length (scenarios/long-run.yaml): record throughput at scale,
// into a sink that only counts bytes, so memory stays flat however long the run.
// The writer hands the sink whole records, so a record's type is its first byte.
let longRunBytes = 0;
const longRunByType = new Map<number, number>();
const longRun = best(1, () => {
  if (args.longEvents <= 0) return 0;
  let size = 0;
  const sink = {
    write: (b: Uint8Array) => {
      size += b.length;
      longRunByType.set(b[0]!, (longRunByType.get(b[0]!) ?? 0) + b.length);
    },
    close: () => {},
  };
  const r = record(resolveScenario("long-run"), sink, { seed: args.seed, maxEvents: args.longEvents });
  longRunBytes = size;
  return r.events;
});

const events = rec.count;
// Work proportional to what is asked (tools/bench/index-reads.ts, which records its traces once
// per build and caches them): info, log of the last 20 events and state --at near the end of the
// big trace, each over the same command on the small one.
const index = ((): IndexFigures | null => {
  if (args.indexBig === 0) return null;
  const tool = fileURLToPath(new URL("./index-reads.ts", import.meta.url));
  const runTs = fileURLToPath(new URL("../../bin/run-ts.mjs", import.meta.url));
  const r = spawnSync(process.execPath, [runTs, tool, "--json", "--small", String(args.indexSmall), "--big", String(args.indexBig)], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`bench: index-reads exited ${r.status}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as IndexFigures;
})();

const perEvent = (n: number, of: number): number => (of === 0 ? 0 : Number((n / of).toFixed(2)));
const figures = {
  scenario: scenario.name,
  events,
  recordEventsPerSec: Math.round(rec.count / rec.seconds),
  decodeOnlyEventsPerSec: Math.round(decode.count / decode.seconds),
  replayFastEventsPerSec: Math.round(fast.count / fast.seconds),
  replayPureEventsPerSec: Math.round(pure.count / pure.seconds),
  traceBytesPerEvent: Number((bytes.length / events).toFixed(2)),
  traceFormat2BytesPerEvent: Number((bytesV2.length / events).toFixed(2)),
  jsonLinesBytesPerEvent: Number((jsonBytes / events).toFixed(2)),
  jsonLinesOverTrace: Number((jsonBytes / bytes.length).toFixed(2)),
  decodeOnlyFormat2EventsPerSec: Math.round(decodeV2.count / decodeV2.seconds),
  decodeTimeOverFormat2: Number((decode.seconds / decodeV2.seconds).toFixed(2)),
  recordTimeOverFormat2: Number((rec.seconds / recV2.seconds).toFixed(2)),
  longRunEvents: longRun.count,
  recordLongRunEventsPerSec: longRun.count === 0 ? 0 : Math.round(longRun.count / longRun.seconds),
  longRunSeconds: Number(longRun.seconds.toFixed(1)),
  longRunBytesPerEvent: perEvent(longRunBytes, longRun.count),
  longRunBlockBytesPerEvent: perEvent(longRunByType.get(RecordType.block) ?? 0, longRun.count),
  longRunCheckpointBytesPerEvent: perEvent(longRunByType.get(RecordType.checkpoint) ?? 0, longRun.count),
  fastOverPure: 0,
  fastTimeOverDecodeTime: 0,
  nodeStartMs: Math.round(nodeStartMs),
  helpStartMs: Math.round(helpStartMs),
  helpOverNodeStart: Number((helpStartMs / nodeStartMs).toFixed(2)),
  indexEvents: index?.events ?? null,
  indexInfoBigOverSmall: index?.seconds.info.ratio ?? null,
  indexLogLast20BigOverSmall: index?.seconds.logLast20.ratio ?? null,
  indexStateNearEndBigOverSmall: index?.seconds.stateNearEnd.ratio ?? null,
};
figures.fastOverPure = Number((figures.replayFastEventsPerSec / figures.replayPureEventsPerSec).toFixed(1));
figures.fastTimeOverDecodeTime = Number((figures.decodeOnlyEventsPerSec / figures.replayFastEventsPerSec).toFixed(2));

if (args.json) {
  console.log(JSON.stringify(figures));
} else {
  const k = (n: number) => `${(n / 1000).toFixed(0)}k events/s`;
  log(`record            ${k(figures.recordEventsPerSec)}`);
  log(`decode only       ${k(figures.decodeOnlyEventsPerSec)}`);
  log(`replay, fast path ${k(figures.replayFastEventsPerSec)}`);
  log(`replay, pure path ${k(figures.replayPureEventsPerSec)} (first ${pure.count} events)`);
  log(`decode, format 2  ${k(figures.decodeOnlyFormat2EventsPerSec)}: this build's format takes ${figures.decodeTimeOverFormat2}x its time (want <= 1); recording ${figures.recordTimeOverFormat2}x`);
  log(`trace             ${figures.traceBytesPerEvent} bytes/event (format 2: ${figures.traceFormat2BytesPerEvent}); JSON lines ${figures.jsonLinesBytesPerEvent} bytes/event, ${figures.jsonLinesOverTrace}x the trace (want >= 8)`);
  if (longRun.count > 0) log(`record long-run    ${k(figures.recordLongRunEventsPerSec)} (${longRun.count} events in ${figures.longRunSeconds}s, ${figures.longRunBytesPerEvent} bytes/event: blocks ${figures.longRunBlockBytesPerEvent}, checkpoints ${figures.longRunCheckpointBytesPerEvent}; want <= 12)`);
  log(`start-up          hvsim --help ${figures.helpStartMs} ms, node -e 0 ${figures.nodeStartMs} ms: ${figures.helpOverNodeStart}x (want <= 3)`);
  if (index !== null) {
    const t = index.seconds;
    log(`footer index      ${index.events.big} events over ${index.events.small}: info ${t.info.ratio}x, log of the last 20 ${t.logLast20.ratio}x, state --at near the end ${t.stateNearEnd.ratio}x (want <= 2 each)`);
  }
  log(`ratios            fast/pure = ${figures.fastOverPure}x (want >= 10); fast time / decode time = ${figures.fastTimeOverDecodeTime} (want <= 2)`);
}
