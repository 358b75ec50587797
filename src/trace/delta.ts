/**
 * Snapshot deltas (trace formats 3 and 4): a stored snapshot is the change from the snapshot stored before
 * it, so what a trace stores per snapshot is what the state wrote since, not the whole state again.
 *
 * A change is plain data (it is packed like any record body), one of:
 *   [SET, value]                         the value at this path is `value` (a subtree of the new state)
 *   [MAP, {key: change}, removed, order]   a mapping: changed or added keys, removed keys, and the new
 *                                        key order when it is not the old order less the removed
 *                                        keys then the added ones (else null)
 *   [LIST, length, [[index, change]...]] a list of `length` (indices past the old length are SETs)
 *   [BYTES, [[offset, bytes]...]]        a byte array of the same length with these runs rewritten
 *   [REF, seq, field]                    a byte array equal to the `field` of event `seq`
 * and `null` for no change at all. A byte run may also be [offset, seq, field].
 *
 * REF (format 4) is content addressing across records: what a stored state wrote since the one before was, for
 * the most part, carried by an event in between (a guest's `vm_mem_write` of 512 random bytes that
 * crosvm then copies into a disk sector), so the delta names that event instead of repeating the
 * bytes. Only events of the delta's own window (after the state it changes, up to its own) may be
 * named, so rebuilding a stored state reads no blocks but those its chain covers; on long-run that
 * takes the stored states from 4.1 to about 1.2 bytes/event (docs/architecture.md, "Trace file"). Byte arrays (memory pages, disk sectors) are compared by content,
 * so a page nobody wrote costs nothing and a page written in 16 bytes costs those 16 bytes.
 *
 * `applyDelta` never changes its base (unchanged subtrees of the result are the base's own), and
 * checks every change against the base it is applied to: a delta that does not fit (a hand-edited
 * or damaged trace) throws a DeltaError naming the path, never builds something unbounded.
 */

export const SET = 0;
export const MAP = 1;
export const LIST = 2;
export const BYTES = 3;
export const REF = 4;

/** Byte arrays shorter than this are stored, not named: a name costs about 8 bytes packed. */
export const REF_BYTES_MIN = 64;

/** The writer's side of REF: which event of the window carried these bytes (as `[seq, field]`), if any. */
export interface ByteRefs {
  find(bytes: Uint8Array): readonly [number, string] | undefined;
}

/** The reader's side of REF: the bytes `field` of event `seq` holds, or why that is not a byte array of the delta's window. */
export type ResolveRef = (seq: number, field: string) => Uint8Array | string;

export type Change =
  | null
  | readonly [typeof SET, unknown]
  | readonly [typeof MAP, Readonly<Record<string, Change>>, readonly string[], readonly string[] | null]
  | readonly [typeof LIST, number, readonly (readonly [number, Change])[]]
  | readonly [typeof BYTES, readonly (readonly [number, Uint8Array] | readonly [number, number, string])[]]
  | readonly [typeof REF, number, string];

/** Runs of equal bytes shorter than this inside a changed stretch are carried along rather than split on. */
const BYTES_GAP = 8;

type Obj = Record<string, unknown>;
const isMapping = (v: unknown): v is Obj =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

/**
 * The change that turns `base` into `next` (null when they are equal). Neither is changed. With
 * `refs`, byte arrays (and byte runs) an event carried are named rather than stored.
 */
export function encodeDelta(base: unknown, next: unknown, refs?: ByteRefs): Change {
  if (base === next) return null;
  if (next instanceof Uint8Array) return base instanceof Uint8Array ? bytesChange(base, next, refs) : set(next, refs);
  if (Array.isArray(next)) return Array.isArray(base) ? listChange(base, next, refs) : [SET, next];
  if (isMapping(next)) return isMapping(base) ? mapChange(base, next, refs) : [SET, next];
  return [SET, next];
}

/** A SET of `value`, or a REF when it is bytes an event of the window carried. */
function set(value: unknown, refs: ByteRefs | undefined): Change {
  const ref = refs !== undefined && value instanceof Uint8Array ? refs.find(value) : undefined;
  return ref === undefined ? [SET, value] : [REF, ref[0], ref[1]];
}

function mapChange(base: Obj, next: Obj, refs: ByteRefs | undefined): Change {
  const changed: Record<string, Change> = {};
  const removed: string[] = [];
  const kept: string[] = [];
  const added: string[] = [];
  let any = false;
  for (const k in base) {
    if (!Object.hasOwn(next, k)) {
      removed.push(k);
      any = true;
    } else kept.push(k);
  }
  for (const k in next) {
    if (!Object.hasOwn(base, k)) {
      added.push(k);
      changed[k] = set(next[k], refs);
      any = true;
      continue;
    }
    const c = encodeDelta(base[k], next[k], refs);
    if (c !== null) {
      changed[k] = c;
      any = true;
    }
  }
  const nextKeys = Object.keys(next);
  const implied = kept.concat(added);
  const order = sameList(implied, nextKeys) ? null : nextKeys;
  if (!any && order === null) return null;
  return [MAP, changed, removed, order];
}

function listChange(base: readonly unknown[], next: readonly unknown[], refs: ByteRefs | undefined): Change {
  const changes: [number, Change][] = [];
  for (let i = 0; i < next.length; i++) {
    const c = i < base.length ? encodeDelta(base[i], next[i], refs) : set(next[i], refs);
    if (c !== null) changes.push([i, c]);
  }
  if (changes.length === 0 && base.length === next.length) return null;
  // A list mostly rewritten (a shift, a sort) is stored whole: index by index would cost more.
  if (next.length > 0 && changes.length * 2 > next.length) return [SET, next];
  return [LIST, next.length, changes];
}

function bytesChange(base: Uint8Array, next: Uint8Array, refs: ByteRefs | undefined): Change {
  if (base.length !== next.length) return set(next, refs);
  const runs: ([number, Uint8Array] | [number, number, string])[] = [];
  let changedBytes = 0;
  let i = 0;
  const n = next.length;
  while (i < n) {
    if (base[i] === next[i]) {
      i++;
      continue;
    }
    const start = i;
    let end = i + 1; // one past the last differing byte of this run
    for (let j = end; j < n && j - end < BYTES_GAP; j++) if (base[j] !== next[j]) end = j + 1;
    const run = next.subarray(start, end);
    const ref = refs !== undefined && run.length >= REF_BYTES_MIN ? refs.find(run) : undefined;
    runs.push(ref === undefined ? [start, run.slice()] : [start, ref[0], ref[1]]);
    changedBytes += end - start;
    i = end;
  }
  if (runs.length === 0) return null;
  return changedBytes * 2 > n ? set(next, refs) : [BYTES, runs];
}

const sameList = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export class DeltaError extends Error {}

/**
 * `base` with `change` applied: a new value sharing the base's unchanged parts. Throws DeltaError
 * when the change does not fit, or names bytes `resolve` cannot give (without it, any REF).
 */
export function applyDelta(base: unknown, change: unknown, path = "snapshot", resolve?: ResolveRef): unknown {
  if (change === null) return base;
  if (!Array.isArray(change)) throw new DeltaError(`${path}: a change that is not a list`);
  switch (change[0]) {
    case SET:
      if (change.length !== 2) break;
      return change[1];
    case MAP:
      if (change.length !== 4) break;
      return applyMap(base, change[1], change[2], change[3], path, resolve);
    case LIST:
      if (change.length !== 3) break;
      return applyList(base, change[1], change[2], path, resolve);
    case BYTES:
      if (change.length !== 2) break;
      return applyBytes(base, change[1], path, resolve);
    case REF:
      if (change.length !== 3) break;
      // A copy: the state must never share an event's array (the fast path writes state bytes in place).
      return named(change[1], change[2], path, resolve).slice();
  }
  throw new DeltaError(`${path}: not a change (tag ${String(change[0])}, ${change.length} fields)`);
}

/** The bytes a REF (or a named byte run) stands for. */
function named(seq: unknown, field: unknown, path: string, resolve: ResolveRef | undefined): Uint8Array {
  if (!Number.isSafeInteger(seq) || typeof field !== "string") throw new DeltaError(`${path}: a malformed reference to an event's bytes`);
  const got = resolve === undefined ? "no events to refer to" : resolve(seq as number, field);
  if (typeof got === "string") throw new DeltaError(`${path}: refers to the ${field} of event ${String(seq)}: ${got}`);
  return got;
}

/** A change that gives a whole value (so may add a key or grow a list): a SET or a REF. */
const isWhole = (c: unknown): boolean => Array.isArray(c) && (c[0] === SET || c[0] === REF);

function applyMap(base: unknown, changed: unknown, removed: unknown, order: unknown, path: string, resolve: ResolveRef | undefined): Obj {
  if (!isMapping(base)) throw new DeltaError(`${path}: a mapping change on something that is not a mapping`);
  if (!isMapping(changed) || !Array.isArray(removed) || (order !== null && !Array.isArray(order))) throw new DeltaError(`${path}: a malformed mapping change`);
  const gone = new Set<unknown>(removed);
  for (const k of removed) if (typeof k !== "string" || !Object.hasOwn(base, k)) throw new DeltaError(`${path}: removes ${String(k)}, which is not there`);
  const out: Obj = {};
  const put = (k: string, v: unknown): void => {
    // Own data property whatever the key (a '__proto__' key must stay a key, never a prototype).
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  };
  const valueOf = (k: string): unknown => {
    const c = Object.hasOwn(changed, k) ? changed[k] : null;
    const inBase = Object.hasOwn(base, k) && !gone.has(k);
    if (!inBase && !isWhole(c)) throw new DeltaError(`${path}.${k}: a change to a key that is not there`);
    return applyDelta(inBase ? base[k] : undefined, c, `${path}.${k}`, resolve);
  };
  if (order === null) {
    for (const k in base) if (!gone.has(k)) put(k, valueOf(k));
    for (const k in changed) if (!Object.hasOwn(base, k)) put(k, valueOf(k));
  } else {
    const keys = order as unknown[];
    const live = Object.keys(base).length - gone.size + Object.keys(changed).filter((k) => !Object.hasOwn(base, k)).length;
    if (keys.length !== live) throw new DeltaError(`${path}: a key order of ${keys.length} keys for ${live}`);
    for (const k of keys) {
      if (typeof k !== "string" || Object.hasOwn(out, k)) throw new DeltaError(`${path}: a key order with a repeated or unnamed key`);
      put(k, valueOf(k));
    }
  }
  return out;
}

function applyList(base: unknown, length: unknown, changes: unknown, path: string, resolve: ResolveRef | undefined): unknown[] {
  if (!Array.isArray(base)) throw new DeltaError(`${path}: a list change on something that is not a list`);
  if (!Array.isArray(changes) || !Number.isSafeInteger(length) || (length as number) < 0) throw new DeltaError(`${path}: a malformed list change`);
  const n = length as number;
  // Every element past the old length must be given: a list grows only by what the delta holds.
  if (n > base.length + changes.length) throw new DeltaError(`${path}: a list of ${n} from ${base.length} with ${changes.length} changes`);
  const out = base.slice(0, n);
  let prev = -1;
  for (const entry of changes) {
    if (!Array.isArray(entry) || entry.length !== 2) throw new DeltaError(`${path}: a malformed list entry`);
    const [i, c] = entry as [unknown, unknown];
    if (!Number.isSafeInteger(i) || (i as number) <= prev || (i as number) >= n) throw new DeltaError(`${path}: list index ${String(i)} out of order or past ${n}`);
    const at = i as number;
    if (at >= base.length && !isWhole(c)) throw new DeltaError(`${path}[${at}]: a change past the old end`);
    out[at] = applyDelta(at < base.length ? base[at] : undefined, c, `${path}[${at}]`, resolve);
    prev = at;
  }
  for (let i = base.length; i < n; i++) if (!(i in out)) throw new DeltaError(`${path}[${i}]: missing from a grown list`);
  return out;
}

function applyBytes(base: unknown, runs: unknown, path: string, resolve: ResolveRef | undefined): Uint8Array {
  if (!(base instanceof Uint8Array)) throw new DeltaError(`${path}: a byte change on something that is not bytes`);
  if (!Array.isArray(runs)) throw new DeltaError(`${path}: a malformed byte change`);
  const out = new Uint8Array(base);
  let prev = 0;
  for (const run of runs) {
    const stored = Array.isArray(run) && run.length === 2 && run[1] instanceof Uint8Array;
    if (!Array.isArray(run) || !Number.isSafeInteger(run[0]) || !(stored || run.length === 3)) throw new DeltaError(`${path}: a malformed byte run`);
    const at = run[0] as number;
    const bytes = stored ? (run[1] as Uint8Array) : named(run[1], run[2], `${path}@${at}`, resolve);
    if (at < prev || at + bytes.length > out.length) throw new DeltaError(`${path}: a byte run at ${at} (${bytes.length} bytes) out of order or past ${out.length}`);
    out.set(bytes, at);
    prev = at + bytes.length;
  }
  return out;
}
