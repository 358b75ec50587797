import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { record, type RecordOptions } from "../src/sim/record.ts";
import type { Scenario } from "../src/sim/scenario.ts";
import { memorySink, memorySource } from "../src/trace/source.ts";
import { TraceReader } from "../src/trace/reader.ts";
import { main } from "../src/cli/main.ts";
import { memoryIo } from "../src/cli/io.ts";

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
