import { canonicalString } from "../core/hash.ts";
import type { EventBase } from "../core/event.ts";
import { die } from "../core/errors.ts";
import { checkPathShape, lookupResolved, MISSING, resolvePath, type ResolvedPath } from "./paths.ts";
import { compilePredicate, type FunctionRegistry, type Predicate } from "./predicate.ts";
import { eventMatches, type EventFilter, type ProbeFactory } from "./search.ts";
import { checkKind, didYouMean } from "./words.ts";

/**
 * Where `continue` and `reverse-continue` stop: watchpoints (a state path whose value an event
 * changes) and breakpoints (an event of a kind whose fields match), each optionally with `if
 * PREDICATE` over the state after the event. Numbered together, as in gdb.
 */
export type Stop = Watchpoint | Breakpoint;
export interface Watchpoint {
  readonly type: "watch";
  readonly id: number;
  readonly text: string;
  readonly path: ResolvedPath;
  readonly condition: Predicate | null;
}
export interface Breakpoint {
  readonly type: "break";
  readonly id: number;
  readonly text: string;
  readonly filter: EventFilter;
  readonly condition: Predicate | null;
}

/** Splits `BODY if PREDICATE`. */
export function splitCondition(rest: string): { body: string; condition: string | null } {
  const m = /^(.*?)\s+if\s+(.+)$/s.exec(rest);
  return m === null ? { body: rest.trim(), condition: null } : { body: m[1]!.trim(), condition: m[2]!.trim() };
}

/** `KIND [field=value..]` (KIND may be `*`): an event filter, the kind checked against the model's kinds. */
export function parseFilter(args: readonly string[], kinds: readonly string[], eventFields?: Readonly<Record<string, readonly string[]>>): EventFilter {
  const [kind, ...rest] = args;
  if (kind === undefined) die("ARGUMENT_INVALID", "expected an event kind (or *) and optional field=value filters");
  checkKind("event kind", kind, kinds, true);
  // Every event has its index and time; then the kind's own fields (any kind's, for *).
  const known = eventFields === undefined ? null : ["seq", "t", ...(kind === "*" ? [...new Set(Object.values(eventFields).flat())] : (eventFields[kind] ?? []))];
  const fields = rest.map((a) => {
    const m = /^([\w$]+)=(.+)$/.exec(a);
    if (m === null) die("ARGUMENT_INVALID", `expected field=value, got '${a}'`);
    if (known !== null && !known.includes(m[1]!)) die("ARGUMENT_INVALID", `${kind === "*" ? "no event kind has" : `${kind} has no`} field '${m[1]}'${didYouMean(m[1]!, known)} (its fields: ${known.join(", ")})`);
    return { name: m[1]!, value: m[2]! };
  });
  return { kind, fields };
}

export function makeWatch(id: number, rest: string, state: unknown, functions?: FunctionRegistry): Watchpoint {
  const { body, condition } = splitCondition(rest);
  const path = resolvePath(body);
  checkPathShape(state, path, "watch");
  return { type: "watch", id, text: rest, path, condition: condition === null ? null : compilePredicate(condition, functions, state) };
}

export function makeBreak(id: number, rest: string, state: unknown, kinds: readonly string[], functions?: FunctionRegistry, eventFields?: Readonly<Record<string, readonly string[]>>): Breakpoint {
  const { body, condition } = splitCondition(rest);
  const filter = parseFilter(body.split(/\s+/).filter((w) => w !== ""), kinds, eventFields);
  return { type: "break", id, text: rest, filter, condition: condition === null ? null : compilePredicate(condition, functions, state) };
}

const keyOf = (v: unknown): string => (v === MISSING ? "\u0000absent" : canonicalString(v));

/** Does `stop` fire at an event that took the state from `before` to `after`? */
export function fires(stop: Stop, ev: EventBase, before: unknown, after: unknown): boolean {
  if (stop.type === "break" && !eventMatches(ev, stop.filter)) return false;
  if (stop.type === "watch" && keyOf(lookupResolved(before, stop.path)) === keyOf(lookupResolved(after, stop.path))) return false;
  return stop.condition === null || stop.condition.test(after);
}

/**
 * A probe for the seek engine's forward and backward searches: fires at the first event where any
 * stop fires. Watch values are carried along the walk, so each state is looked at once.
 */
export function stopsProbe<S>(stops: readonly Stop[]): ProbeFactory<S> {
  return (before) => {
    const last = stops.map((s) => (s.type === "watch" ? keyOf(lookupResolved(before, s.path)) : ""));
    return (state, ev) => {
      let hit = false;
      for (let k = 0; k < stops.length; k++) {
        const s = stops[k]!;
        if (s.type === "watch") {
          const now = keyOf(lookupResolved(state, s.path));
          if (now === last[k]) continue;
          last[k] = now;
        } else if (!eventMatches(ev, s.filter)) continue;
        if (s.condition === null || s.condition.test(state)) hit = true;
      }
      return hit;
    };
  };
}
