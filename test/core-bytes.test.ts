import { describe, expect, it } from "vitest";
import { produce, freeze } from "immer";
import { writableBytes } from "../src/core/bytes.ts";
import { stateHash } from "../src/core/hash.ts";
import { mutableCopy } from "../src/core/reducer.ts";

interface S {
  pages: Record<number, Uint8Array>;
}

describe("writableBytes", () => {
  it("copies on the pure path: the earlier state keeps its bytes and its hash", () => {
    const before: S = freeze({ pages: { 3: new Uint8Array([1, 2, 3]) } }, true);
    const hashBefore = stateHash(before);
    const after = produce(before, (d) => {
      writableBytes(d.pages, 3, 3)[0] = 9;
    });
    expect([...before.pages[3]!]).toEqual([1, 2, 3]);
    expect(stateHash(before)).toBe(hashBefore);
    expect([...after.pages[3]!]).toEqual([9, 2, 3]);
    expect(after.pages[3]).not.toBe(before.pages[3]);
  });

  it("writes in place on a private copy and forgets the remembered digest", () => {
    const working: S = mutableCopy({ pages: { 3: new Uint8Array([1, 2, 3]) } });
    const page = working.pages[3]!;
    const h1 = stateHash(working);
    writableBytes(working.pages, 3, 3)[1] = 7;
    expect(working.pages[3]).toBe(page);
    expect(stateHash(working)).not.toBe(h1);
    expect(stateHash(working)).toBe(stateHash({ pages: { 3: new Uint8Array([1, 7, 3]) } }));
  });

  it("creates a zeroed array of the asked size where there is none, on both paths", () => {
    const working: S = { pages: {} };
    expect([...writableBytes(working.pages, 5, 4)]).toEqual([0, 0, 0, 0]);
    expect(working.pages[5]?.length).toBe(4);
    const next = produce(freeze({ pages: {} } as S, true), (d) => {
      writableBytes(d.pages, 1, 2)[1] = 4;
    });
    expect([...next.pages[1]!]).toEqual([0, 4]);
  });
});
