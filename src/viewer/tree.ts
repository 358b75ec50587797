import { die } from "../core/errors.ts";
import { MISSING, formatPath, lookup, type PathSegment } from "../timetravel/paths.ts";

/**
 * The machine state as a tree the page opens one node at a time: a node lists its children with a
 * one-line summary each, so the page never receives the whole state (a long trace's state is
 * megabytes, mostly page contents). Generic over plain data; knows nothing of the model.
 */
export type ValueType = "object" | "collection" | "array" | "bytes" | "string" | "number" | "bigint" | "boolean" | "null";

export interface TreeChild {
  readonly key: string;
  /** The child's path in the text form `formatPath` writes and `parsePath` reads. */
  readonly path: string;
  readonly type: ValueType;
  readonly summary: string;
  /** True when the child has no children to open. */
  readonly leaf: boolean;
}

export interface TreeNode {
  readonly path: string;
  readonly type: ValueType;
  readonly summary: string;
  readonly children: readonly TreeChild[];
  /** Children in all; `children` holds those from `offset`, at most `limit` of them. */
  readonly total: number;
  readonly offset: number;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

export function typeOf(v: unknown): ValueType {
  if (v === null || v === undefined) return "null";
  if (v instanceof Uint8Array) return "bytes";
  if (Array.isArray(v)) return "array";
  if (isRecord(v)) return Array.isArray(v.ids) && isRecord(v.byId) ? "collection" : "object";
  return typeof v as "string" | "number" | "bigint" | "boolean";
}

/** Integers this large are addresses or sizes more often than counts: show them in hex too. */
const HEX_FROM = 0x10000;

/** One line for a value: what a person needs to decide whether to open it. */
export function summarize(v: unknown): string {
  switch (typeOf(v)) {
    case "null":
      return "null";
    case "bytes": {
      const b = v as Uint8Array;
      const head = Buffer.from(b.subarray(0, 16)).toString("hex").replace(/(..)/g, "$1 ").trim();
      return `<${b.length} bytes>${b.length > 0 ? ` ${head}${b.length > 16 ? " …" : ""}` : ""}`;
    }
    case "array":
      return `[${(v as unknown[]).length}]`;
    case "collection":
      return `${(v as { ids: unknown[] }).ids.length} items`;
    case "object": {
      const n = Object.keys(v as object).length;
      return `{${n} ${n === 1 ? "key" : "keys"}}`;
    }
    case "string": {
      const s = JSON.stringify(v);
      return s.length > 200 ? `${s.slice(0, 199)}…"` : s;
    }
    case "number": {
      const n = v as number;
      return Number.isInteger(n) && n >= HEX_FROM ? `${n} (0x${n.toString(16)})` : String(n);
    }
    case "bigint":
      return `0x${(v as bigint).toString(16)}`;
    case "boolean":
      return String(v);
  }
}

const hasChildren = (v: unknown): boolean => {
  const t = typeOf(v);
  return t === "object" || t === "collection" ? Object.keys(v as object).length > 0 : t === "array" ? (v as unknown[]).length > 0 : false;
};

/** Children of a container in the order the data lists them (array indices, object keys). */
function childKeys(v: unknown): string[] {
  if (Array.isArray(v)) return v.map((_x, i) => String(i));
  return isRecord(v) ? Object.keys(v) : [];
}

/** The node at `path` in `state`, with children `offset .. offset+limit-1`. */
export function treeNode(state: unknown, segments: readonly PathSegment[], offset: number, limit: number): TreeNode {
  const v = lookup(state, segments);
  const path = formatPath(segments);
  if (v === MISSING) die("ARGUMENT_INVALID", `state path '${path}' does not exist at this event`);
  const keys = childKeys(v);
  const children: TreeChild[] = [];
  for (const key of keys.slice(offset, offset + limit)) {
    const seg: PathSegment = Array.isArray(v) ? Number(key) : key;
    const child = Array.isArray(v) ? v[Number(key)] : (v as Record<string, unknown>)[key];
    children.push({ key, path: formatPath([...segments, seg]), type: typeOf(child), summary: summarize(child), leaf: !hasChildren(child) });
  }
  return { path, type: typeOf(v), summary: summarize(v), children, total: keys.length, offset };
}

/** Every proper ancestor of each path, as text (root included): what the page marks as "changed below". */
export function ancestorsOf(paths: readonly (readonly PathSegment[])[]): string[] {
  const out = new Set<string>();
  for (const p of paths) for (let i = 0; i < p.length; i++) out.add(formatPath(p.slice(0, i)));
  return [...out];
}
