import { cpuView, isCpuState } from "../cpu/index.ts";
import { die } from "../core/errors.ts";
import { didYouMean } from "./words.ts";

/**
 * State paths as people type them: `vms.byId[3].status`, `hypercallCounts.0x33`, `a["odd key"]`.
 * A path is a list of segments (object keys or array indices); the text form is for display,
 * for the debugger's `print`/`watch`, and for predicates. Generic over any plain-data state.
 */
export type PathSegment = string | number;

/** Sentinel for "this path does not exist here" (state never holds undefined). */
export const MISSING: unique symbol = Symbol("missing");
export type Lookup = unknown | typeof MISSING;

/** `["a", 3, "0x33"]` -> `a[3].0x33`. Keys that are not word-like are quoted: `a["x y"]`. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = "";
  for (const seg of segments) {
    const s = String(seg);
    if (typeof seg === "number" || /^\d+$/.test(s)) out += `[${s}]`;
    else if (/^[\w$]+$/.test(s)) out += out === "" ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out === "" ? "(root)" : out;
}

/**
 * Parses a path's text form; `offset` is added to columns in error messages (when the path sits
 * inside a longer command line). Accepts `a.b`, `a[3]`, `a.3`, `a["k"]`, `a['k']`, `a.0x33`.
 */
export function parsePath(text: string, offset = 0): PathSegment[] {
  const segs: PathSegment[] = [];
  let i = 0;
  const fail = (what: string): never => die("ARGUMENT_INVALID", `path '${text}': column ${offset + i + 1}: ${what}`);
  if (text.trim() === "" || text === "(root)") return segs;
  while (i < text.length) {
    if (text[i] === "[") {
      const m = /^\[\s*(?:(\d+)|"((?:[^"\\]|\\.)*)"|'([^']*)')\s*\]/.exec(text.slice(i));
      if (m === null) fail("expected [index] or [\"key\"]");
      segs.push(m![1] !== undefined ? Number(m![1]) : m![2] !== undefined ? (JSON.parse(`"${m![2]}"`) as string) : m![3]!);
      i += m![0].length;
      continue;
    }
    if (segs.length > 0) {
      if (text[i] !== ".") fail(`expected '.' or '[' but found '${text[i]}'`);
      i += 1;
    }
    const m = /^[\w$]+/.exec(text.slice(i));
    if (m === null) fail("expected a key");
    segs.push(/^\d+$/.test(m![0]) ? Number(m![0]) : m![0]);
    i += m![0].length;
  }
  return segs;
}

/** Follows a path into plain data; MISSING when a segment does not exist. Uint8Array bytes are indexable. */
export function lookup(root: unknown, segments: readonly PathSegment[]): Lookup {
  let cur: unknown = root;
  for (const seg of segments) {
    if (typeof cur !== "object" || cur === null) return MISSING;
    // A vCPU's registers are bytes in the state; paths reach them by name (cpu.x0, cpu.pc, cpu.sp).
    if (isCpuState(cur) && !Object.hasOwn(cur, String(seg))) {
      const view = cpuView(cur);
      if (!Object.hasOwn(view, String(seg))) return MISSING;
      cur = view[String(seg)];
      continue;
    }
    if (cur instanceof Uint8Array) {
      const i = Number(seg);
      if (!Number.isInteger(i) || i < 0 || i >= cur.length) return MISSING;
      cur = cur[i];
      continue;
    }
    const key = String(seg);
    if (!Object.hasOwn(cur, key)) return MISSING;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** The child keys of a value (for tab completion), in the order the data lists them. */
export function childKeys(value: unknown): string[] {
  if (typeof value !== "object" || value === null || value instanceof Uint8Array) return [];
  if (isCpuState(value)) return [...Object.keys(cpuView(value)), ...Object.keys(value)];
  return Object.keys(value);
}

/** Is `a` a prefix of `b` (or equal)? Used to match patches against a watched path. */
export function isPrefix(a: readonly PathSegment[], b: readonly PathSegment[]): boolean {
  if (a.length > b.length) return false;
  for (let i = 0; i < a.length; i++) if (String(a[i]) !== String(b[i])) return false;
  return true;
}

/** Do two paths touch the same data (one contains the other)? */
export const pathsOverlap = (a: readonly PathSegment[], b: readonly PathSegment[]): boolean => isPrefix(a, b) || isPrefix(b, a);

/**
 * A short, one-line rendering of a value for human output: bigints in hex, long values cut.
 * `MISSING` prints as `(absent)`.
 */
export function brief(v: Lookup, maxChars = 120): string {
  if (v === MISSING) return "(absent)";
  const s = JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `0x${x.toString(16)}` : x instanceof Uint8Array ? `<${x.length} bytes>` : x));
  const text = s === undefined ? String(v) : s;
  return text.length > maxChars ? `${text.slice(0, maxChars - 1)}…` : text;
}

/**
 * A record the model keys in its own way, so people can type its keys by name: e.g. hypercall
 * counts stored under "0x1b" read as `hypercallCounts.msgqueue_send` too. Registered by the layer
 * that knows the model (src/timetravel/machine-paths.ts), so this module stays generic.
 */
export interface KeyedRecord {
  /** The record's own path, e.g. ["hypercallCounts"]. */
  readonly at: readonly string[];
  /** What the keys are, for messages: "a Gunyah hypercall". */
  readonly what: string;
  /** The stored key for a key as typed (a name, or a number in any base), or undefined if it names none. */
  key(typed: string): string | undefined;
  /** How a stored key reads to a person (its name), or undefined to keep it as stored. */
  label(stored: string): string | undefined;
  /** The names people may type (for completion and "did you mean"). */
  readonly names: readonly string[];
  /** What an absent key reads as (counters: 0); MISSING to leave it absent. */
  readonly absent: unknown;
}

const keyedRecords: KeyedRecord[] = [];

export function registerKeyedRecord(r: KeyedRecord): void {
  if (keyedRecords.some((k) => isPrefix(k.at, r.at) && isPrefix(r.at, k.at))) throw new Error(`keyed record ${r.at.join(".")} registered twice`);
  keyedRecords.push(r);
}

/** The keyed record whose path is exactly `parent`, if one is registered. */
export function keyedRecordAt(parent: readonly PathSegment[]): KeyedRecord | undefined {
  return keyedRecords.find((r) => r.at.length === parent.length && isPrefix(r.at, parent));
}

/** A path as typed, with keys of keyed records turned into their stored form; and what it reads when absent. */
export interface ResolvedPath {
  readonly text: string;
  readonly segments: readonly PathSegment[];
  readonly absent: unknown;
}

/**
 * Parses a path and resolves keys typed by name (`hypercallCounts.vcpu_run` -> `0x1b`). A key that
 * names nothing in a keyed record is an error naming the nearest names.
 */
export function resolvePath(text: string, offset = 0): ResolvedPath {
  return resolveSegments(text, parsePath(text, offset));
}

export function resolveSegments(text: string, typed: readonly PathSegment[]): ResolvedPath {
  const segments: PathSegment[] = [];
  let absent: unknown = MISSING;
  for (const seg of typed) {
    const rec = keyedRecordAt(segments);
    if (rec === undefined) {
      segments.push(seg);
      absent = MISSING;
      continue;
    }
    const key = rec.key(String(seg));
    if (key === undefined) die("ARGUMENT_INVALID", `path '${text}': '${String(seg)}' is not ${rec.what}${didYouMean(String(seg), rec.names)}`);
    segments.push(key);
    absent = rec.absent;
  }
  return { text, segments, absent };
}

/** Looks a resolved path up, reading an absent key of a keyed record as its default. */
export function lookupResolved(root: unknown, p: ResolvedPath): Lookup {
  const v = lookup(root, p.segments);
  return v === MISSING ? p.absent : v;
}

const ID_KEY = /^(?:\d+|0x[0-9a-f]+)$/i;

/** "'a.b.c' does not exist: a.b has no key 'c' (did you mean 'd'?)", for segment i missing under `parent`. */
function noKey(segments: readonly PathSegment[], i: number, parent: unknown): string {
  const whole = formatPath(segments.slice(0, i + 1));
  const here = i === 0 ? "the state" : formatPath(segments.slice(0, i));
  if (typeof parent !== "object" || parent === null) return `'${whole}' does not exist: ${here} is ${parent === null ? "null" : typeof parent === "string" ? "a string" : "a number"}, with no keys`;
  const key = String(segments[i]);
  if (Array.isArray(parent) || parent instanceof Uint8Array) return `'${whole}' does not exist: ${here} has ${parent.length} items`;
  const keys = Object.keys(parent);
  const hint = didYouMean(key, keys);
  return `'${whole}' does not exist: ${here} has no key '${key}'${hint !== "" ? hint : keys.length === 0 ? " (it is empty)" : ` (its keys: ${keys.slice(0, 12).join(", ")}${keys.length > 12 ? ", ..." : ""})`}`;
}

/**
 * Why `segments` can never exist in a state shaped like `state`, or null when it exists or may
 * come to exist. Only the fixed-shape part of the state is judged: named keys of records whose keys
 * are not ids. Arrays, byte arrays, empty records, records keyed by ids or numbers, keyed records,
 * null values, and anything inside a collection's item may grow or change shape: those are allowed.
 */
export function impossiblePath(state: unknown, segments: readonly PathSegment[]): string | null {
  let cur: unknown = state;
  for (let i = 0; i < segments.length; i++) {
    const key = String(segments[i]);
    if (cur === null || Array.isArray(cur) || cur instanceof Uint8Array) return null;
    if (typeof cur !== "object") return noKey(segments, i, cur);
    if (Object.hasOwn(cur, key)) {
      if (ID_KEY.test(key)) return null;
      cur = (cur as Record<string, unknown>)[key];
      continue;
    }
    const keys = Object.keys(cur);
    if (keys.length === 0 || keys.every((k) => ID_KEY.test(k)) || keyedRecordAt(segments.slice(0, i)) !== undefined) return null;
    return noKey(segments, i, cur);
  }
  return null;
}

/** Fails with one line unless `segments` may exist in a state shaped like `state` (see impossiblePath). */
export function checkPathShape(state: unknown, p: ResolvedPath, what: string): void {
  const why = impossiblePath(state, p.segments);
  if (why !== null) die("ARGUMENT_INVALID", `${what}: ${why}`, { path: p.text });
}

/** The value at a path that must exist here (`state --path`), or one line naming the first missing key. */
export function requirePath(state: unknown, text: string, where: string): unknown {
  const p = resolvePath(text);
  const v = lookupResolved(state, p);
  if (v !== MISSING) return v;
  let cur: unknown = state;
  let i = 0;
  for (; i < p.segments.length; i++) {
    const next = lookup(cur, [p.segments[i]!]);
    if (next === MISSING) break;
    cur = next;
  }
  return die("ARGUMENT_INVALID", `${where}: ${noKey(p.segments, i, cur)}`, { path: text });
}
