import { plainEqual } from "../core/equal.ts";
import { die } from "../core/errors.ts";
import { MISSING, checkPathShape, lookupResolved, resolveSegments, type Lookup, type ResolvedPath } from "./paths.ts";
import { parsePredicate, type CompareOp, type Node } from "./predicate-parse.ts";

/**
 * Predicates over a state (bisect --until, minimize --until, debug find). Semantics, kept small:
 * - a path that does not exist evaluates to "absent": every comparison with it is false (even
 *   `!=`), and it is falsy; test for it with `exists(path)`;
 * - numbers and bigints compare by value (`x[0] == 0x1` holds for a bigint register);
 * - `==`/`!=` on objects and arrays compare structure; `<`.. compare two numbers or two strings
 *   (null, like absent, is false), and ordering anything else is a usage error naming the types,
 *   as is a function given a value of the wrong type: a predicate that can never hold must not
 *   answer "never" (bisect would call that good);
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
  if (v === MISSING || v === null) return MISSING;
  if (typeof v !== "object") throw new PredicateTypeError(`len() takes an array, string, byte array or object, got ${typeName(v)}`);
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

/** A path in a predicate, resolved once (keys typed by name), with where it sits in the source. */
interface PathRef {
  readonly p: ResolvedPath;
  readonly column: number;
  /** Inside exists(): asking whether it is there, so an impossible path is still a fair question. */
  readonly probing: boolean;
}

/**
 * Parses and checks a predicate once; evaluating it afterwards never throws on absent paths. A path
 * that cannot exist in a state of this shape (`foo.bar`, a misspelt key) is a usage error naming it:
 * checked against `shape` (the trace's genesis state) when given, else against the first state the
 * predicate is evaluated on.
 */
export function compilePredicate(source: string, functions: FunctionRegistry = registry, shape?: unknown): Predicate {
  if (source.trim() === "") die("ARGUMENT_INVALID", "predicate: empty expression (example: hypercallCounts.msgqueue_send >= 3)");
  const refs: PathRef[] = [];
  const ast = resolveNode(source, parsePredicate(source, (name) => functions.get(name)?.arity), refs, false);
  let checked = false;
  const checkShape = (state: unknown): void => {
    checked = true;
    for (const r of refs) if (!r.probing) checkPathShape(state, r.p, `predicate '${source}': column ${r.column}`);
  };
  if (shape !== undefined) checkShape(shape);
  const evaluate = (state: unknown): Lookup => {
    if (!checked) checkShape(state);
    try {
      return evalNode(ast, state, functions);
    } catch (e) {
      if (e instanceof PredicateTypeError) die("ARGUMENT_INVALID", `predicate '${source}': ${e.message}${typeof (state as { seq?: unknown }).seq === "number" ? ` (after event ${(state as { seq: number }).seq})` : ""}`);
      throw e;
    }
  };
  return { source, paths: [...new Set(refs.map((r) => r.p.text))], evaluate, test: (s) => truthy(evaluate(s)) };
}

/** The compiled tree: the parsed one with every path resolved. */
type Expr =
  | { readonly type: "literal"; readonly value: unknown }
  | { readonly type: "path"; readonly p: ResolvedPath }
  | { readonly type: "not"; readonly operand: Expr }
  | { readonly type: "logic"; readonly op: "&&" | "||"; readonly left: Expr; readonly right: Expr }
  | { readonly type: "compare"; readonly op: CompareOp; readonly left: Expr; readonly right: Expr }
  | { readonly type: "call"; readonly name: string; readonly args: readonly Expr[] };

/** Resolves every path's keys (names of keyed records) once, at compile time, collecting them. */
function resolveNode(src: string, n: Node, out: PathRef[], probing: boolean): Expr {
  switch (n.type) {
    case "literal":
      return n;
    case "path": {
      let p: ResolvedPath;
      try {
        p = resolveSegments(n.text, n.segments);
      } catch (e) {
        return die("ARGUMENT_INVALID", `predicate '${src}': column ${n.column}: ${(e as Error).message.replace(/^path '[^']*': /, "")}`);
      }
      out.push({ p, column: n.column, probing });
      return { type: "path", p };
    }
    case "not":
      return { type: "not", operand: resolveNode(src, n.operand, out, probing) };
    case "logic":
      return { type: "logic", op: n.op, left: resolveNode(src, n.left, out, probing), right: resolveNode(src, n.right, out, probing) };
    case "compare":
      return { type: "compare", op: n.op, left: resolveNode(src, n.left, out, probing), right: resolveNode(src, n.right, out, probing) };
    case "call":
      return { type: "call", name: n.name, args: n.args.map((a) => resolveNode(src, a, out, probing || n.name === "exists")) };
  }
}

function evalNode(n: Expr, state: unknown, fns: FunctionRegistry): Lookup {
  switch (n.type) {
    case "literal":
      return n.value;
    case "path":
      return lookupResolved(state, n.p);
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
      const args = n.args.map((a) => ({ value: evalNode(a, state, fns), ...(a.type === "path" ? { path: a.p.text } : {}) }));
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
  if (!ordered) {
    if (a === null || b === null) return false;
    throw new PredicateTypeError(`'${op}' orders two numbers or two strings, got ${typeName(a)} ${op} ${typeName(b)}`);
  }
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

/** A value of the wrong type met while evaluating: said as a usage error by `evaluate`, with the predicate. */
export class PredicateTypeError extends Error {}

/** What a value is, for those messages. */
export function typeName(v: unknown): string {
  if (Array.isArray(v)) return "a list";
  if (v instanceof Uint8Array) return "bytes";
  if (typeof v === "bigint") return "a number";
  if (typeof v === "object") return "an object";
  return `a ${typeof v}`;
}
