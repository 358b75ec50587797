import { die } from "../core/errors.ts";
import type { Invariant } from "../core/invariants.ts";
import { compilePredicate, type FunctionRegistry } from "./predicate.ts";
import { didYouMean } from "./words.ts";

/**
 * A "bad" condition over a state, what bisect and minimize look for: a predicate that holds, or an
 * invariant that breaks. Tests pass their own (an invariant list or a predicate), the CLI builds one
 * from `--until EXPR` or `--invariant NAME`.
 */
export interface Condition<S> {
  /** For reports: "`expr` holds" or "invariant NAME breaks". */
  readonly label: string;
  /** True when the state is bad. Must not keep or change the state (it may be the fast path's working copy). */
  test(state: S): boolean;
  /** The state paths the condition reads (for reports); an invariant names its path when it breaks. */
  paths(state: S): readonly string[];
  /** One line about a bad state (an invariant's detail); empty for predicates. */
  detail(state: S): string;
}

/** `shape`: a state of the trace's shape (its genesis), to reject paths that cannot exist before searching. */
export function predicateCondition<S>(source: string, functions?: FunctionRegistry, shape?: S): Condition<S> {
  const p = compilePredicate(source, functions, shape);
  return {
    label: `\`${source}\` holds`,
    test: (s) => p.test(s),
    paths: () => p.paths,
    detail: () => "",
  };
}

export function invariantCondition<S>(inv: Invariant<S>): Condition<S> {
  return {
    label: `invariant ${inv.name} breaks`,
    test: (s) => inv.check(s) !== null,
    paths: (s) => {
      const v = inv.check(s);
      return v === null ? [] : [v.path];
    },
    detail: (s) => {
      const v = inv.check(s);
      if (v === null) return "";
      const objects = v.objects === undefined ? "" : ` ${JSON.stringify(v.objects)}`;
      return `${inv.name}: ${v.detail} [${v.path}]${objects}`;
    },
  };
}

/** Finds an invariant by name, or fails naming the ones that exist. */
export function findInvariant<S>(invariants: readonly Invariant<S>[], name: string): Invariant<S> {
  const inv = invariants.find((i) => i.name === name);
  if (inv !== undefined) return inv;
  const names = invariants.map((i) => i.name);
  const hint = didYouMean(name, names);
  const known = invariants.length === 0 ? " (this model registers none yet)" : hint !== "" ? hint : ` (known: ${names.join(", ")})`;
  return die("ARGUMENT_INVALID", `--invariant: unknown invariant '${name}'${known}`);
}

/** `--until EXPR` or `--invariant NAME`, exactly one of them. */
export function conditionFromOptions<S>(
  opts: { until?: string; invariant?: string },
  invariants: readonly Invariant<S>[],
  functions?: FunctionRegistry,
  shape?: S,
): Condition<S> {
  if ((opts.until === undefined) === (opts.invariant === undefined)) {
    die("ARGUMENT_INVALID", "give exactly one of --until PREDICATE or --invariant NAME");
  }
  return opts.until !== undefined ? predicateCondition<S>(opts.until, functions, shape) : invariantCondition(findInvariant(invariants, opts.invariant!));
}
