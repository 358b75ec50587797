import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { freeze, produce } from "immer";
import { canonicalString, stateHash } from "../src/core/hash.ts";
import { TREE_DEPTH, treeHash } from "../src/core/hash-tree.ts";
import { writableBytes } from "../src/core/bytes.ts";
import { mutableCopy } from "../src/core/reducer.ts";
import { replay } from "../src/core/replay.ts";
import { hvModel, type MachineConfig } from "../src/model/machine.ts";
import { resolveScenario } from "../src/sim/resolve.ts";
import { readerOf, recordBytes } from "./helpers.ts";

type Tree = Record<string, unknown> | unknown[];

/**
 * Definition 2 written the straightforward way (no memo): the digest of a node at depth
 * <= TREE_DEPTH is the SHA-256 of its encoding with child nodes as `h` + their raw digest; a byte
 * array is `x<length>:` + its raw SHA-256 + `;`; everything else as `canonicalString` writes it.
 */
function referenceTreeHash(value: unknown): string {
  const sha = (x: Uint8Array): Buffer => createHash("sha256").update(x).digest();
  const text = (s: string): Buffer => Buffer.from(s, "utf8");
  const isNode = (v: unknown): v is Tree => typeof v === "object" && v !== null && !(v instanceof Uint8Array);
  const fields = (o: Record<string, unknown>, each: (x: unknown) => Buffer): Buffer[] =>
    Object.keys(o).sort().filter((k) => o[k] !== undefined).flatMap((k) => [text(`s${k.length}:${k}`), each(o[k])]);
  const container = (v: Tree, each: (x: unknown) => Buffer): Buffer =>
    Array.isArray(v) ? Buffer.concat([text("["), ...v.map(each), text("]")]) : Buffer.concat([text("{"), ...fields(v as Record<string, unknown>, each), text("}")]);
  const inline = (v: unknown): Buffer => {
    if (v instanceof Uint8Array) return Buffer.concat([text(`x${v.length}:`), sha(v), text(";")]);
    return isNode(v) ? container(v, inline) : text(canonicalString(v));
  };
  const node = (v: Tree, depth: number): Buffer =>
    sha(container(v, (x) => (depth < TREE_DEPTH && isNode(x) ? Buffer.concat([text("h"), node(x, depth + 1)]) : inline(x))));
  return (isNode(value) ? node(value, 0) : sha(inline(value))).toString("hex");
}

/** A deep random state: nested records and arrays past TREE_DEPTH, byte arrays, ASCII keys. */
const deepState = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "medium", maxDepth: TREE_DEPTH + 3 },
    fc.integer(),
    fc.bigInt(),
    fc.string({ maxLength: 4 }),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 6 }),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.string({ maxLength: 3 }), fc.nat({ max: 40 }).map(String)), tie("value"), { maxKeys: 4 }),
  ),
})).value;
const rootState = fc.dictionary(fc.oneof(fc.string({ maxLength: 3 }), fc.nat({ max: 40 }).map(String)), deepState, { minKeys: 1, maxKeys: 5 });

/** One write, as a handler makes it: found by walking `path` (child choices) from the root. */
type Op =
  | { readonly type: "set"; readonly path: readonly number[]; readonly key: string; readonly value: unknown }
  | { readonly type: "delete"; readonly path: readonly number[]; readonly pick: number }
  | { readonly type: "push"; readonly path: readonly number[]; readonly value: unknown }
  | { readonly type: "pop"; readonly path: readonly number[] }
  | { readonly type: "bytes"; readonly path: readonly number[]; readonly key: number; readonly at: number; readonly byte: number }
  | { readonly type: "move"; readonly from: readonly number[]; readonly to: readonly number[]; readonly key: string };

const path = fc.array(fc.nat(), { maxLength: TREE_DEPTH + 3 });
const key = fc.oneof(fc.string({ maxLength: 2 }), fc.nat({ max: 40 }).map(String));
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ type: fc.constant("set" as const), path, key, value: deepState }),
  fc.record({ type: fc.constant("set" as const), path, key, value: fc.integer() }),
  fc.record({ type: fc.constant("delete" as const), path, pick: fc.nat() }),
  fc.record({ type: fc.constant("push" as const), path, value: deepState }),
  fc.record({ type: fc.constant("pop" as const), path }),
  fc.record({ type: fc.constant("bytes" as const), path, key: fc.nat({ max: 3 }), at: fc.nat({ max: 7 }), byte: fc.nat({ max: 255 }) }),
  fc.record({ type: fc.constant("move" as const), from: path, to: path, key }),
);

const isContainer = (v: unknown): v is Tree => typeof v === "object" && v !== null && !(v instanceof Uint8Array);

/** The container reached by following `choices` among each level's container children. */
function walk(root: Tree, choices: readonly number[]): Tree {
  let at = root;
  for (const c of choices) {
    const kids = Object.keys(at).filter((k) => isContainer((at as Record<string, unknown>)[k]));
    if (kids.length === 0) break;
    at = (at as Record<string, unknown>)[kids[c % kids.length]!] as Tree;
  }
  return at;
}

/** Applies `op` to a mutable state or an immer draft alike (the two paths' handlers are one code). */
function applyOp(root: Tree, o: Op): void {
  if (o.type === "move") {
    // Detach a subtree and attach it elsewhere: the same object then sits at another depth.
    const from = walk(root, o.from);
    const keys = Object.keys(from).filter((k) => isContainer((from as Record<string, unknown>)[k]));
    if (keys.length === 0) return;
    const k = keys[0]!;
    const moved = (from as Record<string, unknown>)[k];
    if (Array.isArray(from)) from.splice(Number(k), 1);
    else delete (from as Record<string, unknown>)[k];
    const to = walk(root, o.to);
    if (Array.isArray(to)) to.push(moved);
    else (to as Record<string, unknown>)[o.key] = moved;
    return;
  }
  const at = walk(root, o.type === "set" || o.type === "delete" || o.type === "push" || o.type === "pop" || o.type === "bytes" ? o.path : []);
  const rec = at as Record<string, unknown>;
  switch (o.type) {
    case "set":
      if (Array.isArray(at)) at[at.length === 0 ? 0 : Number.parseInt(o.key, 36) % at.length || 0] = structuredCloneData(o.value);
      else rec[o.key] = structuredCloneData(o.value);
      return;
    case "delete": {
      const keys = Object.keys(at);
      if (keys.length === 0) return;
      if (Array.isArray(at)) at.splice(o.pick % at.length, 1);
      else delete rec[keys[o.pick % keys.length]!];
      return;
    }
    case "push":
      if (Array.isArray(at)) at.push(structuredCloneData(o.value));
      else rec[`p${Object.keys(at).length}`] = structuredCloneData(o.value);
      return;
    case "pop":
      if (Array.isArray(at)) at.pop();
      return;
    case "bytes": {
      const held = rec[o.key];
      if (Array.isArray(at) || (held !== undefined && !(held instanceof Uint8Array))) return;
      const bytes = writableBytes(rec as Record<number, Uint8Array>, o.key, 8);
      if (o.at < bytes.length) bytes[o.at] = o.byte;
    }
  }
}

/** Each op gets its own copy of its value: the state is a tree, never sharing with the op. */
const structuredCloneData = (v: unknown): unknown => mutableCopy(v);

describe("state hash definition 2 (tree of digests)", () => {
  it("matches the straightforward form", () => {
    fc.assert(fc.property(rootState, (s) => treeHash(s, false) === referenceTreeHash(s)), { numRuns: 200 });
  });

  it("matches it on long and non-ASCII text, big bigints and byte arrays, below and past TREE_DEPTH", () => {
    const long = "k".repeat(70_000);
    const deep = (x: unknown): unknown => ({ a: { b: { c: { d: { e: { f: { g: x } } } } } } });
    const cases: unknown[] = [
      { s: long, t: `é${long}`, u: "\ud800x\udc00", v: "😀", [long]: 1 },
      Array.from({ length: 5_000 }, (_, i) => ({ i, s: `é${i}`, b: BigInt(-i), l: [i, { m: i }] })),
      { a: undefined, b: [undefined, null], c: new Uint8Array(100_000).fill(7) },
      { big: 2n ** 300_000n, neg: -(2n ** 64n) },
      7,
      new Uint8Array([1, 2]),
    ];
    for (const v of [...cases, ...cases.map(deep)]) expect(treeHash(v, false)).toBe(referenceTreeHash(v));
  });

  it("is pinned: a change to the definition must be deliberate (and re-pin the traces)", () => {
    const s = { a: { b: [1, { c: 2n }], d: new Uint8Array([1, 2]) }, e: "x" };
    expect(stateHash(s)).toBe(referenceTreeHash(s));
    expect(stateHash(s)).toMatchInlineSnapshot(`"af935e750c81e527a8d9575fcbb4990cfe0c1f704332fea805c377a811f4a2a6"`);
  });

  it("on the pure path (memoised frozen subtrees) and through the fast path's hasher, equals the digest from scratch after every write", () => {
    fc.assert(
      fc.property(rootState, fc.array(op, { minLength: 1, maxLength: 25 }), (genesis, ops) => {
        let pure = freeze(mutableCopy(genesis), true) as Tree;
        const working = mutableCopy(genesis) as Tree;
        const fast = (x: unknown): string => stateHash(x);
        expect(fast(working)).toBe(treeHash(working, false));
        expect(stateHash(pure)).toBe(treeHash(pure, false));
        for (const o of ops) {
          applyOp(working, o);
          pure = produce(pure, (d) => void applyOp(d as Tree, o));
          const scratch = treeHash(working, false);
          expect(fast(working)).toBe(scratch);
          expect(stateHash(pure)).toBe(scratch);
          expect(treeHash(pure, false)).toBe(scratch);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("a state written in place deep below the tree's nodes hashes afresh", () => {
    const s: Record<string, unknown> = { a: { b: { c: { d: { e: { f: { g: 1 } } } } } } };
    const first = stateHash(s);
    ((((((s.a as any).b as any).c as any).d as any).e as any).f as any).g = 2;
    expect(stateHash(s)).not.toBe(first);
    expect(stateHash(s)).toBe(treeHash(s, false));
  });

  it.each([
    ["long-run", 1],
    ["long-run", 3],
    ["smoke", 2],
    ["hyp-secondary", 5],
    ["scenarios/mem-churn.yaml", 4],
    ["scenarios/smmu-dma.yaml", 6],
  ] as const)("recorded %s seed %i: every checkpoint's hash is the hash from scratch, on both paths", (name, seed) => {
    const bytes = recordBytes(resolveScenario(name), { seed, maxEvents: 1500, blockEvents: 100 });
    for (const path of ["fast", "pure"] as const) {
      const reader = readerOf(bytes);
      expect(reader.header.stateHash).toBe(2);
      let checked = 0;
      const r = replay(hvModel, hvModel.genesis(reader.header.config as MachineConfig), reader.items(), {
        path,
        until: path === "pure" ? 500 : undefined,
        onCheckpoint: (_seq, hash, snapshot) => {
          expect(treeHash(snapshot(), false)).toBe(hash);
          checked += 1;
        },
      });
      expect(r.finding).toBeNull();
      expect(checked).toBeGreaterThan(path === "pure" ? 4 : 10);
    }
  });
});
