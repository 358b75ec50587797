import type { Command } from "commander";
import { counted } from "../words.ts";
import { exitAfterDamage, incompleteOption, reportDamage, withTrace, type IncompletePolicy } from "../target.ts";
import { JOBS_MAX, defaultJobs, segmentBounds, verifyInSegments } from "../segments.ts";
import { die } from "../../core/errors.ts";
import { parseIntOption } from "../files.ts";
import type { OpenedTrace } from "../../timetravel/open.ts";
import { verifyTrace, type VerifyResult } from "../../trace/verify.ts";
import { progressLine, type Io } from "../io.ts";
import { EXAMPLE_TRACE, helpAfter } from "../help.ts";
import { EXIT } from "../exit.ts";
import { toJson } from "../../core/json.ts";
import { describeFinding } from "../report.ts";
import { FoundDamage } from "../../timetravel/store.ts";
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

type ReplayResult = Omit<VerifyResult, "state">;

/** Replays a trace and says how many events verified, or names the first divergent event. */
export function runReplay(io: Io, file: string, path: "fast" | "pure", invariants: boolean, allowIncomplete = false): { code: number; result: ReplayResult } {
  const incomplete = incompleteOption(allowIncomplete);
  return withTrace(io, file, (trace) => reportReplay(io, file, trace, onePass(io, trace, path, invariants), path, incomplete), { incomplete, reads: "streamed" });
}

/**
 * The same, in `jobs` segments replayed at once from the trace's stored states (segments.ts) when
 * the trace is long enough and whole; in one pass otherwise.
 */
export async function runReplayJobs(io: Io, file: string, path: "fast" | "pure", invariants: boolean, allowIncomplete: boolean, jobs: number, asked: boolean): Promise<{ code: number; result: ReplayResult }> {
  const incomplete = incompleteOption(allowIncomplete);
  return withTrace(io, file, async (trace) => {
    // Asked for (--jobs), segments are used however short the trace; by default only where they pay.
    const bounds = segmentBounds(trace, jobs, asked ? 0 : undefined);
    const onProgress = io.isTTY ? replayProgress(io, trace.count) : undefined;
    const r = bounds.length > 2 ? await verifyInSegments(trace, file, bounds, path, invariants, onProgress === undefined ? undefined : (n) => onProgress(n - 1)) : null;
    // Damage met on the way: one pass finds it and says what it is. A segment that could not run is said here.
    if (r !== null && "fallback" in r && r.fallback === "segment") io.err(`hvsim: note: ${r.why}; replaying in one pass`);
    return reportReplay(io, file, trace, r === null || "fallback" in r ? onePass(io, trace, path, invariants) : r, path, incomplete);
  }, { incomplete, reads: "streamed" });
}

function onePass(io: Io, trace: OpenedTrace, path: "fast" | "pure", invariants: boolean): ReplayResult {
  const onCheckpoint = io.isTTY ? replayProgress(io, trace.count) : undefined;
  return verifyTrace(trace.reader, {
    path,
    invariants: invariants ? "every" : "off",
    ...(trace.damage === null ? {} : { until: trace.count - 1 }),
    ...(onCheckpoint === undefined ? {} : { onCheckpoint }),
  });
}

function reportReplay(io: Io, file: string, trace: OpenedTrace, result: ReplayResult, path: "fast" | "pure", incomplete: IncompletePolicy): { code: number; result: ReplayResult } {
    if (io.isTTY) io.progress("");
    if (result.modelVersionRecorded !== null) {
      io.out(`note: recorded by ${result.modelVersionRecorded}, replaying with ${hvModel.version}; differences show as divergences`);
    }
    if (result.finding !== null) {
      io.out(`replayed ${result.verified} events before the finding`);
      io.err(`hvsim: ${describeFinding(result.finding)}`);
      return { code: result.finding.type === "violation" ? EXIT.finding : result.finding.type === "trace_error" ? EXIT.input : EXIT.divergence, result };
    }
    // What a seek would start from must be the state it claims to be: the stored states, rebuilt in
    // order (a replay recomputes the states, it never reads them), about 3 ms each.
    let stored = 0;
    if (trace.damage === null && result.damage === null) {
      try {
        stored = trace.store.checkStoredStates();
      } catch (e) {
        if (!(e instanceof FoundDamage)) throw e;
        reportDamage(io, file, e.damage, incomplete);
        return { code: EXIT.input, result: { ...result, damage: e.damage } };
      }
    }
    io.out(
      `replayed ${result.verified} events on the ${path} path: ${counted(result.verified, "outcome")}, ${counted(result.checkpointsVerified, "checkpoint hash", "checkpoint hashes")} and ${counted(stored, "stored state")} verified; final state ${result.finalHash.slice(0, 16)}`,
    );
    // The damage (or the unfinished end) was announced when the trace was opened; a body the
    // opening pass read whole but that replay finds wrong is announced here, in the same form.
    if (trace.damage === null && result.damage !== null) {
      reportDamage(io, file, result.damage, incomplete);
      return { code: EXIT.input, result };
    }
    return { code: exitAfterDamage(trace, EXIT.ok, false, incomplete), result };
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
    .option("--jobs <n>", `replay in this many segments at once, each from a state the trace stores (default ${defaultJobs()}: on 4 cores or more one per core up to 4, for traces of 200,000 events or more; else 1, one pass)`)
    .addHelpText("after", helpAfter("replay", [`hvsim replay ${EXAMPLE_TRACE}`, `hvsim replay ${EXAMPLE_TRACE} --pure --check`, `hvsim replay ${EXAMPLE_TRACE} --jobs 1`], [
        "An incomplete trace (a recording that did not finish) is verified as far as it goes; it exits 2 unless --allow-incomplete.",
        "Segments verify what one pass would and report the same first finding: each ends at the checkpoint the next starts from, whose hash it checks.",
      ]))
    .action(async (file: string, opts: { pure?: boolean; check?: boolean; json?: boolean; allowIncomplete?: boolean; jobs?: string }) => {
      const quiet = opts.json ? { ...io, out: () => {} } : io;
      const jobs = opts.jobs === undefined ? defaultJobs() : parseIntOption("--jobs", opts.jobs, 1);
      if (jobs > JOBS_MAX) die("ARGUMENT_INVALID", `--jobs: at most ${JOBS_MAX} segments at once, got ${jobs}`);
      const { code, result } = await runReplayJobs(quiet, file, opts.pure ? "pure" : "fast", opts.check === true, opts.allowIncomplete === true, jobs, opts.jobs !== undefined);
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
