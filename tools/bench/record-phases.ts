/**
 * Where recording spends its time, per event, in one run: the whole of `record()`; the driver
 * inside it (its `next` and `observe`, timed around the scenario's own driver); then, replaying the
 * trace just recorded, the model alone (`apply` of every event on a fresh state) and the checkpoint
 * hash alone (at the same checkpoints). What is left of the recording is the recorder's own work:
 * encoding events, outcomes and snapshots and writing the trace. A profiling aid, not a test.
 *
 *   node bin/run-ts.mjs tools/bundle.ts --run tools/bench/record-phases.ts [--events 200000] [--scenario long-run] [--reps 3]
 *
 * The fastest repetition is reported (the first warms the JIT); timers around every `next` and
 * `apply` add ~0.1 µs per event to those phases.
 */
import { performance } from "node:perf_hooks";
import { record } from "../../src/sim/record.ts";
import { resolveScenario } from "../../src/sim/resolve.ts";
import type { Driver, Scenario } from "../../src/sim/scenario.ts";
import { memorySink, memorySource } from "../../src/trace/source.ts";
import { TraceReader } from "../../src/trace/reader.ts";
import { hvModel, type Machine, type MachineConfig } from "../../src/model/machine.ts";
import type { HypEvent } from "../../src/model/events.ts";
import { mutableCopy } from "../../src/core/reducer.ts";
import { stateHash } from "../../src/core/hash.ts";
import type { ReplayItem } from "../../src/core/replay.ts";
import { benchArgs } from "./args.ts";

const { opts } = benchArgs("record-phases", { scenario: "long-run", events: 200_000, reps: 3 });

/** The scenario with its driver's `next` and `observe` timed (the time goes into `clock.ms`). */
function timedDriver(scenario: Scenario, clock: { ms: number }): Scenario {
  return {
    ...scenario,
    makeDriver(stream) {
      const inner = scenario.makeDriver(stream);
      const timed: Driver = {
        freshProposals: inner.freshProposals,
        next(s) {
          const t0 = performance.now();
          const p = inner.next(s);
          clock.ms += performance.now() - t0;
          return p;
        },
        observe(ev, outcome, s) {
          if (inner.observe === undefined) return;
          const t0 = performance.now();
          inner.observe(ev, outcome, s);
          clock.ms += performance.now() - t0;
        },
      };
      return timed;
    },
  };
}

interface Run {
  recordMs: number;
  driverMs: number;
  applyMs: number;
  hashMs: number;
  events: number;
  bytes: number;
}
const scenario = resolveScenario(opts.scenario);
let fastest: Run | undefined;
for (let rep = 0; rep < opts.reps; rep++) {
  const clock = { ms: 0 };
  const sink = memorySink();
  const t0 = performance.now();
  const r = record(timedDriver(scenario, clock), sink, { seed: 1, maxEvents: opts.events });
  const recordMs = performance.now() - t0;
  const bytes = sink.bytes();
  const reader = TraceReader.open(memorySource(bytes));
  const items: ReplayItem[] = [...reader.items()];
  const state = mutableCopy(hvModel.genesis(reader.header.config as MachineConfig)) as Machine;
  let applyMs = 0;
  let hashMs = 0;
  for (const item of items) {
    if (item.type === "block") {
      const a0 = performance.now();
      for (let i = 0; i < item.events.length; i++) hvModel.apply(state, item.events[i] as HypEvent);
      applyMs += performance.now() - a0;
    } else if (item.type === "checkpoint" && item.seq === state.seq) {
      const h0 = performance.now();
      stateHash(state);
      hashMs += performance.now() - h0;
    }
  }
  const run = { recordMs, driverMs: clock.ms, applyMs, hashMs, events: r.events, bytes: bytes.length };
  if ((rep > 0 || opts.reps === 1) && (fastest === undefined || run.recordMs < fastest.recordMs)) fastest = run;
}
if (fastest !== undefined) {
  const { recordMs, driverMs, applyMs, hashMs, events, bytes } = fastest;
  const us = (ms: number) => `${((1000 * ms) / events).toFixed(2).padStart(6)} µs/event`;
  const pct = (ms: number) => `${((100 * ms) / recordMs).toFixed(0).padStart(3)}%`;
  console.log(`${opts.scenario}: ${events} events recorded in ${recordMs.toFixed(0)} ms: ${Math.round(events / recordMs)}k events/s, ${(bytes / events).toFixed(1)} bytes/event`);
  console.log(`  record (all)        ${us(recordMs)}`);
  console.log(`  driver              ${us(driverMs)} ${pct(driverMs)}`);
  console.log(`  model (apply)       ${us(applyMs)} ${pct(applyMs)}   (replayed alone)`);
  console.log(`  checkpoint hash     ${us(hashMs)} ${pct(hashMs)}   (replayed alone)`);
  const rest = recordMs - driverMs - applyMs - hashMs;
  console.log(`  encode, write, loop ${us(rest)} ${pct(rest)}   (the rest)`);
}
