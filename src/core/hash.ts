import { HashFeed, feedValue, forgetDigest, sortedKeys } from "./hash-feed.ts";
import { treeHash } from "./hash-tree.ts";

export { forgetDigest };

/**
 * Canonical encoding of plain data: the same value gives the same bytes on every machine, whatever
 * the key insertion order. Object keys are sorted by UTF-16 code units; numbers, bigints, strings,
 * booleans and null each carry their own tag so that `1`, `1n` and `"1"` never collide.
 * Only plain data is accepted: the state is plain data by contract (see `serializable.ts`).
 */
export function canonicalString(value: unknown): string {
  return encode(value);
}

// String concatenation (V8 ropes) beats collecting parts and joining.
function encode(v: unknown): string {
  switch (typeof v) {
    case "number":
      if (!Number.isFinite(v)) throw new TypeError(`canonical encoding: non-finite number ${v}`);
      return `n${v};`;
    case "bigint":
      return `b${v.toString(16)};`;
    case "string":
      return `s${v.length}:${v}`;
    case "boolean":
      return v ? "T" : "F";
    case "undefined":
      return "U";
    case "object":
      if (v === null) return "N";
      if (Array.isArray(v)) {
        let out = "[";
        for (const x of v) out += encode(x);
        return `${out}]`;
      }
      if (v instanceof Uint8Array) return `x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex")};`;
      return encodeObject(v as Record<string, unknown>);
    default:
      throw new TypeError(`canonical encoding: unsupported ${typeof v}`);
  }
}

function encodeObject(o: Record<string, unknown>): string {
  let out = "{";
  for (const k of sortedKeys(o)) {
    const x = o[k];
    // An absent key and a key holding undefined hash the same: both mean "not set".
    if (x === undefined) continue;
    out += `s${k.length}:${k}${encode(x)}`;
  }
  return `${out}}`;
}

/**
 * Which state hash a trace's checkpoints carry (its header's `stateHash`, absent in traces made
 * before there was a choice: those are definition 1).
 *  1. SHA-256 of the canonical encoding of the whole state (byte arrays by their own SHA-256).
 *  2. A tree of SHA-256 digests (hash-tree.ts): the same encoding, with rooms and their tables
 *     standing by their own digests, so a frozen state rehashes only what changed.
 * New traces carry definition 2; every verifier hashes with the definition its trace names.
 */
export type StateHashDefinition = 1 | 2;
export const STATE_HASH_DEFINITION: StateHashDefinition = 2;
export const STATE_HASH_DEFINITIONS_READ: readonly StateHashDefinition[] = [1, 2];

/**
 * The state hash, as 64 hex digits: the current definition unless told. Frozen states (the pure
 * path, snapshots) hash incrementally through a memo of their unchanged subtrees; a state written
 * in place (the fast path, the recorder) is hashed from scratch, byte arrays by their memoised
 * digests (hash-tree.ts says why).
 */
export function stateHash(value: unknown, definition: StateHashDefinition = STATE_HASH_DEFINITION): string {
  return definition === 1 ? wholeStateHash(value) : treeHash(value);
}

/**
 * Definition 1: SHA-256 of the canonical encoding, with a byte array entering as
 * `x<length>:<its own SHA-256>;` rather than as hex text (so for a state holding bytes the digest is
 * not sha256(canonicalString(state)); `canonicalString` stays the readable form of the same
 * structure). The encoding streams into the hash in chunks (`HashFeed`).
 * test/core-hash.test.ts checks the result against the straightforward string form.
 */
function wholeStateHash(value: unknown): string {
  const feed = HashFeed.streaming();
  feedValue(feed, value);
  return feed.digest();
}

/** Short form of a hash for human output. */
export const shortHash = (h: string): string => h.slice(0, 16);
