import * as crypto from "node:crypto";
import { C_ARRAY_CLOSE, C_ARRAY_OPEN, C_OBJECT_CLOSE, C_OBJECT_OPEN, HashFeed, bytesDigest, feedBytesDigest, feedString, feedValue, sortedKeys } from "./hash-feed.ts";

/**
 * State hash definition 2: a tree of SHA-256 digests, so a checkpoint rehashes only what changed.
 *
 * Every object and array at depth <= TREE_DEPTH (the state itself is depth 0, a room depth 1, a
 * room's table depth 2, one entry of it depth 3) is a node with its own digest: the SHA-256 of its
 * canonical encoding (hash-feed.ts) in which each child node stands as `h` and the child's 32-byte
 * digest. Anything deeper is encoded whole inside its node, and a byte array (a page, a sector)
 * enters by its own digest as in definition 1. The shape is a fixed function of the state, never of
 * what was hashed before, so a digest reused from a memo is the digest computed afresh.
 *
 * Depth, not size, decides: it is cheap to know and stable as tables grow. Making every small object
 * its own node would cost a SHA-256 call (about 1 µs) for each of the ~1200 objects of a long-run
 * state when hashed from scratch; at this depth ~150 nodes hold them (docs/architecture.md,
 * Performance, has the measurements).
 */
export const TREE_DEPTH = 5;

const C_DIGEST = 0x68; // h

/** One-shot SHA-256 (crypto.hash, Node >= 20.12, is about twice as fast as createHash for small inputs). */
const sha256: (data: Uint8Array) => Buffer =
  typeof crypto.hash === "function"
    ? (data) => crypto.hash("sha256", data, "buffer")
    : (data) => crypto.createHash("sha256").update(data).digest();

/** One growing buffer per depth: a node's encoding is being written while its children are hashed. */
const feeds: HashFeed[] = Array.from({ length: TREE_DEPTH + 1 }, () => HashFeed.growing());

const isNode = (v: unknown): v is object => typeof v === "object" && v !== null && !(v instanceof Uint8Array);

/**
 * Digests of frozen nodes, by depth. A frozen object never changes, and a node is remembered only
 * when everything under it was frozen too (byte arrays aside: they are copy-on-write, bytes.ts), so
 * on the pure path (immer's frozen states, which share unchanged subtrees) the memo makes the
 * hash incremental: only the nodes an event replaced are hashed again.
 */
const frozenMemo: WeakMap<object, Buffer>[] = Array.from({ length: TREE_DEPTH + 1 }, () => new WeakMap());

/** The definition-2 hash of any plain data, hex. `memo: false` ignores and fills no memo (tests). */
export function treeHash(value: unknown, memo = true): string {
  if (!isNode(value)) {
    const f = HashFeed.streaming(true);
    feedValue(f, value);
    return f.digest();
  }
  return nodeDigest(value, 0, memo).toString("hex");
}

function nodeDigest(v: object, depth: number, memo: boolean): Buffer {
  const remembered = memo ? frozenMemo[depth]!.get(v) : undefined;
  if (remembered !== undefined) return remembered;
  const f = feeds[depth]!;
  f.reset();
  f.frozen = Object.isFrozen(v);
  if (Array.isArray(v)) {
    f.byte(C_ARRAY_OPEN);
    for (let i = 0; i < v.length; i++) feedChild(f, v[i], depth, memo);
    f.byte(C_ARRAY_CLOSE);
  } else {
    const o = v as Record<string, unknown>;
    f.byte(C_OBJECT_OPEN);
    for (const k of sortedKeys(o)) {
      const x = o[k];
      // An absent key and a key holding undefined hash the same: both mean "not set".
      if (x === undefined) continue;
      feedString(f, k);
      feedChild(f, x, depth, memo);
    }
    f.byte(C_OBJECT_CLOSE);
  }
  const d = sha256(f.contents());
  if (memo && f.frozen) frozenMemo[depth]!.set(v, d);
  return d;
}

function feedChild(f: HashFeed, x: unknown, depth: number, memo: boolean): void {
  if (depth < TREE_DEPTH && isNode(x)) {
    f.byte(C_DIGEST);
    f.raw(nodeDigest(x, depth + 1, memo));
    if (f.frozen && !frozenMemo[depth + 1]!.has(x)) f.frozen = false;
  } else feedValue(f, x);
}

/**
 * What a node held when last hashed: its keys and values (child identities, primitives), a shadow
 * per child node, the digest of each byte array, and its own digest (nodes at depth <= TREE_DEPTH).
 */
class Shadow {
  n = 0;
  readonly keys: string[] = [];
  readonly vals: unknown[] = [];
  readonly kids: (Shadow | Buffer | null)[] = [];
  /** Slot indices in key order; null when the keys changed since it was sorted. */
  order: number[] | null = null;
  digest: Buffer | null = null;
  constructor(readonly depth: number) {}
}

/**
 * The definition-2 hash of one state that is written in place between calls (the fast path's
 * private copy): each call walks the state against a shadow of what it held at the last call,
 * comparing values and child identities, and rehashes only the nodes whose contents changed
 * (and their ancestors). The walk compares; it neither sorts nor encodes what did not change.
 * The result is always `treeHash(state)` (test/core-hash-tree.test.ts checks it at every step).
 */
export class IncrementalTreeHash {
  private root: Shadow | null = null;
  private rootValue: unknown = undefined;

  hash(state: unknown): string {
    if (!isNode(state)) return treeHash(state, false);
    if (this.root === null || this.rootValue !== state) {
      this.root = new Shadow(0);
      this.rootValue = state;
    }
    sync(state, this.root);
    return this.root.digest!.toString("hex");
  }
}

/**
 * Brings `sh` up to date with `v`; true if anything under `v` changed since (always, for a new
 * shadow). The common case, a slot holding what it held, is settled inline: this walk visits every
 * value of the state at every checkpoint.
 */
function sync(v: object, sh: Shadow): boolean {
  let changed = sh.digest === null && sh.depth <= TREE_DEPTH;
  const { keys, vals, kids } = sh;
  const n = sh.n;
  // Once a slot differs (a key added or deleted shifts the rest), children are found by identity.
  let reuse: Map<object, Shadow> | null = null;
  let i = 0;
  if (Array.isArray(v)) {
    for (; i < v.length; i++) {
      const x: unknown = v[i];
      if (i < n && vals[i] === x) {
        if (typeof x === "object" && x !== null && syncKid(sh, i, x)) changed = true;
      } else {
        if (reuse === null && i < n) reuse = oldKids(sh, i, n);
        newSlot(sh, i, "", x, reuse);
        changed = true;
      }
    }
  } else {
    const o = v as Record<string, unknown>;
    const ks = Object.keys(o);
    for (let j = 0; j < ks.length; j++) {
      const k = ks[j]!;
      const x = o[k];
      if (i < n && vals[i] === x && keys[i] === k) {
        if (typeof x === "object" && x !== null && syncKid(sh, i, x)) changed = true;
      } else {
        if (reuse === null && i < n) reuse = oldKids(sh, i, n);
        newSlot(sh, i, k, x, reuse);
        changed = true;
      }
      i++;
    }
  }
  if (i !== sh.n) {
    changed = true;
    sh.n = keys.length = vals.length = kids.length = i;
    sh.order = null;
  }
  if (changed && sh.depth <= TREE_DEPTH) sh.digest = shadowDigest(v, sh);
  return changed;
}

/** The object in slot `i` is the one it held: re-syncs it (a byte array: compares its digest). */
function syncKid(sh: Shadow, i: number, x: object): boolean {
  const kid = sh.kids[i]!;
  if (kid instanceof Shadow) return sync(x, kid);
  // The memo gives the same Buffer until the array is written in place (bytes.ts).
  const d = bytesDigest(x as Uint8Array);
  if (d === kid) return false;
  sh.kids[i] = d;
  return true;
}

/** The shadows of the child nodes in slots `from..n-1`, by the child's identity. */
function oldKids(sh: Shadow, from: number, n: number): Map<object, Shadow> {
  const m = new Map<object, Shadow>();
  for (let j = from; j < n; j++) {
    const kid = sh.kids[j];
    if (kid instanceof Shadow) m.set(sh.vals[j] as object, kid);
  }
  return m;
}

/** Slot `i` now holds key `k` and value `x`, not what it held (or it is new). */
function newSlot(sh: Shadow, i: number, k: string, x: unknown, reuse: Map<object, Shadow> | null): void {
  if (i >= sh.n || sh.keys[i] !== k) sh.order = null;
  if (i >= sh.n) sh.n = i + 1;
  sh.keys[i] = k;
  sh.vals[i] = x;
  if (typeof x !== "object" || x === null) sh.kids[i] = null;
  else if (x instanceof Uint8Array) sh.kids[i] = bytesDigest(x);
  else {
    // A child moved within this node keeps its shadow (same depth); anything else is new.
    const kept = reuse?.get(x);
    const kid = kept ?? new Shadow(sh.depth + 1);
    sync(x, kid);
    sh.kids[i] = kid;
  }
}

/** The node's digest from its synced shadow: child nodes by their shadows' digests, the rest encoded. */
function shadowDigest(v: object, sh: Shadow): Buffer {
  const f = feeds[sh.depth]!;
  f.reset();
  if (Array.isArray(v)) {
    f.byte(C_ARRAY_OPEN);
    for (let i = 0; i < sh.n; i++) feedSlot(f, sh, i);
    f.byte(C_ARRAY_CLOSE);
  } else {
    f.byte(C_OBJECT_OPEN);
    sh.order ??= sortedSlots(sh.keys, sh.n);
    for (const i of sh.order) {
      if (sh.vals[i] === undefined) continue;
      feedString(f, sh.keys[i]!);
      feedSlot(f, sh, i);
    }
    f.byte(C_OBJECT_CLOSE);
  }
  return sha256(f.contents());
}

function feedSlot(f: HashFeed, sh: Shadow, i: number): void {
  const x = sh.vals[i];
  const kid = sh.kids[i];
  if (kid === null || kid === undefined) feedValue(f, x);
  else if (!(kid instanceof Shadow)) feedBytesDigest(f, (x as Uint8Array).length, kid);
  else if (sh.depth < TREE_DEPTH) {
    f.byte(C_DIGEST);
    f.raw(kid.digest!);
  } else feedValue(f, x);
}

/** Slot indices in key order (UTF-16 code units, as `sortedKeys`): insertion sort, keys are mostly in order. */
function sortedSlots(keys: readonly string[], n: number): number[] {
  const order: number[] = [];
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    let j = order.length - 1;
    order.push(i);
    while (j >= 0 && k < keys[order[j]!]!) {
      order[j + 1] = order[j]!;
      j--;
    }
    order[j + 1] = i;
  }
  return order;
}
