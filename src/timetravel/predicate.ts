import { plainEqual } from "../core/equal.ts";
import { die } from "../core/errors.ts";
import { MISSING, lookup, type Lookup } from "./paths.ts";
import { parsePredicate, type CompareOp, type Node } from "./predicate-parse.ts";

/**
 * Predicates over a state (bisect --until, minimize --until, debug find). Semantics, kept small:
 * - a path that does not exist evaluates to "absent": every comparison with it is false (even
 *   `!=`), and it is falsy; test for it with `exists(path)`;
 * - numbers and bigints compare by value (`x[0] == 0x1` holds for a bigint register);
 * - `==`/`!=` on objects and arrays compare structure; `<`.. compare two numbers or two strings;
 * - falsy: absent, null, false, 0, 0n, "".
 */
export interface PredicateArg {
  readonly value: Lookup;
  /** The argument's text when it was a bare path (so a function can name it). */
  readonly path?: string;
}

/**
 * A function callable from predicates. The model can register its own (e.g. `owner(pa)`, which
 * resolves the owner VM of a physical address through its memory database) with
 * `registerPredicateFunction` at start-up.
 */
export interface PredicateFunction {
  readonly name: string;
  readonly arity: number;
  /** One line for `help`. */
  readonly description: string;
  call(args: readonly PredicateArg[], state: unknown): unknown;
}

export type FunctionRegistry = ReadonlyMap<string, PredicateFunction>;

const registry = new Map<string, PredicateFunction>();

/** Adds a function to the default registry; a name registered twice is a simulator bug. */
export function registerPredicateFunction(fn: PredicateFunction): void {
  if (registry.has(fn.name)) throw new Error(`predicate function '${fn.name}' registered twice`);
  registry.set(fn.name, fn);
}

export const predicateFunctions = (): FunctionRegistry => registry;

registerPredicateFunction({
  name: "len",
  arity: 1,
  description: "len(path): length of an array, string or byte array; for a collection {ids, byId}, ids.length; for an object, its key count",
  call: ([a]) => lengthOf(a!.value),
});
registerPredicateFunction({
  name: "exists",
  arity: 1,
  description: "exists(path): true when the path exists in the state",
  call: ([a]) => a!.value !== MISSING,
});

function lengthOf(v: Lookup): Lookup {
  if (typeof v === "string" || Array.isArray(v) || v instanceof Uint8Array) return v.length;
  if (typeof v !== "object" || v === null) return MISSING;
  const ids = (v as { ids?: unknown }).ids;
  return Array.isArray(ids) ? ids.length : Object.keys(v).length;
}

export interface Predicate {
  readonly source: string;
  /** Text of every state path the predicate reads, in order of appearance (for reports). */
  readonly paths: readonly string[];
  evaluate(state: unknown): Lookup;
  test(state: unknown): boolean;
}

/** Parses and checks a predicate once; evaluating it afterwards never throws on absent paths. */
export function compilePredicate(source: string, functions: FunctionRegistry = registry): Predicate {
  if (source.trim() === "") die("ARGUMENT_INVALID", "predicate: empty expression (example: hypercallCounts.0x33 >= 3)");
  const ast = parsePredicate(source, (name) => functions.get(name)?.arity);
  const paths: string[] = [];
  collectPaths(ast, paths);
  const evaluate = (state: unknown): Lookup => evalNode(ast, state, functions);
  return { source, paths: [...new Set(paths)], evaluate, test: (s) => truthy(evaluate(s)) };
}

function collectPaths(n: Node, out: string[]): void {
  if (n.type === "path") out.push(n.text);
  else if (n.type === "not") collectPaths(n.operand, out);
  else if (n.type === "logic" || n.type === "compare") {
    collectPaths(n.left, out);
    collectPaths(n.right, out);
  } else if (n.type === "call") for (const a of n.args) collectPaths(a, out);
}

function evalNode(n: Node, state: unknown, fns: FunctionRegistry): Lookup {
  switch (n.type) {
    case "literal":
      return n.value;
    case "path":
      return lookup(state, n.segments);
    case "not":
      return !truthy(evalNode(n.operand, state, fns));
    case "logic": {
      const left = truthy(evalNode(n.left, state, fns));
      if (n.op === "&&") return left && truthy(evalNode(n.right, state, fns));
      return left || truthy(evalNode(n.right, state, fns));
    }
    case "compare":
      return compare(n.op, evalNode(n.left, state, fns), evalNode(n.right, state, fns));
    case "call": {
      const args = n.args.map((a) => ({ value: evalNode(a, state, fns), ...(a.type === "path" ? { path: a.text } : {}) }));
      return fns.get(n.name)!.call(args, state);
    }
  }
}

export function truthy(v: Lookup): boolean {
  return !(v === MISSING || v === null || v === false || v === 0 || v === 0n || v === "" || v === undefined);
}

const isNumeric = (v: unknown): v is number | bigint => typeof v === "number" || typeof v === "bigint";

function compare(op: CompareOp, a: Lookup, b: Lookup): boolean {
  if (a === MISSING || b === MISSING) return false;
  if (op === "==" || op === "!=") {
    const eq = isNumeric(a) && isNumeric(b) ? numericEqual(a, b) : plainEqual(a, b);
    return op === "==" ? eq : !eq;
  }
  const ordered = (isNumeric(a) && isNumeric(b)) || (typeof a === "string" && typeof b === "string");
  if (!ordered) return false;
  const x = a as number | bigint | string;
  const y = b as number | bigint | string;
  switch (op) {
    case "<":
      return x < y;
    case "<=":
      return x <= y;
    case ">":
      return x > y;
    case ">=":
      return x >= y;
  }
}

function numericEqual(a: number | bigint, b: number | bigint): boolean {
  if (typeof a === typeof b) return a === b;
  const n = (typeof a === "number" ? a : b) as number;
  const big = (typeof a === "bigint" ? a : b) as bigint;
  return Number.isInteger(n) && BigInt(n) === big;
}
