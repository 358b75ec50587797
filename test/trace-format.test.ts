import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import fc from "fast-check";
import { TraceWriter } from "../src/trace/writer.ts";
import { memorySink, memorySource } from "../src/trace/source.ts";
import { TraceReader } from "../src/trace/reader.ts";
import { scanTrace } from "../src/trace/scan.ts";
import { FRAME_BYTES, MAGIC } from "../src/trace/format.ts";
import { HvsimError } from "../src/core/errors.ts";
import { smokeScenario } from "../src/sim/builtin/smoke.ts";
import { DEFAULT_PLATFORM } from "../src/model/machine.ts";
import { readerOf, recordBytes } from "./helpers.ts";

const header = {
  modelVersion: "test",
  scenario: { name: "t", hash: "00" },
  seed: 1,
  config: { platform: DEFAULT_PLATFORM },
  generator: "test",
};

const fieldValue = fc.oneof(
  fc.integer({ min: -1e9, max: 1e9 }),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
  fc.string({ maxLength: 8 }),
  fc.array(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { maxLength: 8 }),
  fc.boolean(),
);
const eventArb = fc.record({
  // Kinds the model has no field table for: this tests the format, not the events' field types.
  kind: fc.constantFrom("alpha", "beta_event", "gamma", "delta2"),
  dt: fc.integer({ min: 0, max: 5_000_000_000 }),
  fields: fc.dictionary(fc.constantFrom("vm", "vcpu", "call", "args", "ipa", "v"), fieldValue, { maxKeys: 4 }),
  outcome: fc.dictionary(fc.constantFrom("x", "fired", "pa"), fieldValue, { maxKeys: 3 }),
});

/** A state hash for writer tests: any 64 hex digits (the reader checks the form, replay the value). */
const hashOf = (s: string): string => createHash("sha256").update(s).digest("hex");

function writeEvents(events: { kind: string; dt: number; fields: Record<string, unknown>; outcome: Record<string, unknown> }[], blockEvents: number) {
  const sink = memorySink();
  const w = new TraceWriter(sink, header, { hash: hashOf("h-1"), t: 0, snapshot: { s: 0 } }, { blockEvents, snapshotEveryBlocks: 2 });
  let t = 0;
  const written: Record<string, unknown>[] = [];
  events.forEach((e, seq) => {
    t += e.dt;
    const ev = { ...e.fields, kind: e.kind, seq, t };
    written.push(ev);
    if (w.append(ev, e.outcome)) w.checkpoint(hashOf(`h${seq}`), w.wantsSnapshot() ? { s: seq } : undefined);
  });
  // The recorder's final hash is the state after the last event: the last checkpoint's hash.
  w.finish(hashOf(`h${events.length - 1}`));
  return { bytes: sink.bytes(), written };
}

describe("trace format", () => {
  it("write-then-read returns the same events and outcomes (property)", () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 60 }), fc.integer({ min: 1, max: 16 }), (events, blockEvents) => {
        const { bytes, written } = writeEvents(events, blockEvents);
        const reader = readerOf(bytes);
        const read = [...reader.events()];
        expect(reader.damage).toBeNull();
        expect(read.map((r) => r.ev)).toEqual(written);
        expect(read.map((r) => r.outcome)).toEqual(events.map((e) => e.outcome));
        expect(reader.footer()?.events).toBe(events.length);
      }),
      { numRuns: 150 },
    );
  });

  it("decodes events with the same keys in the same order before and after times leave the small-integer range", () => {
    // Blocks past 2^31 ns are rebuilt as copies (reader.ts toBlock): what a reader sees must not change.
    const fields = { vm: 3, vcpu: 1, ipa: 0x8000_0000n };
    const near = (start: number) => [0, 1, 2, 3].map((i) => ({ kind: "alpha", dt: i === 0 ? start : 7, fields, outcome: { x: i } }));
    for (const start of [1_000, 3_000_000_000, 2 ** 31 - 10, 2 ** 30 - 10]) {
      const { bytes, written } = writeEvents(near(start), 2);
      const read = [...readerOf(bytes).events()].map((r) => r.ev);
      expect(read).toEqual(written);
      expect(read.map((e) => Object.keys(e))).toEqual(read.map(() => ["vm", "vcpu", "ipa", "kind", "t", "seq"]));
      expect(read.map((e) => e.t)).toEqual([start, start + 7, start + 14, start + 21]);
    }
  });

  it("is byte-identical for the same scenario and seed, and differs for another seed", () => {
    const a = recordBytes(smokeScenario, { seed: 7 });
    const b = recordBytes(smokeScenario, { seed: 7 });
    const c = recordBytes(smokeScenario, { seed: 8 });
    expect(Buffer.compare(a, b)).toBe(0);
    expect(Buffer.compare(a, c)).not.toBe(0);
  });

  it("starts with the magic and a header naming model, scenario, seed and config", () => {
    const bytes = recordBytes(smokeScenario, { seed: 3, maxEvents: 10 });
    expect(bytes.subarray(0, 8).equals(MAGIC)).toBe(true);
    const h = readerOf(bytes).header;
    expect(h).toMatchObject({ magic: "HVSIMTRC", formatVersion: 4, snapshotFullEvery: 16, seed: 3, scenario: { name: "smoke", hash: smokeScenario.hash } });
  });

  it("refuses a file that is not a trace with TRACE_NOT_A_TRACE", () => {
    expect(() => TraceReader.open(memorySource(Buffer.from("hello world, not a trace")))).toThrowError(
      expect.objectContaining({ code: "TRACE_NOT_A_TRACE" }) as HvsimError,
    );
  });
});

describe("damaged traces", () => {
  const bytes = recordBytes(smokeScenario, { seed: 7, maxEvents: 2000, blockEvents: 256 });
  const whole = scanTrace(readerOf(bytes));

  it("a trace cut at 60% yields every whole block before the cut and names where the damage starts", () => {
    const cut = Math.floor(bytes.length * 0.6);
    const reader = readerOf(bytes.subarray(0, cut));
    const s = scanTrace(reader);
    const blocks = reader.footer();
    expect(blocks).toBeNull();
    // The damage is the record that straddles the cut: everything before it is whole.
    expect(s.damage?.code).toBe("TRACE_INCOMPLETE");
    const offsets = [...readerOf(bytes).items()].map((i) => i.offset);
    const straddling = offsets.filter((o) => o < cut).at(-1);
    expect(s.damage!.offset).toBe(straddling);
    expect(s.events).toBe(s.damage!.eventsBefore);
    expect(s.events % 256).toBe(0);
    expect(s.events).toBeGreaterThan(0);
    expect(s.events).toBeLessThan(whole.events);
  });

  it("a flipped byte inside a block is caught by that block's checksum and named", () => {
    const full = readerOf(bytes);
    const third = [...full.items()].filter((i) => i.type === "block")[2]!;
    const damaged = Buffer.from(bytes);
    damaged[third.offset + FRAME_BYTES + 40]! ^= 0x10;
    const s = scanTrace(readerOf(damaged));
    expect(s.damage).toMatchObject({ code: "TRACE_CHECKSUM", offset: third.offset, block: 2, eventsBefore: 512 });
    expect(s.events).toBe(512);
  });

  it("random byte damage never crashes the reader (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }), { minLength: 1, maxLength: 4 }),
        fc.option(fc.nat(), { nil: undefined }),
        (flips, cutAt) => {
          const d = Buffer.from(bytes);
          for (const f of flips) d[f.at % d.length]! ^= f.xor;
          const view = cutAt === undefined ? d : d.subarray(0, cutAt % d.length);
          try {
            const reader = readerOf(view);
            let n = 0;
            for (const _ of reader.events()) n += 1;
            reader.footer();
            expect(n).toBeLessThanOrEqual(whole.events);
          } catch (e) {
            // Only a clean, classified refusal is allowed: a damaged magic or header.
            expect(e).toBeInstanceOf(HvsimError);
            expect(["TRACE_NOT_A_TRACE", "TRACE_TRUNCATED", "TRACE_CHECKSUM", "TRACE_MALFORMED", "TRACE_INCOMPLETE"]).toContain((e as HvsimError).code);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
