import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { decodeBody, encodeBody } from "./codec.ts";
import { plainEqual } from "../core/equal.ts";

// Plain data as state and events hold it: bigints (registers) anywhere, nested in objects and arrays.
const plain = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }),
    fc.integer(),
    fc.string({ maxLength: 6 }),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 8 }),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.stringMatching(/^[a-z]{1,4}$/), tie("value"), { maxKeys: 4 }),
  ),
})).value;

describe("body codec", () => {
  it("decodes what it encodes, bigints included, and leaves the input as it was", () => {
    fc.assert(
      fc.property(plain, (v) => {
        const before = structuredClone(v);
        const back = decodeBody(encodeBody({ v }));
        // Bytes come back as Buffers (a Uint8Array): equal as plain data, as replay compares them.
        expect(plainEqual(back, { v: before })).toBe(true);
        expect(v).toEqual(before);
      }),
      { numRuns: 300 },
    );
  });

  it("stores a small bigint in a few bytes, as the extension, not as a 9-byte int64", () => {
    expect(encodeBody([5n]).length).toBeLessThan(encodeBody([1n << 62n]).length);
    expect(decodeBody(encodeBody({ a: [1, { b: -3n }], c: 7n }))).toEqual({ a: [1, { b: -3n }], c: 7n });
  });
});
