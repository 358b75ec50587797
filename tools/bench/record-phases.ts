/**
 * Where recording spends its time, per event, in one run, each phase timed inside the recording
 * itself: the driver (its `next` and `observe`), the model (`apply`), the writer (appending,
 * packing, deflating and writing blocks and checkpoints, the footer) and what is left (the
 * checkpoint hashes and the loop). The hash is also timed alone, replaying the trace just recorded
 * at the same checkpoints. A profiling aid, not a test.
 *
 *   node bin/run-ts.mjs tools/bundle.ts --run tools/bench/record-phases.ts [--events 200000] [--scenario long-run] [--reps 3]
 *
 * The fastest repetition is reported (the first warms the JIT); the timers around every call add
 * about 0.1 µs per event to the phases they wrap.
 */
import { performance } from "node:perf_hooks";
import { record } from "../../src/sim/record.ts";
import { resolveScenario } from "../../src/sim/resolve.ts";
import type { Driver, Scenario } from "../../src/sim/scenario.ts";
import { memorySink, memorySource } from "../../src/trace/source.ts";
import { TraceReader } from "../../src/trace/reader.ts";
import { TraceWriter } from "../../src/trace/writer.ts";
import { hvModel, type Machine, type MachineConfig } from "../../src/model/machine.ts";
import type { HypEvent } from "../../src/model/events.ts";
import { mutableCopy } from "../../src/core/reducer.ts";
import { stateHash } from "../../src/core/hash.ts";
import { benchArgs } from "./args.ts";

const { opts } = benchArgs("record-phases", { scenario: "long-run", events: 200_000, reps: 3 });

const clocks = { driver: 0, model: 0, writer: 0 };
/** `f` with the time of every call added to `clocks[clock]`. */
function timed<A extends unknown[], R>(clock: keyof typeof clocks, f: (...a: A) => R): (...a: A) => R {
  return function (this: unknown, ...a: A): R {
    const t0 = performance.now();
    const r = f.apply(this, a);
    clocks[clock] += performance.now() - t0;
    return r;
  };
}

/** The scenario with its driver's `next` and `observe` timed. */
function timedDriver(scenario: Scenario): Scenario {
  return {
    ...scenario,
    makeDriver(stream) {
      const inner = scenario.makeDriver(stream);
      const d: Driver = { freshProposals: inner.freshProposals, next: timed("driver", (s: Machine) => inner.next(s)) };
      const observe = inner.observe;
      return observe === undefined ? d : { ...d, observe: timed("driver", (ev: HypEvent, o, s: Machine) => observe.call(inner, ev, o, s)) };
    },
  };
}

// The writer's public methods and the model's entry point, timed in place (the recorder calls them by name).
const writer = TraceWriter.prototype as unknown as Record<"append" | "checkpoint" | "finish", (...a: unknown[]) => unknown>;
for (const m of ["append", "checkpoint", "finish"] as const) writer[m] = timed("writer", writer[m]);
const model = hvModel as { apply: typeof hvModel.apply };
model.apply = timed("model", model.apply);

interface Run {
  recordMs: number;
  driverMs: number;
  modelMs: number;
  writerMs: number;
  hashMs: number;
  events: number;
  bytes: number;
}
const scenario = timedDriver(resolveScenario(opts.scenario));
let fastest: Run | undefined;
for (let rep = 0; rep < opts.reps; rep++) {
  clocks.driver = clocks.model = clocks.writer = 0;
  const sink = memorySink();
  const t0 = performance.now();
  const r = record(scenario, sink, { seed: 1, maxEvents: opts.events });
  const recordMs = performance.now() - t0;
  const { driver: driverMs, model: modelMs, writer: writerMs } = clocks;
  // The hash alone, at the trace's checkpoints: the model brings a fresh state there again.
  const bytes = sink.bytes();
  const reader = TraceReader.open(memorySource(bytes));
  const state = mutableCopy(hvModel.genesis(reader.header.config as MachineConfig)) as Machine;
  let hashMs = 0;
  for (const item of reader.items()) {
    if (item.type === "block") for (let i = 0; i < item.events.length; i++) hvModel.apply(state, item.events[i] as HypEvent);
    else if (item.type === "checkpoint" && item.seq === state.seq) {
      const h0 = performance.now();
      stateHash(state);
      hashMs += performance.now() - h0;
    }
  }
  const run = { recordMs, driverMs, modelMs, writerMs, hashMs, events: r.events, bytes: bytes.length };
  if ((rep > 0 || opts.reps === 1) && (fastest === undefined || run.recordMs < fastest.recordMs)) fastest = run;
}
if (fastest !== undefined) {
  const { recordMs, driverMs, modelMs, writerMs, hashMs, events, bytes } = fastest;
  const us = (ms: number) => `${((1000 * ms) / events).toFixed(2).padStart(6)} µs/event`;
  const pct = (ms: number) => `${((100 * ms) / recordMs).toFixed(0).padStart(3)}%`;
  console.log(`${opts.scenario}: ${events} events recorded in ${recordMs.toFixed(0)} ms: ${Math.round(events / recordMs)}k events/s, ${(bytes / events).toFixed(1)} bytes/event`);
  console.log(`  record (all)        ${us(recordMs)}`);
  console.log(`  driver              ${us(driverMs)} ${pct(driverMs)}`);
  console.log(`  model (apply)       ${us(modelMs)} ${pct(modelMs)}`);
  console.log(`  writer              ${us(writerMs)} ${pct(writerMs)}   (pack, deflate, write)`);
  const rest = recordMs - driverMs - modelMs - writerMs;
  console.log(`  hashes and loop     ${us(rest)} ${pct(rest)}   (of which the hash, replayed alone: ${us(hashMs).trim()})`);
}
