import { hvModel, type Machine, type MachineConfig } from "../model/machine.ts";
import { replay, type ReplayFinding, type ReplayOptions } from "../core/replay.ts";
import { stateHash } from "../core/hash.ts";
import type { Damage, TraceReader } from "./reader.ts";
import { stateHashOf } from "./format.ts";

export interface VerifyResult {
  readonly verified: number;
  readonly checkpointsVerified: number;
  readonly finding: ReplayFinding | null;
  readonly damage: Damage | null;
  readonly state: Machine;
  readonly finalHash: string;
  /** Set when the trace was recorded by another model version: reported, not refused. */
  readonly modelVersionRecorded: string | null;
}

/**
 * Replays a whole trace against this build's model: every outcome and checkpoint hash recomputed.
 * Stops at the first finding, or at the damage of a damaged trace (everything before it replays).
 */
export function verifyTrace(reader: TraceReader, options: ReplayOptions<Machine> = {}, model: typeof hvModel = hvModel): VerifyResult {
  // `model`: this build's by default; `hvsim diff --replay` tests pass a modified one.
  const genesis = model.genesis(reader.header.config as MachineConfig);
  const definition = stateHashOf(reader.header);
  const r = replay(model, genesis, reader.items(), { stateHash: definition, ...options });
  return {
    verified: r.verified,
    checkpointsVerified: r.checkpointsVerified,
    finding: r.finding,
    damage: r.finding === null ? reader.damage : null,
    state: r.state,
    finalHash: stateHash(r.state, definition),
    modelVersionRecorded: recordedModelVersion(reader, model),
  };
}

/** The model version that recorded the trace when it is not `model`'s (reported, not refused), else null. */
export function recordedModelVersion(reader: TraceReader, model: typeof hvModel = hvModel): string | null {
  return reader.header.modelVersion === model.version ? null : reader.header.modelVersion;
}
