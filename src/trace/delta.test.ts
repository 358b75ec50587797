import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { BYTES, DeltaError, REF, REF_BYTES_MIN, SET, applyDelta, encodeDelta, type ResolveRef } from "./delta.ts";
import { WindowBytes } from "./window-bytes.ts";
import { splitByteColumn } from "./byte-column.ts";
import type { EventBase } from "../core/event.ts";
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

  describe("naming bytes an event of the window carried (REF)", () => {
    const big = fc.uint8Array({ minLength: REF_BYTES_MIN, maxLength: 160 });
    const windowOf = (carried: readonly Uint8Array[]) => {
      const events = carried.map((data, i) => ({ seq: 100 + i, t: 0, kind: "vm_mem_write", vm: 1, ipa: 0, data }) as unknown as EventBase);
      const window = new WindowBytes();
      // As the writer fills it: from the byte column of the block the events were written in.
      window.noteColumn(100, splitByteColumn(events as unknown as Record<string, unknown>[]).column);
      const resolve: ResolveRef = (seq, field) => {
        const ev = events[seq - 100] as unknown as Record<string, unknown> | undefined;
        return ev !== undefined && ev[field] instanceof Uint8Array ? (ev[field] as Uint8Array) : "not in the window";
      };
      return { window, resolve };
    };

    it("applying a delta through the window's events gives next, whatever was named (property)", () => {
      fc.assert(
        fc.property(plain, fc.array(fc.nat(), { maxLength: 60 }), fc.array(big, { minLength: 1, maxLength: 4 }), fc.nat(), (base, picks, carried, which) => {
          // The state holds a copy of what an event carried, never the event's own array.
          const next = edited(base, picks, new Uint8Array(carried[which % carried.length]!));
          const { window, resolve } = windowOf(carried);
          const change = encodeDelta(base, next, window);
          const back = applyDelta(base, change, "snapshot", resolve);
          expect(plainEqual(back, next)).toBe(true);
          const packed = applyDelta(base, (decodeBody(encodeBody({ d: change })) as { d: unknown }).d, "snapshot", resolve);
          expect(plainEqual(packed, next)).toBe(true);
        }),
        { numRuns: 300 },
      );
    });

    it("a sector rewritten whole and a run of a page are named, short ones stored, and the state gets copies", () => {
      const data = new Uint8Array(512).map((_, i) => (i * 13 + 5) & 255);
      const run = new Uint8Array(100).map((_, i) => (i * 31 + 1) & 255);
      const { window, resolve } = windowOf([data, run]);
      const page = new Uint8Array(4096);
      const nextPage = new Uint8Array(page);
      nextPage.set(run, 200);
      nextPage.set([9, 9, 9], 1000);
      const base = { sectors: { 0: new Uint8Array(512) }, pages: { 1: page } };
      const next = { sectors: { 0: new Uint8Array(data), 1: new Uint8Array(data) }, pages: { 1: nextPage } };
      const change = encodeDelta(base, next, window);
      expect(change).toEqual([1, {
        sectors: [1, { 0: [REF, 100, "data"], 1: [REF, 100, "data"] }, [], null],
        pages: [1, { 1: [BYTES, [[200, 101, "data"], [1000, new Uint8Array([9, 9, 9])]]] }, [], null],
      }, [], null]);
      // Without the window the same change stores the bytes.
      expect((encodeDelta(base, next) as [number, { sectors: [number, Record<string, unknown>] }])[1].sectors[1][1]).toEqual([SET, data]);
      const back = applyDelta(base, change, "snapshot", resolve) as typeof next;
      expect(plainEqual(back, next)).toBe(true);
      expect(back.sectors[0]).not.toBe(data);
      expect(() => applyDelta(base, change)).toThrow("snapshot.sectors.0: refers to the data of event 100: no events to refer to");
    });
  });
});
