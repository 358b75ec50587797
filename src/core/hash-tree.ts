import * as crypto from "node:crypto";
import { C_ARRAY_CLOSE, C_ARRAY_OPEN, C_OBJECT_CLOSE, C_OBJECT_OPEN, HashFeed, feedString, feedValue, sortedKeys } from "./hash-feed.ts";

/**
 * State hash definition 2: a tree of SHA-256 digests, so a frozen state rehashes only what changed.
 *
 * Every object and array at depth <= TREE_DEPTH (the state itself is depth 0, a room depth 1, a
 * room's table depth 2: `objects.byId`, `rm.vms`) is a node with its own digest: the SHA-256 of its
 * canonical encoding (hash-feed.ts) in which each child node stands as `h` and the child's 32-byte
 * digest. Anything deeper is encoded whole inside its node, and a byte array (a page, a sector)
 * enters by its own digest as in definition 1. The shape is a fixed function of the state, never of
 * what was hashed before, so a digest reused from a memo is the digest computed afresh.
 *
 * Depth 2, measured on long-run (200k events, docs/architecture.md "Performance"): from scratch a
 * checkpoint costs 0.95 ms at depth 2, 1.2 at depth 3 and 2.2 at depth 5 (a SHA-256 call per node:
 * ~1,000 nodes at depth 5), against 1.0 for definition 1. Frozen states (the pure path, stored
 * snapshots) reuse the digests of the rooms and tables an event did not replace; the fast path's
 * state, written in place, is hashed from scratch: comparing it against a shadow of the last
 * checkpoint to find what changed cost 1.5..2.4 ms, because the model rewrites most tables between
 * two checkpoints.
 */
export const TREE_DEPTH = 2;

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
