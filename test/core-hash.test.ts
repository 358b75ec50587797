import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { canonicalString, stateHash } from "../src/core/hash.ts";
import { findNonSerializableValue } from "../src/core/serializable.ts";
import { plainEqual } from "../src/core/equal.ts";

const plain = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.integer(),
    fc.bigInt(),
    fc.string(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 4 }), tie("value"), { maxKeys: 4 }),
  ),
})).value;

function reorderKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reorderKeys);
  if (typeof v !== "object" || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).reverse()) out[k] = reorderKeys((v as Record<string, unknown>)[k]);
  return out;
}

describe("canonical state hash", () => {
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
  });

  it("agrees with plainEqual: equal values hash equal", () => {
    fc.assert(fc.property(plain, (v) => plainEqual(v, reorderKeys(v)) && canonicalString(v) === canonicalString(reorderKeys(v))));
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
