import { mutableCopy } from "../core/reducer.ts";
import { shallowCopy } from "../core/copy.ts";
import { stateHash } from "../core/hash.ts";
import { checkInvariants, type Invariant, type InvariantFailure } from "../core/invariants.ts";
import { HvsimError, die, isHvsimError } from "../core/errors.ts";
import type { Outcome } from "../core/event.ts";
import { hvModel, type Machine } from "../model/machine.ts";
import type { HypEvent } from "../model/events.ts";
import { TraceWriter, hashDefinitionFor, type WriterOptions } from "../trace/writer.ts";
import { FORMAT_VERSION } from "../trace/format.ts";
import type { ByteSink } from "../trace/source.ts";
import { streams } from "./prng.ts";
import type { Scenario } from "./scenario.ts";

export interface RecordOptions extends WriterOptions {
  readonly seed: number;
  readonly maxEvents?: number;
  readonly untilNs?: number;
  /** Check every invariant after every event; stop at the first violation (fuzzing). */
  readonly checkInvariants?: boolean;
  /** The invariants to check (default: the model's); `--assert` adds predicates here. */
  readonly invariants?: readonly Invariant<Machine>[];
  /** Called every `progressEvery` events (the CLI's progress bar). */
  readonly onProgress?: (events: number, maxEvents: number) => void;
  readonly progressEvery?: number;
}

export interface RecordResult {
  readonly events: number;
  readonly lastT: number;
  readonly finalHash: string;
  /** `stalled`: the driver had nothing more to do while some of its actors still waited (`stalled` names them). */
  readonly stoppedBy: "scenario_done" | "stalled" | "max_events" | "until" | "violation";
  readonly stalled: readonly string[];
  readonly violation: (InvariantFailure & { seq: number; kind: string }) | null;
}

/**
 * Record = driver + reducer + trace writer. The driver proposes events; the reducer (fast path,
 * on a private mutable copy) computes each outcome; the writer stores event and outcome, and a
 * checkpoint hash after every block. Deterministic: same scenario and seed, same bytes.
 *
 * With no sink nothing is written (and no checkpoint hashed): a fuzz run that passes keeps no
 * trace, and one that fails records its seed again for the trace, which determinism makes the
 * same run. Writing is about a tenth of a swarm seed's time (40 seeds: 1.08x without it).
 */
export function record(scenario: Scenario, sink: ByteSink | null, options: RecordOptions): RecordResult {
  const genesisState = hvModel.genesis(scenario.config);
  const definition = hashDefinitionFor(options.formatVersion ?? FORMAT_VERSION);
  const writer =
    sink === null
      ? null
      : new TraceWriter(
          sink,
          {
            modelVersion: hvModel.version,
            scenario: { name: scenario.name, hash: scenario.hash },
            seed: options.seed,
            config: scenario.config,
            generator: "hvsim record",
          },
          { hash: stateHash(genesisState, definition), t: genesisState.t, snapshot: genesisState },
          options,
        );
  const state: Machine = mutableCopy(genesisState);
  const driver = scenario.makeDriver(streams(options.seed));
  const maxEvents = options.maxEvents ?? scenario.maxEvents;
  const untilNs = options.untilNs ?? scenario.untilNs ?? Number.POSITIVE_INFINITY;
  const progressEvery = options.progressEvery ?? 65_536;
  let stoppedBy: RecordResult["stoppedBy"] = "scenario_done";
  let violation: RecordResult["violation"] = null;
  let stalled: readonly string[] = [];
  let events = 0;

  for (let seq = 0; ; seq++) {
    if (seq >= maxEvents) {
      stoppedBy = "max_events";
      break;
    }
    const proposal = driver.next(state);
    if (proposal === null) {
      stalled = driver.stalled?.(state) ?? [];
      if (stalled.length > 0) stoppedBy = "stalled";
      break;
    }
    if (proposal.t > untilNs) {
      stoppedBy = "until";
      break;
    }
    // Time is integer nanoseconds; past 2^53 it would silently round (and no run needs 104 days).
    if (!Number.isSafeInteger(proposal.t)) die("SCENARIO_INVALID", `${scenario.source ?? scenario.name}: virtual time passes 2^53 ns (about 104 days) at event ${seq}: sleeps too long for the simulator`, { seq });
    // `seq` goes last either way, so the event's fields (and its bytes) are the same.
    const fields = (driver.freshProposals === true ? proposal : shallowCopy(proposal)) as Record<string, unknown>;
    fields.seq = seq;
    const ev = fields as unknown as HypEvent;
    let outcome: Outcome;
    try {
      outcome = hvModel.apply(state, ev);
    } catch (e) {
      // Proposed by the scenario and refused by the model: the scenario's mistake, said where it is.
      if (!isHvsimError(e) || e.code !== "TRACE_EVENT_INVALID") throw e;
      const where = driver.where?.() ?? null;
      throw new HvsimError("SCENARIO_INVALID", `${where === null ? scenario.source ?? scenario.name : where}: ${e.message}`, e.context);
    }
    driver.observe?.(ev, outcome, state);
    events = seq + 1;
    if (writer?.append(ev, outcome) === true) {
      // The writer encodes the snapshot at once and keeps nothing of it: the live state serves.
      writer.checkpoint(stateHash(state, definition), writer.wantsSnapshot() ? state : undefined);
    }
    if (options.checkInvariants) {
      const failure = checkInvariants(state, options.invariants ?? hvModel.invariants);
      if (failure !== null) {
        violation = { ...failure, seq, kind: ev.kind };
        stoppedBy = "violation";
        break;
      }
    }
    if (options.onProgress && (seq + 1) % progressEvery === 0) options.onProgress(seq + 1, maxEvents);
  }
  const finalHash = stateHash(state, definition);
  writer?.finish(finalHash);
  return { events, lastT: state.t, finalHash, stoppedBy, stalled, violation };
}
