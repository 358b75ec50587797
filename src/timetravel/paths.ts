import { die } from "../core/errors.ts";

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
