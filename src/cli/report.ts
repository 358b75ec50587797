import type { ReplayFinding } from "../core/replay.ts";
import { toJson } from "../export/json.ts";

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
      return `invariant ${f.failure.invariant} violated at event ${f.seq} (${f.kind}): ${f.failure.detail} [${f.failure.path}]${f.failure.objects ? ` ${toJson(f.failure.objects)}` : ""}`;
  }
}
