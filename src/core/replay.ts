import { produce, freeze, type Draft } from "immer";
import { isHvsimError } from "./errors.ts";
import { plainEqual } from "./equal.ts";
import type { EventBase, Outcome } from "./event.ts";
import { stateHash, STATE_HASH_DEFINITION, type StateHashDefinition } from "./hash.ts";
import { checkInvariants, type InvariantFailure } from "./invariants.ts";
import type { CoreState, Model } from "./reducer.ts";
import { mutableCopy } from "./reducer.ts";

/** What a replay consumes: blocks of events with stored outcomes, and checkpoints with hashes. */
export type ReplayItem =
  | { readonly type: "block"; readonly events: readonly EventBase[]; readonly outcomes: readonly Outcome[] }
  | { readonly type: "checkpoint"; readonly seq: number; readonly hash: string }
  | { readonly type: "footer" };

/** The first thing that went wrong in a replay, located by event index. */
export type ReplayFinding =
  | { readonly type: "divergence"; readonly seq: number; readonly kind: string; readonly stored: Outcome; readonly recomputed: Outcome }
  | { readonly type: "hash_mismatch"; readonly seq: number; readonly stored: string; readonly recomputed: string }
  | { readonly type: "trace_error"; readonly seq: number; readonly kind: string; readonly message: string }
  | { readonly type: "violation"; readonly seq: number; readonly kind: string; readonly failure: InvariantFailure };

export interface ReplayOptions<S> {
  /** fast: the recipes on a private mutable copy; pure: one immer `produce` per event. */
  readonly path?: "fast" | "pure";
  /** Run every invariant after every event (the oracle), only at checkpoints, or never. */
  readonly invariants?: "every" | "checkpoints" | "off";
  /** Stop after this event index (inclusive). */
  readonly until?: number;
  /** Called at each verified checkpoint with an immutable snapshot maker (only called if needed). */
  readonly onCheckpoint?: (seq: number, hash: string, snapshot: () => S) => void;
  /** The state hash definition the checkpoints carry (the trace header's); default this build's. */
  readonly stateHash?: StateHashDefinition;
  /** Called after every applied event (progress reporting, collectors); keep it cheap. */
  readonly onEvent?: (ev: EventBase, outcome: Outcome) => void;
}

export interface ReplayResult<S> {
  readonly verified: number;
  readonly checkpointsVerified: number;
  readonly state: S;
  readonly finding: ReplayFinding | null;
}

/**
 * Replays items from a genesis state, recomputing every outcome and every checkpoint hash.
 * Both paths run the same `apply` recipes; they differ only in how the state is held.
 * A trace error (an event that cannot happen) stops the replay and is reported with its index.
 */
export function replay<S extends CoreState, E extends EventBase>(
  model: Model<S, E, unknown>,
  genesisState: S,
  items: Iterable<ReplayItem>,
  options: ReplayOptions<S> = {},
): ReplayResult<S> {
  const definition = options.stateHash ?? STATE_HASH_DEFINITION;
  const runner = options.path === "pure" ? pureRunner(model, genesisState) : fastRunner(model, genesisState);
  const every = options.invariants === "every";
  const atCheckpoints = options.invariants === "checkpoints";
  const until = options.until ?? Number.POSITIVE_INFINITY;
  let verified = 0;
  let checkpointsVerified = 0;
  let lastSeq = genesisState.seq;
  const done = (finding: ReplayFinding | null): ReplayResult<S> => ({
    verified,
    checkpointsVerified,
    state: runner.snapshot(),
    finding,
  });

  for (const item of items) {
    if (item.type === "block") {
      for (let i = 0; i < item.events.length; i++) {
        const ev = item.events[i]! as E;
        if (ev.seq > until) return done(null);
        let recomputed: Outcome;
        try {
          recomputed = runner.step(ev);
        } catch (e) {
          if (!isHvsimError(e)) throw e;
          return done({ type: "trace_error", seq: ev.seq, kind: ev.kind, message: e.message });
        }
        const stored = item.outcomes[i]!;
        if (!plainEqual(stored, recomputed)) return done({ type: "divergence", seq: ev.seq, kind: ev.kind, stored, recomputed });
        options.onEvent?.(ev, recomputed);
        verified += 1;
        lastSeq = ev.seq;
        if (every) {
          const failure = checkInvariants(runner.peek(), model.invariants);
          if (failure !== null) return done({ type: "violation", seq: ev.seq, kind: ev.kind, failure });
        }
      }
    } else if (item.type === "checkpoint") {
      if (item.seq !== lastSeq) continue; // a checkpoint for a part we stopped before, or genesis
      const recomputed = stateHash(runner.peek(), definition);
      if (recomputed !== item.hash) return done({ type: "hash_mismatch", seq: item.seq, stored: item.hash, recomputed });
      checkpointsVerified += 1;
      if (atCheckpoints) {
        const failure = checkInvariants(runner.peek(), model.invariants);
        if (failure !== null) return done({ type: "violation", seq: item.seq, kind: "checkpoint", failure });
      }
      options.onCheckpoint?.(item.seq, recomputed, runner.snapshot);
    }
  }
  return done(null);
}

interface Runner<S> {
  step(ev: EventBase): Outcome;
  /** The current state, read-only by convention (may be the private mutable copy). */
  peek(): S;
  /** An immutable snapshot of the current state. */
  snapshot(): S;
}

/** The fast path: the private copy is written in place (its hash is taken from scratch: hash-tree.ts says why). */
function fastRunner<S extends CoreState, E extends EventBase>(model: Model<S, E, unknown>, genesis: S): Runner<S> {
  const working = mutableCopy(genesis);
  return {
    step: (ev) => model.apply(working, ev as E),
    peek: () => working,
    snapshot: () => freeze(mutableCopy(working), true),
  };
}

/** The pure path: states are frozen and share unchanged subtrees, whose digests are remembered by identity. */
function pureRunner<S extends CoreState, E extends EventBase>(model: Model<S, E, unknown>, genesis: S): Runner<S> {
  let state = genesis;
  return {
    step(ev) {
      let outcome: Outcome | undefined;
      state = produce(state, (d: Draft<S>) => {
        outcome = model.apply(d as S, ev as E);
      }) as S;
      return outcome as Outcome;
    },
    peek: () => state,
    snapshot: () => state,
  };
}
