import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { canonicalString, stateHash as stateHashAs, STATE_HASH_DEFINITIONS_READ } from "../src/core/hash.ts";
import { findNonSerializableValue } from "../src/core/serializable.ts";
import { plainEqual } from "../src/core/equal.ts";
import { plainData as plain } from "./arbitraries.ts";

/**
 * Definition 1, the whole-state hash (traces made before definition 2 carry it and must still
 * verify). Definition 2 is checked against its own straightforward form in core-hash-tree.test.ts.
 */
const stateHash = (v: unknown): string => stateHashAs(v, 1);


/** Any UTF-16 code unit, lone surrogates included: strings the UTF-8 encoder must treat like Node does. */
const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));

/** Plain data as the state holds it, plus the cases the hash's fast paths must get right. */
const stateLike = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.integer(),
    fc.maxSafeInteger(),
    fc.constant(-0),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.bigInt(),
    fc.string(),
    fc.string({ unit: anyCodeUnit }),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.uint8Array({ maxLength: 8 }),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 4 }), tie("value"), { maxKeys: 4 }),
    // Many keys (the generic sort), integer-like keys of mixed widths, non-ASCII keys.
    fc.dictionary(fc.oneof(fc.nat({ max: 200 }).map(String), fc.string({ maxLength: 3 })), tie("value"), { minKeys: 30, maxKeys: 60 }),
    fc.dictionary(fc.string({ unit: anyCodeUnit, maxLength: 3 }), tie("value"), { maxKeys: 6 }),
  ),
})).value;

/** The straightforward form of `stateHash`: build the whole encoding as one string, then hash it. */
function referenceStateHash(value: unknown): string {
  const sha = (x: string | Uint8Array) => createHash("sha256").update(x).digest("hex");
  const enc = (v: unknown): string => {
    if (v instanceof Uint8Array) return `x${v.length}:${sha(v)};`;
    if (Array.isArray(v)) return `[${v.map(enc).join("")}]`;
    if (typeof v === "object" && v !== null) {
      const o = v as Record<string, unknown>;
      const fields = Object.keys(o)
        .sort()
        .filter((k) => o[k] !== undefined)
        .map((k) => `s${k.length}:${k}${enc(o[k])}`);
      return `{${fields.join("")}}`;
    }
    return canonicalString(v);
  };
  return sha(enc(value));
}

function reorderKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reorderKeys);
  if (typeof v !== "object" || v === null || v instanceof Uint8Array) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).reverse()) out[k] = reorderKeys((v as Record<string, unknown>)[k]);
  return out;
}

describe.each(STATE_HASH_DEFINITIONS_READ)("state hash definition %i", (definition) => {
  const hash = (v: unknown): string => stateHashAs(v, definition);
  it("is independent of key insertion order", () => {
    fc.assert(fc.property(stateLike, (v) => hash(v) === hash(reorderKeys(v))), { numRuns: 200 });
  });

  it("tells numbers, bigints and strings apart, at the top and deep down", () => {
    const deep = (x: unknown) => ({ a: { b: { c: { d: { e: { f: { g: x } } } } } } });
    for (const wrap of [(x: unknown) => ({ a: x }), deep]) {
      const hashes = new Set([hash(wrap(1)), hash(wrap(1n)), hash(wrap("1")), hash(wrap(true)), hash(wrap([1])), hash(wrap({ 0: 1 }))]);
      expect(hashes.size).toBe(6);
    }
  });

  it("refuses non-finite numbers", () => {
    expect(() => hash({ a: Number.NaN })).toThrow(/non-finite/);
    expect(() => hash([1, Number.POSITIVE_INFINITY])).toThrow(/non-finite/);
  });
});

describe("canonical state hash (definition 1)", () => {
  it("is independent of key insertion order", () => {
    fc.assert(fc.property(plain, (v) => stateHash(v) === stateHash(reorderKeys(v))));
  });

  it("tells numbers, bigints and strings apart", () => {
    const hashes = new Set([stateHash({ a: 1 }), stateHash({ a: 1n }), stateHash({ a: "1" }), stateHash({ a: true })]);
    expect(hashes.size).toBe(4);
  });

  it("has a pinned value for a fixed state, so a change in the encoding is caught", () => {
    expect(canonicalString({ b: [1, 2n], a: "x" })).toBe("{s1:as1:xs1:b[n1;b2;]}");
    expect(stateHash({ b: [1, 2n], a: "x" })).toBe("9731592cccdf06d32895d680c78d5449d5bdd3c0caceebb147c3d7f43b5f77c3");
  });

  it("refuses non-finite numbers", () => {
    expect(() => stateHash({ a: Number.NaN })).toThrow(/non-finite/);
    expect(() => stateHash([1, Number.POSITIVE_INFINITY])).toThrow(/non-finite/);
  });

  it("equals the straightforward encoding, hashed whole, on any plain data", () => {
    fc.assert(fc.property(stateLike, (v) => stateHash(v) === referenceStateHash(v)), { numRuns: 300 });
  });

  it("equals the straightforward encoding across buffer chunks and for non-ASCII text", () => {
    const long = "k".repeat(70_000);
    const cases: unknown[] = [
      { s: long, t: `é${long}`, u: "\ud800x\udc00", v: "😀", [long]: 1 },
      Array.from({ length: 20_000 }, (_, i) => ({ i, s: `é${i}`, n: -i * 1_000_003, b: BigInt(-i) })),
      { "10": 1, "9": 2, "100": 3, a: 4, "": 5, "\u00e9": 6, Z: 7, "-1": 8 },
      { a: undefined, b: [undefined, null], c: new Uint8Array(100_000).fill(7) },
      [0, -0, 1.5, -2.25e-7, 1e21, 2 ** 53, -(2 ** 53) + 1],
      { big: 2n ** 300_000n, neg: -(2n ** 64n) },
    ];
    for (const v of cases) expect(stateHash(v)).toBe(referenceStateHash(v));
  });

  it("agrees with plainEqual: equal values hash equal", () => {
    fc.assert(fc.property(plain, (v) => plainEqual(v, reorderKeys(v)) && canonicalString(v) === canonicalString(reorderKeys(v))));
  });
});

/** The first form of `plainEqual`, kept as the specification of its semantics. */
function referenceEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => referenceEqual(x, b[i]));
  }
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.compare(a, b) === 0;
  }
  const defined = (o: object) => Object.entries(o).filter(([, x]) => x !== undefined);
  const da = defined(a);
  return da.length === defined(b).length && da.every(([k, x]) => referenceEqual(x, (b as Record<string, unknown>)[k]));
}

/** A variant of `v` that is sometimes equal to it: keys reordered, undefined keys added, one leaf changed. */
function variantOf(v: unknown, how: number): unknown {
  if (Array.isArray(v)) return v.map((x, i) => (i === 0 ? variantOf(x, how) : x));
  if (v instanceof Uint8Array) return how % 3 === 0 && v.length > 0 ? v.map((x, i) => (i === 0 ? x ^ 1 : x)) : v.slice();
  if (typeof v !== "object" || v === null) return how % 5 === 0 ? typeof v === "number" ? v + 1 : String(v) : v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).reverse()) out[k] = variantOf((v as Record<string, unknown>)[k], how >> 1);
  if (how % 7 === 1) out["extra"] = undefined;
  if (how % 11 === 2) out["extra"] = 0;
  return out;
}

describe("plainEqual", () => {
  it("agrees with the reference on related and unrelated values", () => {
    fc.assert(
      fc.property(stateLike, stateLike, fc.nat(), (v, w, how) => {
        const u = variantOf(v, how);
        return (
          plainEqual(v, u) === referenceEqual(v, u) &&
          plainEqual(u, v) === referenceEqual(u, v) &&
          plainEqual(v, w) === referenceEqual(v, w)
        );
      }),
      { numRuns: 500 },
    );
  });

  it("ignores key order and undefined-valued keys, compares bytes by content", () => {
    expect(plainEqual({ a: 1, b: [2, { c: 3 }] }, { b: [2, { c: 3 }], a: 1 })).toBe(true);
    expect(plainEqual({ a: 1, z: undefined }, { a: 1 })).toBe(true);
    expect(plainEqual({ a: 1 }, { a: 1, z: undefined })).toBe(true);
    expect(plainEqual({ a: undefined }, { b: undefined })).toBe(true);
    expect(plainEqual({ a: 1 }, { a: 1, z: null })).toBe(false);
    expect(plainEqual({ a: 1, z: 0 }, { a: 1 })).toBe(false);
    expect(plainEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(plainEqual({ d: new Uint8Array([1, 2]) }, { d: new Uint8Array([1, 3]) })).toBe(false);
    expect(plainEqual({ d: new Uint8Array([1, 2]) }, { d: [1, 2] })).toBe(false);
    expect(plainEqual([1, 2], { 0: 1, 1: 2 })).toBe(false);
    expect(plainEqual({ 0: 1, 1: 2 }, [1, 2])).toBe(false);
    expect(plainEqual({ a: 1n }, { a: 1 })).toBe(false);
    expect(plainEqual({ a: Number.NaN }, { a: Number.NaN })).toBe(false);
  });
});

describe("findNonSerializableValue", () => {
  it("returns the path of the first non-plain value", () => {
    expect(findNonSerializableValue({ a: { b: [1, new Map()] } })).toEqual({ keyPath: "a.b.1", value: new Map() });
    expect(findNonSerializableValue({ a: 1.5 })).toEqual({ keyPath: "a", value: 1.5 });
    expect(findNonSerializableValue({ f: () => 1 })).toMatchObject({ keyPath: "f" });
  });
  it("accepts plain data", () => {
    expect(findNonSerializableValue({ a: [1, 2n, "s", null, true, new Uint8Array(2)], b: { c: {} } })).toBe(false);
  });
});
