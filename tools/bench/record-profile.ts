/**
 * Records long-run into a sink that only counts bytes and prints events/s: the loop to profile.
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof bin/run-ts.mjs tools/bench/record-profile.ts [EVENTS]
 */
import { performance } from "node:perf_hooks";
import { record } from "../../src/sim/record.ts";
import { resolveScenario } from "../../src/sim/resolve.ts";

const events = Number(process.argv[2] ?? 300_000);
let size = 0;
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const r = record(resolveScenario("long-run"), { write: (b) => void (size += b.length), close: () => {} }, { seed: 1, maxEvents: events });
const s = (performance.now() - t0) / 1000;
// CPU time too: on a shared machine it moves far less with the other load than wall time does.
const cpu = process.cpuUsage(cpu0);
const cpuS = (cpu.user + cpu.system) / 1e6;
const k = (sec: number) => `${Math.round(r.events / sec / 1000)}k events/s`;
console.log(`${r.events} events in ${s.toFixed(2)} s wall (${k(s)}), ${cpuS.toFixed(2)} s CPU (${k(cpuS)}), ${(size / r.events).toFixed(1)} bytes/event`);
