import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { freeze } from "immer";
import { mutableCopy } from "../src/core/reducer.ts";
import { stateHash } from "../src/core/hash.ts";
import { plainEqual } from "../src/core/equal.ts";
import { hvModel, DEFAULT_PLATFORM } from "../src/model/machine.ts";
import { plainData as plain } from "./arbitraries.ts";


/** Every object, array and byte array reachable from `v`. */
function containers(v: unknown, into = new Set<object>()): Set<object> {
  if (typeof v === "object" && v !== null) {
    into.add(v);
    if (!(v instanceof Uint8Array)) for (const x of Object.values(v)) containers(x, into);
  }
  return into;
}

describe("mutableCopy", () => {
  it("is an equal copy that shares no object, array or byte array with the original", () => {
    fc.assert(
      fc.property(plain, (v) => {
        const c = mutableCopy(v);
        const shared = [...containers(c)].filter((x) => containers(v).has(x));
        return plainEqual(c, v) && stateHash(c) === stateHash(v) && shared.length === 0 && Object.isFrozen(c) === (typeof c !== "object" || c === null);
      }),
    );
  });

  it("copies a frozen genesis state into a writable one, with the same hash and key order", () => {
    const genesis = freeze(hvModel.genesis({ platform: DEFAULT_PLATFORM }), true);
    const c = mutableCopy(genesis);
    expect(stateHash(c)).toBe(stateHash(genesis));
    expect(Object.keys(c)).toEqual(Object.keys(genesis));
    c.seq = 5;
    expect(genesis.seq).toBe(-1);
  });

  it("copies only a byte array's own bytes, as a plain Uint8Array", () => {
    const big = new Uint8Array(1 << 16).fill(3);
    const c = mutableCopy({ view: big.subarray(10, 14), buf: Buffer.from([1, 2]) });
    expect(c.view.buffer.byteLength).toBe(4);
    expect([...c.view]).toEqual([3, 3, 3, 3]);
    expect(Object.getPrototypeOf(c.buf)).toBe(Uint8Array.prototype);
    c.view[0] = 9;
    expect(big[10]).toBe(3);
  });
});
