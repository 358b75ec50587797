import { produce, freeze, type Draft } from "immer";
import { die } from "./errors.ts";
import type { EventBase, Outcome } from "./event.ts";
import type { Invariant } from "./invariants.ts";
import { shareBytes } from "./bytes.ts";

/** The part of the state the core itself maintains: the last applied event's index and the time. */
export interface CoreState {
  /** Index of the last applied event; -1 in the genesis state. */
  seq: number;
  /** Virtual time of the last applied event, in ns. */
  t: number;
}

/**
 * A handler applies one event to a mutable draft of the state and returns the outcome.
 * It is called both on an immer draft (pure path) and on a private mutable copy (fast path),
 * so it must use only plain property reads and writes: no immer-only helpers.
 */
export type Handler<S, E extends EventBase> = (draft: S, ev: E) => Outcome;

/**
 * One room of the model (after a Gunyah module): it subscribes handlers to event kinds and exports
 * named invariants over the state. Like a `.ev` file, `subscribes` is a table, not code.
 */
export interface Room<S, E extends EventBase> {
  readonly name: string;
  readonly subscribes: { readonly [K in E["kind"]]?: Handler<S, Extract<E, { kind: K }>> };
  readonly invariants?: readonly Invariant<S>[];
}

/** A model: how to build the first state from a config, and the one recipe that applies an event. */
export interface Model<S extends CoreState, E extends EventBase, C> {
  readonly version: string;
  genesis(config: C): S;
  apply(draft: S, ev: E): Outcome;
  readonly invariants: readonly Invariant<S>[];
  readonly kinds: readonly string[];
}

/**
 * Builds the dispatch table from rooms in a fixed order. Each kind has exactly one handler:
 * a duplicate is a build-time error (like RTK's builder), so ownership is never ambiguous.
 */
export function buildDispatch<S, E extends EventBase>(
  rooms: readonly Room<S, E>[],
): ReadonlyMap<string, { room: string; handler: Handler<S, E> }> {
  const table = new Map<string, { room: string; handler: Handler<S, E> }>();
  for (const room of rooms) {
    for (const [kind, handler] of Object.entries(room.subscribes)) {
      const owner = table.get(kind);
      if (owner !== undefined) {
        die("INTERNAL", `event kind '${kind}' has two handlers: rooms '${owner.room}' and '${room.name}'`);
      }
      table.set(kind, { room: room.name, handler: handler as Handler<S, E> });
    }
  }
  return table;
}

/**
 * The envelope rule shared by every event: indices are dense and time never goes backwards.
 * Breaking it is an error of the trace, reported with the index.
 */
export function advanceEnvelope(draft: CoreState, ev: EventBase): void {
  if (ev.seq !== draft.seq + 1) {
    die("TRACE_EVENT_OUT_OF_ORDER", `event ${ev.seq} (${ev.kind}) follows event ${draft.seq}: indices must be dense`, {
      seq: ev.seq,
      kind: ev.kind,
    });
  }
  if (!Number.isSafeInteger(ev.t) || ev.t < draft.t) {
    die("TRACE_EVENT_OUT_OF_ORDER", `event ${ev.seq} (${ev.kind}) at t=${ev.t}ns is before t=${draft.t}ns`, {
      seq: ev.seq,
      kind: ev.kind,
    });
  }
  draft.seq = ev.seq;
  draft.t = ev.t;
}

/**
 * The pure, immutable form: `reduce(state, ev)` returns the next state and the outcome.
 * `state` is not touched; the result is frozen (immer autoFreeze).
 */
export function reduce<S extends CoreState, E extends EventBase>(
  model: Model<S, E, unknown>,
  state: S,
  ev: E,
): [S, Outcome] {
  let outcome: Outcome | undefined;
  const next = produce(state, (d: Draft<S>) => {
    outcome = model.apply(d as S, ev);
  });
  return [next as S, outcome as Outcome];
}

/** Deep-freezes a state (genesis and snapshots), so nobody mutates shared data by accident. */
export function frozen<S>(s: S): S {
  return freeze(s, true);
}

/**
 * A private, mutable deep copy for the fast path (and the snapshots taken from it): every object,
 * array and byte array is new, so in-place writes reach nothing else (see `writableBytes`).
 * The state is plain data and a tree (nothing in it is reachable twice: immer drafts assume so too),
 * so a direct walk is exact. It is about 2.5x faster than structuredClone, which serializes and
 * parses, and copies only a byte array's own bytes where structuredClone copies the whole buffer a
 * view lies in.
 */
export function mutableCopy<S>(s: S): S {
  return copyPlain(s, false) as S;
}

/**
 * `mutableCopy` that shares the byte arrays instead of copying them, marked shared (bytes.ts
 * `shareBytes`): the first write through `writableBytes` on either side copies the array first.
 * For the seeker, whose frozen checkpoints and the working copies made from them would otherwise
 * each hold every page and sector: on long-run at 1.2M events a state is 389 KB of objects and 333
 * KB of byte arrays, and a walk writes only a few of its 547 arrays between two checkpoints.
 */
export function copySharingBytes<S>(s: S): S {
  return copyPlain(s, true) as S;
}

function copyPlain(v: unknown, share: boolean): unknown {
  if (typeof v !== "object" || v === null) return v;
  if (Array.isArray(v)) {
    const out: unknown[] = []; // filled by push: a packed array, like the original
    for (let i = 0; i < v.length; i++) out.push(copyPlain(v[i], share));
    return out;
  }
  if (v instanceof Uint8Array) return share ? shareBytes(v) : new Uint8Array(v);
  const out: Record<string, unknown> = {};
  for (const k in v) out[k] = copyPlain((v as Record<string, unknown>)[k], share);
  return out;
}
