import type { Patch } from "immer";
import { plainEqual } from "../core/equal.ts";
import { MISSING, lookup, type Lookup, type PathSegment } from "./paths.ts";

/** One difference between two states (or one change an event made): where, what it was, what it became. */
export interface Change {
  readonly path: readonly PathSegment[];
  /** MISSING when the path did not exist before (added). */
  readonly before: Lookup;
  /** MISSING when the path no longer exists (removed). */
  readonly after: Lookup;
}

export interface DiffResult {
  readonly changes: readonly Change[];
  /** True when more than `limit` differences existed and the list was cut. */
  readonly truncated: boolean;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

/**
 * Structural diff of two plain-data values, depth first in key order: objects by key, arrays by
 * index (a changed length shows as added or removed indices), leaves by value. Shared subtrees
 * (immer snapshots share unchanged data) are skipped by identity, so diffing two nearby states is
 * proportional to what changed. Bounded by `limit` entries.
 */
export function diffStates(a: unknown, b: unknown, limit = 200): DiffResult {
  const changes: Change[] = [];
  let truncated = false;
  const walk = (x: unknown, y: unknown, path: PathSegment[]): void => {
    if (truncated || x === y) return;
    if (Array.isArray(x) && Array.isArray(y)) {
      const n = Math.max(x.length, y.length);
      for (let i = 0; i < n; i++) walk(i < x.length ? x[i] : MISSING, i < y.length ? y[i] : MISSING, [...path, i]);
      return;
    }
    if (isRecord(x) && isRecord(y)) {
      const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
      for (const k of keys) walk(Object.hasOwn(x, k) ? x[k] : MISSING, Object.hasOwn(y, k) ? y[k] : MISSING, [...path, k]);
      return;
    }
    if (x !== MISSING && y !== MISSING && plainEqual(x, y)) return;
    if (changes.length >= limit) {
      truncated = true;
      return;
    }
    changes.push({ path, before: x, after: y });
  };
  walk(a, b, []);
  return { changes, truncated };
}

/**
 * Turns immer patches (the change one event made) into readable changes with before-values taken
 * from the state the event was applied to. Patches are correct but not minimal (immer may replace a
 * whole array), so a replaced container is expanded into its leaf differences.
 */
export function changesFromPatches(before: unknown, after: unknown, patches: readonly Patch[], limit = 200): DiffResult {
  const out: Change[] = [];
  let truncated = false;
  for (const p of patches) {
    const path = p.path as PathSegment[];
    const old = lookup(before, path);
    const now = lookup(after, path);
    const sub = diffStates(old, now, limit - out.length);
    for (const c of sub.changes) out.push({ path: [...path, ...c.path], before: c.before, after: c.after });
    if (sub.truncated || out.length >= limit) {
      truncated = sub.truncated || patches.indexOf(p) < patches.length - 1;
      break;
    }
  }
  return { changes: dedupe(out), truncated };
}

/** immer can emit two patches for one path (e.g. length then index); keep the first of each. */
function dedupe(changes: Change[]): Change[] {
  const seen = new Set<string>();
  return changes.filter((c) => {
    const key = c.path.map(String).join("\u0000");
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Changes other than the envelope's `seq` and `t`, which every event writes. */
export const withoutEnvelope = (changes: readonly Change[]): Change[] =>
  changes.filter((c) => !(c.path.length === 1 && (c.path[0] === "seq" || c.path[0] === "t")));
