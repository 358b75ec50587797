import { cpuView, isCpuState } from "../cpu/index.ts";
import { formatPath, keyedRecordAt, MISSING, type Lookup, type PathSegment } from "./paths.ts";

/**
 * How state values read to a person: addresses in hex, keys of keyed records by name (hypercall
 * counts by Gunyah's call names), byte arrays by the bytes that changed. One module, so `state`,
 * the debugger, `diff`, `why` and `bisect` all print values the same way.
 */

/**
 * Fields that hold addresses (IPAs, PAs, MMIO bases, DMA addresses, virtqueue rings, the PC), by
 * name: `ipa`, `pa`, `base`, `gicd_base`, `baseAddress`, `ownerIpa`, `guestPhysAddr`, ...
 */
const ADDRESS_KEY = /^(?:addr|address|base|ipa|ipas|pa|gpa|iova|pc|vbase|s2pa|desc|driver|device)$|(?:Addr|Address|Base|Ipa|Pa|_base|_addr)$/;

export const isAddressKey = (key: PathSegment | undefined): boolean => typeof key === "string" && ADDRESS_KEY.test(key);

const hex = (n: number | bigint): string => (n < 0 ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`);

/** The last named key of a path (array items of `ipas` are addresses too). */
function fieldOf(path: readonly PathSegment[]): PathSegment | undefined {
  for (let i = path.length - 1; i >= 0; i--) if (typeof path[i] === "string" && !/^\d+$/.test(path[i] as string)) return path[i];
  return undefined;
}

/** A key as a person reads it: a keyed record's key by name. */
function keyLabel(parent: readonly PathSegment[], key: string): string {
  return keyedRecordAt(parent)?.label(key) ?? key;
}

/** The path with keyed records' keys by name: `hypercallCounts.msgqueue_send`. */
export function readablePath(segments: readonly PathSegment[]): string {
  return formatPath(segments.map((s, i) => (typeof s === "string" ? keyLabel(segments.slice(0, i), s) : s)));
}

/**
 * JSON-ready data for outputs read by scripts and people: numbers stay numbers and an address field
 * gains a `<field>Hex` string beside it; keyed records' keys read by name; bigints as "0x..." strings
 * and byte arrays as hex strings (as toJson does).
 */
export function readableJsonValue(v: unknown, path: readonly PathSegment[] = []): unknown {
  return shaped(v, path, "json");
}

export const readableJson = (v: unknown, indent?: number, path: readonly PathSegment[] = []): string => JSON.stringify(readableJsonValue(v, path), null, indent);

/** Marks a string that stands for a bare hex number in text mode (unquoted after stringify). */
const BARE = "\u0001";

/**
 * JSON-like text for a person (the debugger's `print`): like readableJson, but an address reads as
 * a bare hex number in its place (`"ipa": 0x80400000`), as a debugger prints it. Not JSON.
 */
export function readableText(v: unknown, indent?: number, path: readonly PathSegment[] = []): string {
  // JSON.stringify writes the marker as the escape \u0001.
  return JSON.stringify(shaped(v, path, "text"), null, indent).replace(/"\\u0001(-?0x[0-9a-f]+)"/g, "$1");
}

function shaped(v: unknown, path: readonly PathSegment[], mode: "json" | "text"): unknown {
  // A CPU state reads as its registers by name, then the rest of it (the bytes are not for people).
  if (isCpuState(v)) {
    const { regs: _regs, ...rest } = v;
    return { ...cpuView(v), ...(shaped(rest, path, mode) as Record<string, unknown>) };
  }
  if (typeof v === "bigint") return mode === "text" ? `${BARE}${hex(v)}` : hex(v);
  if (typeof v === "number" && mode === "text" && Number.isInteger(v) && isAddressKey(fieldOf(path))) return `${BARE}${hex(v)}`;
  if (v instanceof Uint8Array) return Buffer.from(v).toString("hex");
  if (Array.isArray(v)) return v.map((x, i) => shaped(x, [...path, i], mode));
  if (typeof v !== "object" || v === null) return v;
  const out: Record<string, unknown> = {};
  const keyed = keyedRecordAt(path) !== undefined;
  for (const [k, x] of Object.entries(v)) {
    out[keyed ? keyLabel(path, k) : k] = shaped(x, [...path, k], mode);
    if (mode === "text" || !isAddressKey(k) || Object.hasOwn(v, `${k}Hex`)) continue;
    if (typeof x === "number") out[`${k}Hex`] = hex(x);
    else if (Array.isArray(x) && x.length > 0 && x.every((e) => typeof e === "number")) out[`${k}Hex`] = x.map((e) => hex(e as number));
  }
  return out;
}

/**
 * A few words about a value, for overviews (`print` of a big value): `[3 items]`, `collection of
 * 57`, `{platform, protected}`, `<4096 bytes, all zero>`, or the value itself when short.
 */
export function summary(v: unknown, path: readonly PathSegment[] = []): string {
  if (Array.isArray(v)) return `[${v.length} item${v.length === 1 ? "" : "s"}]`;
  if (typeof v === "object" && v !== null && !(v instanceof Uint8Array)) {
    const ids = (v as { ids?: unknown }).ids;
    if (Array.isArray(ids) && typeof (v as { byId?: unknown }).byId === "object") return `collection of ${ids.length}${ids.length > 0 && ids.length <= 6 ? ` (ids ${ids.join(", ")})` : ""}`;
    const keys = Object.keys(v).map((k) => (keyedRecordAt(path) === undefined ? k : keyLabel(path, k)));
    const list = `{${keys.join(", ")}}`;
    return list.length <= 60 ? list : `{${keys.length} keys: ${keys.slice(0, 4).join(", ")}, ...}`;
  }
  return readableBrief(v, path, 60);
}

/**
 * One line for a person: addresses and registers in hex, byte arrays by their size, keyed records'
 * keys by name, long values cut. `MISSING` reads `(absent)`.
 */
export function readableBrief(v: Lookup, path: readonly PathSegment[] = [], maxChars = 120): string {
  if (v === MISSING) return "(absent)";
  const text = briefText(v, path);
  return text.length > maxChars ? `${text.slice(0, maxChars - 1)}…` : text;
}

function briefText(v: unknown, path: readonly PathSegment[]): string {
  if (typeof v === "bigint") return hex(v);
  if (typeof v === "number") return isAddressKey(fieldOf(path)) && Number.isInteger(v) ? hex(v) : String(v);
  if (v instanceof Uint8Array) return bytesSummary(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v !== "object" || v === null) return String(v);
  if (Array.isArray(v)) return `[${v.map((x, i) => briefText(x, [...path, i])).join(",")}]`;
  const keyed = keyedRecordAt(path) !== undefined;
  const parts = Object.entries(v).map(([k, x]) => `${JSON.stringify(keyed ? keyLabel(path, k) : k)}:${briefText(x, [...path, k])}`);
  return `{${parts.join(",")}}`;
}

/** `<4096 bytes, all zero>`, `<16 bytes: 5a5a…>`: what a byte array holds, in a few characters. */
function bytesSummary(b: Uint8Array): string {
  if (b.every((x) => x === 0)) return `<${b.length} bytes, all zero>`;
  if (b.length <= 16) return `<${b.length} bytes: ${Buffer.from(b).toString("hex")}>`;
  return `<${b.length} bytes: ${Buffer.from(b.subarray(0, 8)).toString("hex")}…>`;
}

/** Runs of differing bytes, as [first, last] inclusive (a length change counts as changed bytes). */
export function changedRanges(a: Uint8Array, b: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  const n = Math.max(a.length, b.length);
  let start = -1;
  for (let i = 0; i <= n; i++) {
    const differs = i < n && (i >= a.length || i >= b.length || a[i] !== b[i]);
    if (differs && start < 0) start = i;
    if (!differs && start >= 0) {
      out.push([start, i - 1]);
      start = -1;
    }
  }
  return out;
}

const RANGES_SHOWN_MAX = 4;
const BYTES_SHOWN_MAX = 8;

/** `[0x40..0x7f] 64 bytes: 0000… -> 5a5a…`, the changed byte ranges of one byte array, for a change line. */
function bytesChange(a: Uint8Array, b: Uint8Array): string {
  const ranges = changedRanges(a, b);
  const changed = ranges.reduce((n, [lo, hi]) => n + hi - lo + 1, 0);
  const show = (x: Uint8Array, lo: number, hi: number): string => {
    const part = Buffer.from(x.subarray(lo, Math.min(hi + 1, lo + BYTES_SHOWN_MAX))).toString("hex");
    return hi - lo + 1 > BYTES_SHOWN_MAX ? `${part}…` : part || "(none)";
  };
  const parts = ranges.slice(0, RANGES_SHOWN_MAX).map(([lo, hi]) => `[${hex(lo)}..${hex(hi)}] ${show(a, lo, hi)} -> ${show(b, lo, hi)}`);
  const more = ranges.length > RANGES_SHOWN_MAX ? `, and ${ranges.length - RANGES_SHOWN_MAX} more ranges` : "";
  const size = a.length === b.length ? `${b.length} bytes` : `${a.length} -> ${b.length} bytes`;
  return `${changed} of ${size} changed: ${parts.join(", ")}${more}`;
}

/** One change as a person reads it: `path: before -> after`, byte arrays as their changed ranges. */
export function changeText(path: readonly PathSegment[], before: Lookup, after: Lookup): string {
  const where = readablePath(path);
  if (before instanceof Uint8Array && after instanceof Uint8Array) return `${where}: ${bytesChange(before, after)}`;
  return `${where}: ${readableBrief(before, path)} -> ${readableBrief(after, path)}`;
}
