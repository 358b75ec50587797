import { die } from "../core/errors.ts";
import { toJson } from "../core/json.ts";
import type { Machine } from "../model/machine.ts";
import type { OpenedTrace } from "./open.ts";

/**
 * The state after event `n` of a trace (-1: genesis; omitted: the last whole event), for one-shot
 * queries (`hvsim state`, `hvsim bcc verify`). Seeks from the nearest stored snapshot and verifies
 * every recomputed outcome on the way: a state the model no longer produces is reported, not shown.
 */
export function verifiedStateAt(trace: OpenedTrace, n?: number): Machine {
  const seeker = trace.seeker({ verifyOutcomes: true, keepCheckpoints: false });
  const state = seeker.stateAt(trace.checkIndex(n ?? seeker.count - 1));
  const d = seeker.divergence;
  if (d !== null) {
    die("REPLAY_DIVERGENCE", `divergence at event ${d.seq} (${d.kind}): stored outcome ${toJson(d.stored)}, recomputed ${toJson(d.recomputed)}`, {
      seq: d.seq,
      kind: d.kind,
    });
  }
  return state;
}
