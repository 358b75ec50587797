import { freeze } from "immer";
import { mutableCopy } from "../core/reducer.ts";
import { stateHash } from "../core/hash.ts";
import type { EventBase, Outcome } from "../core/event.ts";
import { hvModel, type MachineConfig } from "../model/machine.ts";
import type { HypEvent } from "../model/events.ts";
import { TraceWriter, hashDefinitionFor, type HeaderFields, type WriterOptions } from "./writer.ts";
import { FORMAT_VERSION } from "./format.ts";
import type { ByteSink } from "./source.ts";

export interface RewriteInput {
  readonly ev: EventBase;
  /** The outcome to store; when absent, the one the model computes. */
  readonly outcome?: Outcome;
}

/**
 * Writes a trace from a list of events: applies each (fast path) to compute outcomes and
 * checkpoint hashes, storing either the given outcome or the recomputed one. Used to write
 * minimised traces, and by tests that need a trace whose stored outcome was edited.
 * Events are re-indexed densely from 0; their times are kept.
 */
export function writeTraceFromEvents(
  sink: ByteSink,
  header: HeaderFields,
  events: Iterable<RewriteInput>,
  options: WriterOptions = {},
): { events: number; finalHash: string } {
  const genesis = hvModel.genesis(header.config as MachineConfig);
  const definition = hashDefinitionFor(options.formatVersion ?? FORMAT_VERSION);
  const writer = new TraceWriter(sink, header, { hash: stateHash(genesis, definition), t: genesis.t, snapshot: genesis }, options);
  const state = mutableCopy(genesis);
  let seq = 0;
  for (const input of events) {
    const ev = { ...input.ev, seq } as HypEvent;
    const recomputed = hvModel.apply(state, ev);
    if (writer.append(ev, input.outcome ?? recomputed)) {
      writer.checkpoint(stateHash(state, definition), writer.wantsSnapshot() ? freeze(mutableCopy(state), true) : undefined);
    }
    seq += 1;
  }
  const finalHash = stateHash(state, definition);
  writer.finish(finalHash);
  return { events: seq, finalHash };
}
