/**
 * Named invariants over the state. Each room exports its own; cross-room ones live beside this
 * registry. A check returns null when the property holds, or a violation naming the path and the
 * objects involved.
 */
export interface Violation {
  /** State path of the offending value, e.g. `memdb.ranges.3`. */
  readonly path: string;
  /** One sentence: what is wrong. */
  readonly detail: string;
  /** The objects involved, for the report (VM ids, cap ids, addresses). */
  readonly objects?: Readonly<Record<string, string | number>>;
}

export interface Invariant<S> {
  /** `room.snake_property`, e.g. `memdb.one_owner_per_page`. */
  readonly name: string;
  /** What the invariant promises, for `hvsim check --list` and the docs. */
  readonly description: string;
  check(state: S): Violation | null;
}

export interface InvariantFailure extends Violation {
  readonly invariant: string;
}

/** Runs the invariants in registry order; returns the first failure, or null. */
export function checkInvariants<S>(state: S, invariants: readonly Invariant<S>[]): InvariantFailure | null {
  for (const inv of invariants) {
    const v = inv.check(state);
    if (v !== null) return { invariant: inv.name, ...v };
  }
  return null;
}

/** Registry order is fixed and names are unique: a duplicate name is a simulator bug. */
export function registerInvariants<S>(groups: readonly (readonly Invariant<S>[])[]): readonly Invariant<S>[] {
  const seen = new Set<string>();
  const all: Invariant<S>[] = [];
  for (const group of groups) {
    for (const inv of group) {
      if (seen.has(inv.name)) throw new Error(`invariant '${inv.name}' registered twice`);
      seen.add(inv.name);
      all.push(inv);
    }
  }
  return all;
}
