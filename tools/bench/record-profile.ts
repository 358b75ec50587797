/**
 * Records long-run into a sink that only counts bytes and prints events/s: the loop to profile.
 *   node bin/run-ts.mjs tools/bundle.ts tools/bench/record-profile.ts   # -> dist/tools/record-profile.mjs
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof dist/tools/record-profile.mjs [EVENTS] [SCENARIO]
 * The last line names the SHA-256 of the trace, so two builds can be checked for the same bytes
 * (tools/bench/record-compare.ts does). With a third argument `decode`, the trace is then decoded
 * (every record read and checked, as `hvsim info --verify` and replay do) 15 times and the best
 * CPU time printed: what the build's reader costs on what the build's writer wrote.
 */
import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import { record } from "../../src/sim/record.ts";
import { resolveScenario } from "../../src/sim/resolve.ts";
import { TraceReader } from "../../src/trace/reader.ts";
import { memorySource } from "../../src/trace/source.ts";

const events = Number(process.argv[2] ?? 300_000);
const scenario = resolveScenario(process.argv[3] ?? "long-run");
// Kept, not hashed as they come: hashing inside the timed loop would be measured with it.
const chunks: Uint8Array[] = [];
let size = 0;
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const r = record(scenario, { write: (b) => void (chunks.push(b.slice()), (size += b.length)), close: () => {} }, { seed: 1, maxEvents: events });
const s = (performance.now() - t0) / 1000;
// CPU time too: on a shared machine it moves far less with the other load than wall time does.
const cpu = process.cpuUsage(cpu0);
const cpuS = (cpu.user + cpu.system) / 1e6;
const k = (sec: number) => `${Math.round(r.events / sec / 1000)}k events/s`;
console.log(`${r.events} events in ${s.toFixed(2)} s wall (${k(s)}), ${cpuS.toFixed(2)} s CPU (${k(cpuS)}), ${(size / r.events).toFixed(1)} bytes/event`);
const digest = createHash("sha256");
for (const c of chunks) digest.update(c);
console.log(`trace sha256 ${digest.digest("hex")}`);

if (process.argv[4] === "decode") {
  const bytes = Buffer.concat(chunks);
  let best = Number.POSITIVE_INFINITY;
  let decoded = 0;
  for (let rep = 0; rep < 15; rep++) {
    const c0 = process.cpuUsage();
    decoded = 0;
    for (const item of TraceReader.open(memorySource(bytes)).items()) if (item.type === "block") decoded += item.events.length;
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / 1e6);
  }
  console.log(`decoded ${decoded} events, best ${best.toFixed(3)} s CPU`);
}
