import type { ReplayFinding } from "../core/replay.ts";
import { toJson } from "../core/json.ts";
import { readableText } from "../timetravel/readable.ts";
import type { Io } from "./io.ts";
import { shellQuote } from "./target.ts";

/** One line for a replay finding: what, at which event index, stored against recomputed. */
export function describeFinding(f: ReplayFinding): string {
  switch (f.type) {
    case "divergence":
      return `divergence at event ${f.seq} (${f.kind}): stored outcome ${toJson(f.stored)}, recomputed ${toJson(f.recomputed)}`;
    case "hash_mismatch":
      return `state hash mismatch at the checkpoint after event ${f.seq}: stored ${f.stored.slice(0, 16)}, recomputed ${f.recomputed.slice(0, 16)}`;
    case "trace_error":
      return `trace error at event ${f.seq} (${f.kind}): ${f.message}`;
    case "violation":
      return `invariant ${f.failure.invariant} violated at event ${f.seq} (${f.kind}): ${f.failure.detail} [${f.failure.path}]${f.failure.objects ? ` ${readableText(f.failure.objects)}` : ""}`;
  }
}

/** `next:` and a column of commands, each with why (what `run` prints, and what follows a violation). */
export function printNextSteps(io: Io, tries: readonly (readonly [string, string])[]): void {
  io.out("");
  io.out("next:");
  const width = Math.max(...tries.map(([c]) => c.length));
  for (const [c, why] of tries) io.out(`  ${c.padEnd(width)}  # ${why}`);
}

/** A user assertion's invariant name is `assert(EXPR)`: bisect and minimise look for EXPR failing. */
const conditionArgs = (invariant: string): string => {
  const m = /^assert\((.*)\)$/s.exec(invariant);
  return m === null ? `--invariant ${shellQuote(invariant)}` : `--until ${shellQuote(`!(${m[1]})`)}`;
};

/**
 * What to try after a violation at event `index` of `trace`: the debugger there, bisect for the
 * first break, minimise to the events that matter. `prefix` is how the user runs hvsim (`npx hvsim`).
 */
export function violationNextSteps(prefix: string, trace: string, invariant: string, index: number): [string, string][] {
  const t = shellQuote(trace);
  const cond = conditionArgs(invariant);
  return [
    [`${prefix} debug ${t} --at ${index}`, "the state at the violation: show, back, why PATH"],
    [`${prefix} bisect ${t} ${cond}`, "the first event after which it is broken"],
    [`${prefix} minimize ${t} ${cond} -o ${shellQuote(trace.replace(/(\.hvt)?$/, "-min.hvt"))}`, "the few events that still break it"],
  ];
}
