import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { record, type RecordOptions } from "../src/sim/record.ts";
import type { Scenario } from "../src/sim/scenario.ts";
import { memorySink, memorySource } from "../src/trace/source.ts";
import { TraceReader } from "../src/trace/reader.ts";
import { main } from "../src/cli/main.ts";
import { memoryIo } from "../src/cli/io.ts";
import type { Outcome } from "../src/core/event.ts";
import type { HypEvent } from "../src/model/events.ts";
import { hvModel, type Machine } from "../src/model/machine.ts";
import { streams } from "../src/sim/prng.ts";

/** Records a scenario into memory and returns the trace bytes. */
export function recordBytes(scenario: Scenario, options: RecordOptions): Buffer {
  const sink = memorySink();
  record(scenario, sink, options);
  return sink.bytes();
}

export const readerOf = (bytes: Uint8Array): TraceReader => TraceReader.open(memorySource(bytes));

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "hvsim-test-"));
}

/** Runs the CLI in-process; returns exit code and captured output. */
export async function cli(...argv: string[]): Promise<{ code: number; stdout: string[]; stderr: string[] }> {
  const io = memoryIo();
  const code = await main(["node", "hvsim", ...argv], io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

/** A stack trace in user-facing output is a defect: no line may look like a stack frame. */
export const hasStackTrace = (lines: readonly string[]): boolean => lines.some((l) => /^\s+at .+\(.*:\d+:\d+\)|^\s+at file:/m.test(l));

/**
 * Runs a scenario on the fast path (its driver over a private copy of the genesis state), keeping
 * every event and outcome; `each` sees each event after it is applied.
 */
export function runScenario(scenario: Scenario, seed = 1, each?: (ev: HypEvent, out: Outcome, s: Machine) => void): { s: Machine; log: { ev: HypEvent; out: Outcome }[] } {
  const s = structuredClone(hvModel.genesis(scenario.config)) as Machine;
  const d = scenario.makeDriver(streams(seed));
  const log: { ev: HypEvent; out: Outcome }[] = [];
  for (let p = d.next(s); p !== null; p = d.next(s)) {
    const ev = { ...p, seq: s.seq + 1 } as HypEvent;
    const out = hvModel.apply(s, ev);
    d.observe?.(ev, out, s);
    each?.(ev, out, s);
    log.push({ ev, out });
  }
  return { s, log };
}
