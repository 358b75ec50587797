import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { packBlock, packRecords } from "./record-packer.ts";
import { encodeBody, packWithMsgpackr } from "./codec.ts";
import { storedEvents } from "./compression.ts";
import { splitByteColumn } from "./byte-column.ts";

const hex = (b: Uint8Array | null): string | null => (b === null ? null : Buffer.from(b).toString("hex"));
function sameAsMsgpackr(v: unknown): void {
  expect(hex(packRecords(v))).toBe(hex(packWithMsgpackr(v)));
}

// Keys from a small pool, so key lists repeat within a body and, in long arrays, more than 64
// distinct ones are met (the record ids cycle); integer-like keys enumerate before the others.
const key = fc.constantFrom("kind", "t", "vm", "a", "b", "c", "d", "e", "f", "g", "1", "10", "200");
const number = fc.oneof(
  fc.integer({ min: -40, max: 300 }),
  fc.integer(),
  fc.constantFrom(0x3f, 0x40, 0x7f, 0xff, 0x100, 0xffff, 0x10000, 2 ** 32 - 1, 2 ** 32, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -0, 0.5, NaN, Infinity),
  fc.double(),
  fc.maxSafeInteger(),
);
const bigint = fc.oneof(
  fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }),
  fc.constantFrom(0n, 255n, 256n, (1n << 48n) - 1n, 1n << 48n, (1n << 64n) - 1n, 1n << 64n, -1n, -(1n << 63n), 1n << 127n, 1n << 200n),
);
const string = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: "binary", maxLength: 40 }), fc.string({ minLength: 250, maxLength: 300 }), fc.constantFrom("\ud800", "x\udc00y", "😀", "é".repeat(16)));
const plain = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    number,
    bigint,
    string,
    fc.boolean(),
    fc.constantFrom(null, undefined),
    fc.uint8Array({ maxLength: 300 }),
    fc.array(tie("value"), { maxLength: 20 }),
    fc.dictionary(key, tie("value"), { maxKeys: 7, noNullPrototype: true }),
  ),
})).value;
// Many small objects of many key lists: the shape of a block of events.
const manyShapes = fc.array(fc.dictionary(key, fc.oneof(number, fc.boolean(), bigint), { maxKeys: 8, noNullPrototype: true }), { minLength: 60, maxLength: 400 });

describe("record packer", () => {
  it("writes msgpackr's bytes for every value a trace holds", () => {
    fc.assert(fc.property(plain, (v) => sameAsMsgpackr({ v })), { numRuns: 400 });
  });

  it("writes msgpackr's bytes past 64 key lists in one body, where record ids are taken over", () => {
    fc.assert(fc.property(manyShapes, (v) => sameAsMsgpackr(v)), { numRuns: 150 });
  });

  it("packs a block's events in their stored form without copying them into it: the bytes and column of the copies", () => {
    // Events as recorded: fields, then t and seq; some carry long byte fields, in any position.
    const event = fc.record(
      {
        kind: fc.constantFrom("vm_mem_write", "stage2_fault", "virq_ack"),
        vm: fc.integer({ min: 128, max: 131 }),
        data: fc.uint8Array({ maxLength: 100 }),
        value: bigint,
        payload: fc.uint8Array({ minLength: 60, maxLength: 70 }),
      },
      { requiredKeys: ["kind"] },
    );
    const block = fc.tuple(fc.integer({ min: 0, max: 1e6 }), fc.array(fc.tuple(event, fc.integer({ min: 0, max: 5000 }), plain), { minLength: 1, maxLength: 80 }));
    fc.assert(
      fc.property(block, ([t0, items]) => {
        let t = t0;
        const events = items.map(([e, dt], i) => ({ ...e, t: (t += dt), seq: 1000 + i }));
        const outcomes = items.map(([, , o]) => ({ o }));
        const copies = splitByteColumn(storedEvents(events, t0));
        const fast = packBlock(1000, t0, events, outcomes, 64)!;
        expect(hex(fast.packed)).toBe(hex(packWithMsgpackr({ first: 1000, t0, events: copies.events, outcomes })));
        expect(fast.column).toEqual(copies.column);
      }),
      { numRuns: 150 },
    );
    // What it does not write, it leaves to the copies' path.
    expect(packBlock(0, 0, [{ kind: "x", t: 1, seq: 0 }], [{ odd: new Map() }], 64)).toBeNull();
  });

  it("makes every body self-contained: the same value gives the same bytes whatever was packed before", () => {
    fc.assert(
      fc.property(manyShapes, manyShapes, (a, b) => {
        const alone = hex(packRecords(b));
        packRecords(a);
        expect(hex(packRecords(b))).toBe(alone);
      }),
      { numRuns: 60 },
    );
  });

  it("keeps its bytes when its cache of key lists starts again", () => {
    // Snapshots key objects by addresses: 130 bodies of 1,000 keys each never seen before.
    for (let body = 0; body < 130; body++) {
      const o: Record<string, number> = {};
      for (let i = 0; i < 1000; i++) o[`p${body}_${i}`] = i;
      const v = [o, { kind: "x", t: body }, { kind: "x", t: body }];
      if (body % 16 === 0 || body > 100) sameAsMsgpackr(v);
      else packRecords(v);
    }
  });

  it("leaves what it does not write to msgpackr, which packs the whole body", () => {
    class Point {
      constructor(readonly x: number) {}
    }
    for (const odd of [new Map([[1, 2]]), new Date(0), new Uint16Array([1, 2]), new Point(3), Object.create(null) as object, new Set([1])]) {
      expect(packRecords({ ok: 1, odd })).toBeNull();
      expect(hex(encodeBody({ ok: 1, odd }))).toBe(hex(packWithMsgpackr({ ok: 1, odd })));
    }
  });

  it("names the bytes it writes (a few by hand: a definition, a reused id, a bigint, bytes)", () => {
    // {k:1},{k:2}: fixarray of 2; record 0x40 defined with keys ["k"]; then 0x40 alone.
    expect(hex(packRecords([{ k: 1 }, { k: 2 }]))).toBe("92" + "d47240" + "91a16b" + "01" + "40" + "02");
    // 0x40..0x7f are record ids, so 64 is a uint8; 300n is extension 0x42 with two bytes.
    expect(hex(packRecords([64, 300n, -1n, new Uint8Array([9])]))).toBe("94" + "cc40" + "d542012c" + "d44301" + "c40109");
  });
});
