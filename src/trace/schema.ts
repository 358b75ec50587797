/**
 * What each decoded record of a trace must look like before anything uses it. A CRC says the bytes
 * are the ones written; these checks say the values are ones a writer could have written, so a
 * trace edited by hand (with its checksums fixed up) is a named trace error, never a crash, a loop
 * without end or an allocation without bound. Each check returns null, or what is wrong, naming
 * the field ("events[12].kind: expected an event kind, got '__proto__'").
 */
import { FORMATS_READ, type FooterBody } from "./format.ts";
import { STATE_HASH_DEFINITIONS_READ, type StateHashDefinition } from "../core/hash.ts";
import { machineConfigProblem } from "../model/config.ts";
import { eventFieldsProblem } from "../model/event-fields.ts";

/** Deepest nesting a decoded value may have: far beyond any state, event or outcome the model makes. */
export const PLAIN_DEPTH_MAX = 48;
/** Bounds on header fields: well beyond what any writer uses, small enough to bound the work they cause. */
export const BLOCK_EVENTS_MAX = 1 << 20;
const TEXT_MAX = 4096;

const KIND = /^[a-z][a-z0-9_]{0,63}$/;
const HASH = /^[0-9a-f]{64}$/;

export const isSafeNat = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isMapping = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && Object.getPrototypeOf(v) === Object.prototype;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const CONTROL_ALL = new RegExp(CONTROL.source, "g");

const shown = (v: unknown): string => {
  // Control characters shown escaped: the message goes to a terminal.
  if (typeof v === "string") return `'${(v.length > 40 ? `${v.slice(0, 40)}…` : v).replace(CONTROL_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)}'`;
  if (v === null || v === undefined) return "nothing";
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === "object") return v instanceof Uint8Array ? `${v.length} bytes` : Object.getPrototypeOf(v) === Object.prototype ? "a mapping" : "an object that is not plain data";
  return String(v);
};
const expected = (field: string, what: string, got: unknown): string => `${field}: expected ${what}, got ${shown(got)}`;

/**
 * Plain trace data: mappings with the ordinary prototype, lists, strings, safe integers, bigints,
 * booleans, null, absent values and byte arrays, nested at most `depth` deep. Allocates nothing
 * when the value is plain (this runs on every event and outcome read), and settles primitives
 * inline. A problem reads as the path below `v` then what is wrong:
 * `.args[2]: a number that is not a safe integer (1.5)`.
 */
export function plainProblem(v: unknown, depth = PLAIN_DEPTH_MAX): string | null {
  return typeof v === "object" && v !== null ? nodeProblem(v, depth) : leafProblem(v);
}

function leafProblem(v: unknown): string | null {
  switch (typeof v) {
    case "number":
      return Number.isSafeInteger(v) ? null : `: a number that is not a safe integer (${v})`;
    case "function":
    case "symbol":
      return `: a ${typeof v}`;
    default:
      return null;
  }
}

function nodeProblem(v: object, depth: number): string | null {
  if (depth <= 0) return `: values nested more than ${PLAIN_DEPTH_MAX} deep`;
  const proto = Object.getPrototypeOf(v);
  if (proto === Object.prototype) {
    const o = v as Record<string, unknown>;
    for (const k in o) {
      const p = valueProblem(o[k], depth);
      if (p !== null) return `.${k}${p}`;
    }
    return null;
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const p = valueProblem(v[i], depth);
      if (p !== null) return `[${i}]${p}`;
    }
    return null;
  }
  return v instanceof Uint8Array ? null : ": an object that is not plain data";
}

/** A member of a node at `depth`: primitives settled here (small enough for the engine to inline). */
function valueProblem(x: unknown, depth: number): string | null {
  const t = typeof x;
  if (t === "object") return x === null ? null : nodeProblem(x as object, depth - 1);
  if (t === "number") return Number.isSafeInteger(x) ? null : leafProblem(x);
  return t === "function" || t === "symbol" ? leafProblem(x) : null;
}

/** Kind names seen valid, so the pattern runs once per kind rather than once per event. Bounded. */
const validKinds = new Set<string>();
let lastKind = "";
export function isEventKind(k: unknown): k is string {
  if (k === lastKind) return true;
  if (typeof k !== "string") return false;
  if (validKinds.has(k)) return ((lastKind = k), true);
  if (!KIND.test(k)) return false;
  if (validKinds.size < 1024) validKinds.add(k);
  return true;
}

export function headerProblem(h: unknown): string | null {
  if (!isMapping(h)) return expected("header", "a mapping", h);
  if (h.magic !== "HVSIMTRC") return expected("magic", "'HVSIMTRC'", h.magic);
  if (!FORMATS_READ.includes(h.formatVersion as number)) {
    return expected("formatVersion", `a format this build reads (${FORMATS_READ.join(", ")})`, h.formatVersion);
  }
  if (!isText(h.modelVersion)) return expected("modelVersion", "a model version string", h.modelVersion);
  if (!isMapping(h.scenario)) return expected("scenario", "a mapping with name and hash", h.scenario);
  if (!isText(h.scenario.name)) return expected("scenario.name", "a scenario name", h.scenario.name);
  if (typeof h.scenario.hash !== "string" || h.scenario.hash.length > 128) return expected("scenario.hash", "a hash string", h.scenario.hash);
  if (!isSafeNat(h.seed)) return expected("seed", "a non-negative integer", h.seed);
  if (!isMapping(h.config)) return expected("config", "a mapping (the machine config)", h.config);
  const p = plainProblem(h.config);
  if (p !== null) return `config${p}`;
  // The model says what a config it can build a machine from looks like (src/model/config.ts).
  const c = machineConfigProblem(h.config);
  if (c !== null) return `config.${c}`;
  if (!isCount(h.blockEvents, BLOCK_EVENTS_MAX)) return expected("blockEvents", `an integer from 1 to ${BLOCK_EVENTS_MAX}`, h.blockEvents);
  if (!isCount(h.snapshotEveryBlocks, BLOCK_EVENTS_MAX)) return expected("snapshotEveryBlocks", `an integer from 1 to ${BLOCK_EVENTS_MAX}`, h.snapshotEveryBlocks);
  if (h.formatVersion as number >= 3 ? !isCount(h.snapshotFullEvery, SNAPSHOT_CHAIN_MAX) : h.snapshotFullEvery !== undefined) {
    return expected("snapshotFullEvery", h.formatVersion as number >= 3 ? `an integer from 1 to ${SNAPSHOT_CHAIN_MAX}` : "nothing before format 3", h.snapshotFullEvery);
  }
  if (!isText(h.generator)) return expected("generator", "a string", h.generator);
  if (h.stateHash !== undefined && !STATE_HASH_DEFINITIONS_READ.includes(h.stateHash as StateHashDefinition)) {
    return expected("stateHash", `a state hash definition this build knows (${STATE_HASH_DEFINITIONS_READ.join(", ")})`, h.stateHash);
  }
  return null;
}

/** Longest chain of stored snapshots a header may ask a seek to read (a whole one and its deltas). */
export const SNAPSHOT_CHAIN_MAX = 1024;

/**
 * A header string: bounded, and one line of printable text. Commands print these as they are
 * (`hvsim info`), so a control character (an escape sequence, a newline) would let a hostile trace
 * redraw the terminal or forge a line of the output.
 */
const isText = (v: unknown): v is string => typeof v === "string" && v.length <= TEXT_MAX && !CONTROL.test(v);
const isCount = (v: unknown, max: number): v is number => Number.isSafeInteger(v) && (v as number) >= 1 && (v as number) <= max;

/**
 * A block body: `first`, `t0`, and as many events (each a mapping with a kind and a time delta) as
 * outcomes (each a mapping), at most `eventsMax`. The stored `t` of each event is a delta. Counts
 * the events by kind into `counts` on the way (the reader compares them with the footer's), so
 * events are walked once.
 */
export function blockProblem(b: unknown, eventsMax: number, counts?: Map<string, number>): string | null {
  if (!isMapping(b)) return expected("block", "a mapping", b);
  if (!isSafeNat(b.first)) return expected("first", "an event index", b.first);
  if (!isSafeNat(b.t0)) return expected("t0", "a time in ns", b.t0);
  const { events, outcomes } = b;
  if (!Array.isArray(events) || events.length < 1 || events.length > eventsMax) return expected("events", `a list of 1 to ${eventsMax} events`, events);
  if (!Array.isArray(outcomes) || outcomes.length !== events.length) return expected("outcomes", `a list of ${events.length} outcomes`, outcomes);
  let t = b.t0;
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as Record<string, unknown>;
    if (typeof e !== "object" || e === null || Object.getPrototypeOf(e) !== Object.prototype) return `events[${i}]: expected a mapping, got ${shown(e)}`;
    if (!isEventKind(e.kind)) return expected(`events[${i}].kind`, "an event kind", e.kind);
    if (counts !== undefined) counts.set(e.kind, (counts.get(e.kind) ?? 0) + 1);
    if (!isSafeNat(e.t)) return expected(`events[${i}].t`, "a time delta in ns", e.t);
    t += e.t;
    if (!Number.isSafeInteger(t)) return `events[${i}].t: virtual time passes 2^53 ns`;
    // The kind's fields are checked by type and the rest as plain data, in one pass.
    const f = eventFieldsProblem(e, plainMember);
    if (f !== null) return `events[${i}].${f}`;
    const q = mappingProblem(outcomes[i]);
    if (q !== null) return `outcomes[${i}]${q}`;
  }
  return null;
}

/** A member of a top-level mapping, plain all the way down. */
const plainMember = (v: unknown): string | null => valueProblem(v, PLAIN_DEPTH_MAX);

/** A plain mapping (not a list, bytes or null), plain all the way down. */
function mappingProblem(v: unknown): string | null {
  if (typeof v !== "object" || v === null || Object.getPrototypeOf(v) !== Object.prototype) return `: expected a mapping, got ${shown(v)}`;
  return nodeProblem(v, PLAIN_DEPTH_MAX);
}

/**
 * A checkpoint. Its snapshot (a whole machine state) is only checked to be a mapping here: walking
 * it would cost more than decoding the events around it, and nothing reads it on the way through a
 * file. Where a seek starts from it, the reader checks all of it first (`snapshotProblem`).
 */
export function checkpointProblem(c: unknown): string | null {
  if (!isMapping(c)) return expected("checkpoint", "a mapping", c);
  if (!Number.isSafeInteger(c.seq) || (c.seq as number) < -1) return expected("seq", "an event index (or -1)", c.seq);
  if (!isSafeNat(c.t)) return expected("t", "a time in ns", c.t);
  if (typeof c.hash !== "string" || !HASH.test(c.hash)) return expected("hash", "a SHA-256 state hash (64 hex digits)", c.hash);
  if (c.snapshot !== undefined && !isMapping(c.snapshot)) return expected("snapshot", "a machine state (a mapping)", c.snapshot);
  if (c.delta !== undefined) {
    const d = c.delta;
    if (c.snapshot !== undefined) return "holds both a snapshot and a delta";
    if (!isMapping(d)) return expected("delta", "a mapping with back, baseSeq and change", d);
    if (!isSafeNat(d.back) || d.back === 0) return expected("delta.back", "a distance in bytes back to an earlier checkpoint", d.back);
    if (!Number.isSafeInteger(d.baseSeq) || (d.baseSeq as number) < -1 || (d.baseSeq as number) >= (c.seq as number)) return expected("delta.baseSeq", `an event index before ${c.seq as number}`, d.baseSeq);
    if (!Object.hasOwn(d, "change")) return expected("delta.change", "a change", undefined);
  }
  return null;
}

/** A snapshot about to be a seek's starting state: plain data all the way down. */
export function snapshotProblem(s: unknown): string | null {
  const p = plainProblem(s);
  return p === null ? null : `snapshot${p}`;
}

/** The footer's own shape; whether it agrees with the file is the reader's check. */
export function footerProblem(f: unknown): string | null {
  if (!isMapping(f)) return expected("footer", "a mapping", f);
  if (!isSafeNat(f.events)) return expected("events", "an event count", f.events);
  if (!isSafeNat(f.lastT)) return expected("lastT", "a time in ns", f.lastT);
  const blocks = triples(f.blocks, "blocks", (e) => isSafeNat(e[0]) && isSafeNat(e[1]) && isCount(e[2], BLOCK_EVENTS_MAX));
  if (blocks !== null) return blocks;
  const cps = triples(f.checkpoints, "checkpoints", (e) => isSafeNat(e[0]) && Number.isSafeInteger(e[1]) && (e[1] as number) >= -1 && (e[2] === 0 || e[2] === 1 || e[2] === 2));
  if (cps !== null) return cps;
  if (!isMapping(f.countsByKind)) return expected("countsByKind", "a mapping of kind to count", f.countsByKind);
  for (const k in f.countsByKind) {
    if (!isEventKind(k)) return expected("countsByKind", "event kinds as keys", k);
    if (!isCount(f.countsByKind[k], Number.MAX_SAFE_INTEGER)) return expected(`countsByKind.${k}`, "a count", f.countsByKind[k]);
  }
  if (typeof f.finalHash !== "string" || !HASH.test(f.finalHash)) return expected("finalHash", "a SHA-256 state hash", f.finalHash);
  return null;
}

function triples(v: unknown, field: string, ok: (e: unknown[]) => boolean): string | null {
  if (!Array.isArray(v)) return expected(field, "a list", v);
  for (let i = 0; i < v.length; i++) {
    const e = v[i] as unknown[];
    if (!Array.isArray(e) || e.length !== 3 || !ok(e)) return expected(`${field}[${i}]`, "[offset, index, count]", e);
  }
  return null;
}

export type { FooterBody };
