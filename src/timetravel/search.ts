import { canonicalString } from "../core/hash.ts";
import type { EventBase } from "../core/event.ts";
import type { CoreState } from "../core/reducer.ts";
import { MISSING, lookup, type PathSegment } from "./paths.ts";
import type { Seeker } from "./seeker.ts";

/**
 * A probe looks at the state after each event of a walk and says "stop here". It is made from the
 * state just before the walk starts, so a probe that watches for a change knows the old value.
 */
export type ProbeFactory<S> = (before: S) => (state: S, ev: EventBase, i: number) => boolean;

/** The first index in `from..to` where the probe fires, or -1. One walk on the fast path. */
export function findNext<S extends CoreState>(seeker: Seeker<S>, from: number, probe: ProbeFactory<S>, to = seeker.count - 1): number {
  if (from > to) return -1;
  const test = probe(seeker.stateAt(from - 1));
  return seeker.walk(from, to, (i, s, ev) => test(s, ev, i));
}

/**
 * The last index in `to..from` (searching backwards from `from`) where the probe fires, or -1.
 * Walks one checkpoint interval at a time, latest first, replaying each forward from its
 * checkpoint (how reverse execution works everywhere: QEMU's reverse-continue, rr, Undo).
 */
export function findPrev<S extends CoreState>(seeker: Seeker<S>, from: number, probe: ProbeFactory<S>, to = 0): number {
  let hi = from;
  while (hi >= to) {
    const width = seeker.checkpointInterval;
    // Windows start just after a checkpoint index (checkpoints sit at i with (i + 1) % width == 0).
    const start = Math.max(to, hi - (hi % width));
    const test = probe(seeker.stateAt(start - 1));
    let last = -1;
    seeker.walk(start, hi, (i, s, ev) => {
      if (test(s, ev, i)) last = i;
      return false;
    });
    if (last !== -1) return last;
    hi = start - 1;
  }
  return -1;
}

/** Key of a value for change detection: canonical text, so equal data compares equal. */
const keyOf = (v: unknown): string => (v === MISSING ? "\u0000absent" : canonicalString(v));

/** Fires at an event that changed the value at any of `paths`. */
export function changeProbe<S>(paths: readonly (readonly PathSegment[])[]): ProbeFactory<S> {
  return (before) => {
    const last = paths.map((p) => keyOf(lookup(before, p)));
    return (state) => {
      let changed = false;
      for (let k = 0; k < paths.length; k++) {
        const now = keyOf(lookup(state, paths[k]!));
        if (now !== last[k]) {
          last[k] = now;
          changed = true;
        }
      }
      return changed;
    };
  };
}

/** An event filter: `kind`, plus `field=value` pairs compared as text (`vm=3`, `call=0x33`). */
export interface EventFilter {
  readonly kind?: string;
  readonly fields: readonly { readonly name: string; readonly value: string }[];
}

export function eventMatches(ev: EventBase, f: EventFilter): boolean {
  if (f.kind !== undefined && f.kind !== "*" && ev.kind !== f.kind) return false;
  const rec = ev as unknown as Record<string, unknown>;
  return f.fields.every(({ name, value }) => fieldEquals(rec[name], value));
}

/** `3`, `0x3`, `0b11` all match 3 or 3n; other values compare by their text. */
function fieldEquals(actual: unknown, wanted: string): boolean {
  if (typeof actual === "number" || typeof actual === "bigint") {
    try {
      return BigInt(actual) === BigInt(wanted.replace(/_/g, ""));
    } catch {
      return false;
    }
  }
  return String(actual) === wanted;
}

/**
 * Event-only search: reads events from the store without replaying state (cheap). Returns the
 * first (dir 1) or last (dir -1) matching index strictly after/before `from`, or -1.
 */
export function findEvent(seeker: { count: number; event(i: number): EventBase }, from: number, dir: 1 | -1, f: EventFilter): number {
  for (let i = from + dir; i >= 0 && i < seeker.count; i += dir) if (eventMatches(seeker.event(i), f)) return i;
  return -1;
}
