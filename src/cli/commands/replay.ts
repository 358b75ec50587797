import type { Command } from "commander";
import { exitAfterDamage, incompleteOption, reportDamage, withTrace } from "../target.ts";
import { verifyTrace, type VerifyResult } from "../../trace/verify.ts";
import { progressLine, type Io } from "../io.ts";
import { EXAMPLE_TRACE, helpAfter } from "../help.ts";
import { EXIT } from "../exit.ts";
import { toJson } from "../../core/json.ts";
import { describeFinding } from "../report.ts";
import { hvModel } from "../../model/machine.ts";

/**
 * A progress line on a terminal, redrawn at checkpoints (one per block) at most every 64k events:
 * long traces take seconds, and drawing costs nothing between checkpoints.
 */
function replayProgress(io: Io, total: number): (seq: number) => void {
  let shown = 0;
  return (seq) => {
    if (seq + 1 - shown < 65_536) return;
    shown = seq + 1;
    io.progress(progressLine("replaying", shown, total));
  };
}

/** Replays a trace and says how many events verified, or names the first divergent event. */
export function runReplay(io: Io, file: string, path: "fast" | "pure", invariants: boolean, allowIncomplete = false): { code: number; result: VerifyResult } {
  const incomplete = incompleteOption(allowIncomplete);
  return withTrace(io, file, (trace) => {
    const onCheckpoint = io.isTTY ? replayProgress(io, trace.count) : undefined;
    const result = verifyTrace(trace.reader, {
      path,
      invariants: invariants ? "every" : "off",
      ...(trace.damage === null ? {} : { until: trace.count - 1 }),
      ...(onCheckpoint === undefined ? {} : { onCheckpoint }),
    });
    if (io.isTTY) io.progress("");
    if (result.modelVersionRecorded !== null) {
      io.out(`note: recorded by ${result.modelVersionRecorded}, replaying with ${hvModel.version}; differences show as divergences`);
    }
    if (result.finding !== null) {
      io.out(`replayed ${result.verified} events before the finding`);
      io.err(`hvsim: ${describeFinding(result.finding)}`);
      return { code: result.finding.type === "violation" ? EXIT.finding : result.finding.type === "trace_error" ? EXIT.input : EXIT.divergence, result };
    }
    io.out(
      `replayed ${result.verified} events on the ${path} path: ${result.verified} outcomes and ${result.checkpointsVerified} checkpoint hashes verified; final state ${result.finalHash.slice(0, 16)}`,
    );
    // The damage (or the unfinished end) was announced when the trace was opened; a body the
    // opening pass read whole but that replay finds wrong is announced here, in the same form.
    if (trace.damage === null && result.damage !== null) {
      reportDamage(io, file, result.damage, incomplete);
      return { code: EXIT.input, result };
    }
    return { code: exitAfterDamage(trace, EXIT.ok, false, incomplete), result };
  }, { incomplete, reads: "streamed" });
}

export function registerReplay(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command("replay")
    .description("replay a trace, recomputing every outcome and checkpoint hash")
    .argument("<file>", "trace file")
    .option("--pure", "use the pure path (one immer produce per event) instead of the fast path")
    .option("--check", "also run every invariant after every event")
    .option("--json", "print the result as JSON")
    .option("--allow-incomplete", "accept an unfinished recording (no footer): verify the whole blocks it holds and exit 0")
    .addHelpText("after", helpAfter("replay", [`hvsim replay ${EXAMPLE_TRACE}`, `hvsim replay ${EXAMPLE_TRACE} --pure --check`], [
        "An incomplete trace (a recording that did not finish) is verified as far as it goes; it exits 2 unless --allow-incomplete.",
      ]))
    .action((file: string, opts: { pure?: boolean; check?: boolean; json?: boolean; allowIncomplete?: boolean }) => {
      const quiet = opts.json ? { ...io, out: () => {} } : io;
      const { code, result } = runReplay(quiet, file, opts.pure ? "pure" : "fast", opts.check === true, opts.allowIncomplete === true);
      if (opts.json) {
        io.out(
          toJson({
            ok: code === EXIT.ok,
            verified: result.verified,
            checkpointsVerified: result.checkpointsVerified,
            finalHash: result.finalHash,
            finding: result.finding,
            damage: result.damage,
          }),
        );
      }
      setCode(code);
    });
}
