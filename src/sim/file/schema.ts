/**
 * A small schema language for scenario files. Each check names the path of a bad value and what
 * was expected, so a user gets one precise line ("vms[1].memory: expected a size such as 64MiB").
 * Checks return the parsed value (sizes and durations become integers) or record an issue.
 */
export type Path = readonly (string | number)[];

export interface Issue {
  readonly path: Path;
  readonly expected: string;
  readonly got: string;
}

export interface Ctx {
  readonly issues: Issue[];
}

export type Schema<T> = (value: unknown, path: Path, ctx: Ctx) => T | undefined;

const describe = (v: unknown): string => {
  if (v === null || v === undefined) return "nothing";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return `'${v.length > 40 ? `${v.slice(0, 40)}…` : v}'`;
  return String(v);
};

function fail(ctx: Ctx, path: Path, expected: string, value: unknown): undefined {
  ctx.issues.push({ path, expected, got: describe(value) });
  return undefined;
}

export const str =
  (pattern?: RegExp, what = "a string"): Schema<string> =>
  (v, path, ctx) =>
    typeof v === "string" && (pattern === undefined || pattern.test(v)) ? v : fail(ctx, path, what, v);

export const bool: Schema<boolean> = (v, path, ctx) => (typeof v === "boolean" ? v : fail(ctx, path, "true or false", v));

export const int =
  (min = 0, max = Number.MAX_SAFE_INTEGER): Schema<number> =>
  (v, path, ctx) => {
    const n = typeof v === "string" && /^(0x[0-9a-f_]+|\d[\d_]*)$/i.test(v) ? Number(v.replace(/_/g, "")) : v;
    return typeof n === "number" && Number.isSafeInteger(n) && n >= min && n <= max
      ? n
      : fail(ctx, path, `an integer from ${min} to ${max}`, v);
  };

const SIZE_UNITS: Record<string, number> = { "": 1, B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };
/** "64MiB", "4KiB", 0x1000, 4096 -> bytes; at least `min` (a parcel of no pages is nothing to give). */
export const size =
  (alignBytes = 1, min = 0): Schema<number> =>
  (v, path, ctx) => {
    let n: number | undefined;
    if (typeof v === "number") n = v;
    else if (typeof v === "string") {
      const m = /^(0x[0-9a-f_]+|\d[\d_]*)\s*(B|KiB|MiB|GiB)?$/i.exec(v.trim());
      if (m !== null) n = Number(m[1]!.replace(/_/g, "")) * SIZE_UNITS[m[2] ?? ""]!;
    }
    if (n !== undefined && Number.isSafeInteger(n) && n >= 0 && n < min && n % alignBytes === 0) return fail(ctx, path, `a size of at least ${min} bytes`, v);
    return n !== undefined && Number.isSafeInteger(n) && n >= 0 && n % alignBytes === 0
      ? n
      : fail(ctx, path, `a size such as 64MiB or 0x1000${alignBytes > 1 ? `, a multiple of ${alignBytes} bytes` : ""}`, v);
  };

const TIME_UNITS: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9 };
/**
 * "10ms", "2s", "1500us" -> integer nanoseconds. A bare number is refused, as on the command line
 * (`--until 5`): 5 what? (Read as nanoseconds it would stop a run after its first event.)
 */
export const duration: Schema<number> = (v, path, ctx) => {
  let n: number | undefined;
  if (typeof v === "number") return fail(ctx, path, `a time with its unit (${v}ms, ${v}s, ${v}us or ${v}ns)`, v);
  if (typeof v === "string") {
    const m = /^(\d[\d_]*)\s*(ns|us|ms|s)$/.exec(v.trim());
    if (m !== null) n = Number(m[1]!.replace(/_/g, "")) * TIME_UNITS[m[2]!]!;
  }
  return n !== undefined && Number.isSafeInteger(n) && n >= 0 ? n : fail(ctx, path, "a time such as 10ms, 2s or 1500us", v);
};

export const oneOf =
  <T extends string>(values: readonly T[]): Schema<T> =>
  (v, path, ctx) =>
    typeof v === "string" && (values as readonly string[]).includes(v) ? (v as T) : fail(ctx, path, `one of ${values.join(", ")}`, v);

export const list =
  <T>(item: Schema<T>, opts: { min?: number; max?: number } = {}): Schema<T[]> =>
  (v, path, ctx) => {
    if (!Array.isArray(v)) return fail(ctx, path, "a list", v);
    const { min = 0, max = 100_000 } = opts;
    if (v.length < min || v.length > max) return fail(ctx, path, `a list of ${min} to ${max} items`, `${v.length} items`);
    const out: T[] = [];
    v.forEach((x, i) => {
      const r = item(x, [...path, i], ctx);
      if (r !== undefined) out.push(r);
    });
    return out;
  };

type Fields = Record<string, { schema: Schema<unknown>; required: boolean }>;
export const req = <T>(schema: Schema<T>) => ({ schema: schema as Schema<unknown>, required: true as const, _t: undefined as unknown as T });
export const opt = <T>(schema: Schema<T>) => ({ schema: schema as Schema<unknown>, required: false as const, _t: undefined as unknown as T | undefined });
type Parsed<F> = { [K in keyof F]: F[K] extends { _t: infer T } ? T : never };

/** A mapping with known keys: unknown keys are errors too (a typo must not be silently ignored). */
export const obj =
  <F extends Record<string, { schema: Schema<unknown>; required: boolean; _t: unknown }>>(fields: F): Schema<Parsed<F>> =>
  (v, path, ctx) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return fail(ctx, path, "a mapping", v);
    const rec = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(rec)) {
      if (!Object.hasOwn(fields, k)) fail(ctx, [...path, k], `one of the keys ${Object.keys(fields).join(", ")}`, `unknown key '${k}'`);
    }
    for (const [k, f] of Object.entries(fields as Fields)) {
      if (rec[k] === undefined) {
        if (f.required) fail(ctx, [...path, k], `'${k}' (required)`, undefined);
        continue;
      }
      const r = f.schema(rec[k], [...path, k], ctx);
      if (r !== undefined) out[k] = r;
    }
    return out as Parsed<F>;
  };

/** Validates, returning the parsed value or the issues. */
export function validate<T>(schema: Schema<T>, value: unknown): { ok: true; value: T } | { ok: false; issues: Issue[] } {
  const ctx: Ctx = { issues: [] };
  const r = schema(value, [], ctx);
  return ctx.issues.length === 0 && r !== undefined ? { ok: true, value: r } : { ok: false, issues: ctx.issues };
}

export const formatPath = (p: Path): string =>
  p.map((s, i) => (typeof s === "number" ? `[${s}]` : i === 0 ? s : `.${s}`)).join("") || "(top level)";

/**
 * Turns a parsed value into another (a step into its typed form); failures pass through. A mapping
 * with issues (a required key missing) is partial, so `f` is not run on it: the issues are reported.
 */
export const map =
  <A, B>(schema: Schema<A>, f: (a: A) => B): Schema<B> =>
  (v, path, ctx) => {
    const before = ctx.issues.length;
    const r = schema(v, path, ctx);
    return r === undefined || ctx.issues.length > before ? undefined : f(r);
  };

/** A probability as a ratio of integers, written "1/4" or "25%": no floats in the driver's choices. */
export const ratio: Schema<{ numerator: number; denominator: number }> = (v, path, ctx) => {
  const s = typeof v === "number" ? String(v) : typeof v === "string" ? v.trim() : "";
  const frac = /^(\d+)\s*\/\s*(\d+)$/.exec(s);
  const pct = /^(\d+)%$/.exec(s);
  const [n, d] = frac ? [Number(frac[1]), Number(frac[2])] : pct ? [Number(pct[1]), 100] : s === "0" || s === "1" ? [Number(s), 1] : [NaN, NaN];
  return Number.isSafeInteger(n) && Number.isSafeInteger(d) && d > 0 && n <= d ? { numerator: n, denominator: d } : fail(ctx, path, "a ratio such as 1/4 or 25%", v);
};

/**
 * One of several tagged shapes, written as a mapping with exactly one key (`- sleep: 5ms`) or, for
 * shapes that take no argument, as the bare name (`- boot`, the case's schema then sees null).
 * The path of a bad argument goes through the key: `guest[2].sleep`.
 */
export const variant =
  <T>(what: string, cases: Record<string, Schema<T>>): Schema<T> =>
  (v, path, ctx) => {
    const names = Object.keys(cases).join(", ");
    let key: string;
    let arg: unknown = null;
    let at: Path = path;
    if (typeof v === "string") key = v;
    else if (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 1) {
      key = Object.keys(v)[0]!;
      arg = (v as Record<string, unknown>)[key];
      at = [...path, key];
    } else return fail(ctx, path, `a ${what}: one of ${names}, or a mapping with one of them as its only key`, v);
    if (!Object.hasOwn(cases, key)) return fail(ctx, at, `a ${what}: one of ${names}`, key);
    return cases[key]!(arg, at, ctx);
  };

/** Accepts null (a bare variant name) as `dflt`; anything else goes to the schema. */
export const orNull =
  <T>(schema: Schema<T>, dflt: T): Schema<T> =>
  (v, path, ctx) =>
    v === null || v === undefined ? dflt : schema(v, path, ctx);

/** Either of two schemas, tried in order; the issue reported is `what`. */
export const either =
  <A, B>(what: string, a: Schema<A>, b: Schema<B>): Schema<A | B> =>
  (v, path, ctx) => {
    for (const s of [a, b] as Schema<A | B>[]) {
      const trial: Ctx = { issues: [] };
      const r = s(v, path, trial);
      if (trial.issues.length === 0 && r !== undefined) return r;
    }
    return fail(ctx, path, what, v);
  };
