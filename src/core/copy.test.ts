import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { shallowCopy } from "./copy.ts";

describe("shallowCopy", () => {
  it("gives what a spread gives (same keys in the same order), without the left-out keys", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 4 }), fc.anything({ maxDepth: 1 })), fc.string({ maxLength: 4 }), (o, omit) => {
        const { [omit]: _left, ...rest } = o;
        const copy = shallowCopy(o, omit);
        expect(Object.keys(copy)).toEqual(Object.keys(rest));
        expect(copy).toEqual(rest);
        expect(copy).not.toBe(o);
      }),
    );
  });

  it("leaves out two keys and copies values by reference", () => {
    const inner = { a: 1 };
    const copy = shallowCopy({ seq: 3, kind: "irq", t: 9, inner }, "seq", "t");
    expect(Object.keys(copy)).toEqual(["kind", "inner"]);
    expect(copy.inner).toBe(inner);
  });
});
