import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { BYTES, DeltaError, applyDelta, encodeDelta } from "./delta.ts";
import { decodeBody, encodeBody } from "./codec.ts";
import { plainEqual } from "../core/equal.ts";

// States as the model keeps them: nested mappings (numeric-looking keys too), lists, byte arrays.
const key = fc.oneof(fc.constantFrom("a", "b", "c", "ids", "byId"), fc.nat({ max: 9 }).map(String));
const plain = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.integer(),
    fc.bigInt({ min: -(1n << 66n), max: 1n << 66n }),
    fc.string({ maxLength: 4 }),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(key, tie("value"), { maxKeys: 5 }),
  ),
})).value;

/** A copy of `v` with edits picked by `picks`: values replaced, keys removed or added, lists grown or cut, bytes rewritten. */
function edited(v: unknown, picks: number[], fresh: unknown): unknown {
  const pick = (): number => picks.pop() ?? 0;
  const walk = (x: unknown): unknown => {
    const p = pick() % 8;
    if (p === 0) return fresh;
    if (x instanceof Uint8Array) {
      const out = new Uint8Array(x);
      if (out.length > 0 && p < 5) out[pick() % out.length] = pick() & 255;
      return p === 5 ? out.subarray(0, out.length >> 1) : out;
    }
    if (Array.isArray(x)) {
      const out = x.map(walk);
      if (p === 1) out.push(fresh);
      if (p === 2) out.length = Math.max(0, out.length - 1 - (pick() % 3));
      if (p === 3) out.reverse();
      return out;
    }
    if (typeof x === "object" && x !== null) {
      const out: Record<string, unknown> = {};
      const keys = Object.keys(x);
      if (p === 4) keys.reverse();
      for (const k of keys) if (!(p === 1 && pick() % 2 === 0)) Object.defineProperty(out, k, { value: walk((x as Record<string, unknown>)[k]), enumerable: true, writable: true, configurable: true });
      if (p === 2 || p === 4) Object.defineProperty(out, `n${pick() % 3}`, { value: fresh, enumerable: true, writable: true, configurable: true });
      return out;
    }
    return x;
  };
  return walk(v);
}

const sameKeyOrder = (a: unknown, b: unknown): boolean => {
  if (typeof a !== "object" || a === null || a instanceof Uint8Array) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.every((x, i) => sameKeyOrder(x, b[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b as object);
  return ka.join("\0") === kb.join("\0") && ka.every((k) => sameKeyOrder((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
};

const states = fc.tuple(plain, fc.array(fc.nat(), { maxLength: 60 }), plain).map(([base, picks, fresh]) => ({ base, next: edited(base, picks, fresh) }));

describe("snapshot deltas", () => {
  it("decode(base, encode(base, next)) is next, through the body codec too, keys in order, base untouched", () => {
    fc.assert(
      fc.property(fc.oneof(states, fc.record({ base: plain, next: plain })), ({ base, next }) => {
        const before = structuredClone(base);
        const change = encodeDelta(base, next);
        const direct = applyDelta(base, change);
        expect(plainEqual(direct, next)).toBe(true);
        expect(sameKeyOrder(next, direct)).toBe(true);
        // As a trace stores it: packed, unpacked, then applied to a base that was itself unpacked.
        const stored = decodeBody(encodeBody({ d: change })) as { d: unknown };
        const packedBase = (decodeBody(encodeBody({ b: base })) as { b: unknown }).b;
        const back = applyDelta(packedBase, stored.d);
        expect(plainEqual(back, next)).toBe(true);
        expect(sameKeyOrder(next, back)).toBe(true);
        expect(plainEqual(base, before)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it("costs nothing for what did not change and only the written bytes of a page", () => {
    const page = new Uint8Array(4096).map((_, i) => (i * 7) & 255);
    const base = { content: { pages: { 1: page, 2: new Uint8Array(page) } }, n: 1 };
    const next = { content: { pages: { 1: new Uint8Array(page), 2: new Uint8Array(page) } }, n: 1 };
    next.content.pages[2].set([1, 2, 3], 100);
    expect(encodeDelta(base, { ...base })).toBe(null);
    const change = encodeDelta(base, next);
    expect(change).toEqual([1, { content: [1, { pages: [1, { 2: [BYTES, [[100, new Uint8Array([1, 2, 3])]]] }, [], null] }, [], null] }, [], null]);
    expect(encodeBody(change).length).toBeLessThan(64);
  });

  it("a delta that does not fit its base is a DeltaError naming the path, never an unbounded value", () => {
    const base = { a: [1, 2], b: new Uint8Array(4), c: { d: 1 } };
    const cases: [unknown, RegExp][] = [
      [[1, { a: [2, 1_000_000_000, []] }, [], null], /^snapshot\.a: a list of 1000000000 from 2 with 0 changes$/],
      [[1, { b: [3, [[2, new Uint8Array(3)]]] }, [], null], /^snapshot\.b: a byte run at 2 \(3 bytes\) out of order or past 4$/],
      [[1, {}, ["zz"], null], /^snapshot: removes zz, which is not there$/],
      [[1, { c: [1, { e: [1, {}, [], null] }, [], null] }, [], null], /^snapshot\.c\.e: a change to a key that is not there$/],
      [[1, {}, [], ["a", "a", "b"]], /^snapshot: a key order with a repeated or unnamed key$/],
      [[7, 1], /^snapshot: not a change \(tag 7, 2 fields\)$/],
      [[1, { a: [3, []] }, [], null], /^snapshot\.a: a byte change on something that is not bytes$/],
    ];
    // A '__proto__' key in a (hostile) delta stays a key: never a prototype.
    const sneaky = applyDelta({}, JSON.parse('[1, {"__proto__": [0, {"polluted": 1}]}, [], null]')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(sneaky)).toBe(Object.prototype);
    expect(Object.keys(sneaky)).toEqual(["__proto__"]);
    expect((sneaky as { polluted?: number }).polluted).toBe(undefined);
    for (const [change, message] of cases) expect(() => applyDelta(base, change)).toThrow(DeltaError), expect(() => applyDelta(base, change)).toThrow(message);
  });
});
