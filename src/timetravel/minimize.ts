import { die, isHvsimError } from "../core/errors.ts";
import type { EventBase } from "../core/event.ts";
import { mutableCopy, type CoreState } from "../core/reducer.ts";
import type { Condition } from "./condition.ts";
import type { AnyModel } from "./seeker.ts";

export interface MinimizeOptions {
  /** Most candidate replays (the whole job's bound); the best failing candidate so far is kept. */
  readonly budget?: number;
  /** Called after every candidate replay (the CLI's progress line). */
  readonly onProgress?: (replays: number, size: number) => void;
}

export interface MinimizeResult {
  /** The failing events, re-indexed densely from 0, with their original times. */
  readonly events: readonly EventBase[];
  /** Their indices in the original trace. */
  readonly kept: readonly number[];
  readonly originalCount: number;
  /** Where the original first fails (the prefix after it is dropped before ddmin starts). */
  readonly firstFailure: number;
  readonly replays: number;
  /** True when the budget ran out before ddmin reached a 1-minimal candidate. */
  readonly budgetExhausted: boolean;
}

type Verdict = "fail" | "pass" | "unresolved";

/**
 * Shrinks a failing event list to a small one that still fails (Zeller's ddmin). A candidate is a
 * subsequence of the events, re-indexed with dense `seq` and their original `t` (so time stays
 * monotonic); it fails when the condition holds after any of its events. A candidate the reducer
 * rejects (an event that cannot happen without the ones removed: a trace error) is "unresolved",
 * never a failure. Result is 1-minimal (removing any one event makes it pass) unless the budget ran out.
 */
export function minimize<S extends CoreState>(
  model: AnyModel<S>,
  genesis: S,
  events: readonly EventBase[],
  bad: Condition<S>,
  options: MinimizeOptions = {},
): MinimizeResult | null {
  const budget = options.budget ?? 2_000;
  let replays = 0;
  const run = (kept: readonly number[]): { verdict: Verdict; at: number } => {
    replays += 1;
    const r = replayCandidate(model, genesis, events, kept, bad);
    options.onProgress?.(replays, kept.length);
    return r;
  };
  const all = events.map((_, i) => i);
  const first = run(all);
  if (first.verdict !== "fail") return null;
  // Holding before any event, it holds for the empty trace too: nothing an event did to minimise.
  if (first.at === -1) die("ARGUMENT_INVALID", `${bad.label} already in the genesis state, before any event: there is nothing to minimise`);
  const memo = new Map<string, boolean>();
  const fails = (kept: readonly number[]): boolean => {
    const key = kept.join(",");
    let v = memo.get(key);
    if (v === undefined) {
      v = run(kept).verdict === "fail";
      memo.set(key, v);
    }
    return v;
  };
  const prefix = all.slice(0, first.at + 1);
  const { kept, exhausted } = ddmin(prefix, fails, () => replays >= budget);
  return {
    events: kept.map((k, seq) => ({ ...events[k]!, seq })),
    kept,
    originalCount: events.length,
    firstFailure: first.at,
    replays,
    budgetExhausted: exhausted,
  };
}

/** Replays a candidate on the fast path; `at` is the candidate index where the condition first held. */
function replayCandidate<S extends CoreState>(
  model: AnyModel<S>,
  genesis: S,
  events: readonly EventBase[],
  kept: readonly number[],
  bad: Condition<S>,
): { verdict: Verdict; at: number } {
  if (bad.test(genesis)) return { verdict: "fail", at: -1 };
  const working = mutableCopy(genesis);
  for (let seq = 0; seq < kept.length; seq++) {
    try {
      model.apply(working, { ...events[kept[seq]!]!, seq });
    } catch (e) {
      if (isHvsimError(e)) return { verdict: "unresolved", at: seq };
      throw e;
    }
    if (bad.test(working)) return { verdict: "fail", at: seq };
  }
  return { verdict: "pass", at: -1 };
}

/** ddmin over a list known to fail: try each chunk, then each complement, refining granularity. */
function ddmin(
  start: readonly number[],
  fails: (c: readonly number[]) => boolean,
  outOfBudget: () => boolean,
): { kept: readonly number[]; exhausted: boolean } {
  let c = start;
  let n = 2;
  if (c.length > 0 && !outOfBudget() && fails([])) return { kept: [], exhausted: false };
  while (c.length >= 2) {
    if (outOfBudget()) return { kept: c, exhausted: true };
    const chunks = split(c, n);
    const smaller = chunks.find((chunk) => !outOfBudget() && fails(chunk));
    if (smaller !== undefined) {
      c = smaller;
      n = 2;
      continue;
    }
    const complement = chunks.map((_, i) => chunks.filter((_, j) => j !== i).flat()).find((comp) => !outOfBudget() && fails(comp));
    if (complement !== undefined) {
      c = complement;
      n = Math.max(n - 1, 2);
      continue;
    }
    // Some tests may have been skipped for want of budget: then c is not known to be 1-minimal.
    if (outOfBudget()) return { kept: c, exhausted: true };
    if (n >= c.length) break;
    n = Math.min(c.length, n * 2);
  }
  return { kept: c, exhausted: false };
}

function split(c: readonly number[], n: number): number[][] {
  const out: number[][] = [];
  let at = 0;
  for (let i = 0; i < n; i++) {
    const size = Math.floor((c.length - at) / (n - i));
    out.push(c.slice(at, at + size));
    at += size;
  }
  return out.filter((x) => x.length > 0);
}
