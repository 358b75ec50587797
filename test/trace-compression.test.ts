/**
 * Trace format 4's compressed bodies: every record but the header is compressed (a block's events
 * with its byte column after them), a body that passes its CRC but does not inflate, inflates to
 * garbage or without bound, or whose byte column does not fit its events is damage at that record
 * (one line, everything before it still read), and format 1, 2 and 3 files still read.
 */
import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { constants, deflateRawSync } from "node:zlib";
import { smokeScenario } from "../src/sim/builtin/smoke.ts";
import { FRAME_BYTES, MAGIC, RecordType } from "../src/trace/format.ts";
import { COMPRESSED_TAG, INFLATED_BYTES_MAX } from "../src/trace/compression.ts";
import { scanTrace } from "../src/trace/scan.ts";
import { encodeBody } from "../src/trace/codec.ts";
import { resolveScenario } from "../src/sim/resolve.ts";
import { cli, hasStackTrace, readerOf, recordBytes, tempDir } from "./helpers.ts";
import { assemble, indexOfType, splitTrace } from "./trace-edit.ts";

const dir = tempDir();
const bytes = recordBytes(smokeScenario, { seed: 7, maxEvents: 60, blockEvents: 16, snapshotEveryBlocks: 2 });
const tagged = (payload: Uint8Array): Uint8Array => Buffer.concat([Buffer.from([COMPRESSED_TAG]), payload]);
/** A format 4 block body: the tag, the length of the compressed events, them, then the byte column as it is. */
const blockBody = (deflated: Uint8Array, column: Uint8Array = encodeBody([]), claimed = deflated.length): Uint8Array => {
  const n = Buffer.alloc(4);
  n.writeUInt32LE(claimed);
  return Buffer.concat([Buffer.from([COMPRESSED_TAG]), n, deflated, column]);
};

/** The trace with block 2's stored body replaced (checksums right), where that block starts, and the events before it. */
function withBlock2(body: Uint8Array): { file: Buffer; offset: number } {
  const rs = splitTrace(bytes);
  rs[indexOfType(rs, RecordType.block, 2)]!.raw = body;
  const file = assemble(rs, { footer: "keep" });
  return { file, offset: readerOf(bytes).footer()!.blocks[2]![0] };
}

describe("compressed record bodies (format 4)", () => {
  it("stores the header as msgpack and every other record compressed", () => {
    let at = MAGIC.length;
    const tags: number[] = [];
    while (bytes.subarray(at, at + 8).toString("latin1") !== "HVSIMEND") {
      tags.push(bytes[at]!, bytes[at + FRAME_BYTES]!);
      at += FRAME_BYTES + bytes.readUInt32LE(at + 1);
    }
    expect(tags[0]).toBe(RecordType.header);
    expect(tags[1]).not.toBe(COMPRESSED_TAG);
    for (let i = 2; i < tags.length; i += 2) expect(tags[i + 1]).toBe(COMPRESSED_TAG);
    expect(tags.length / 2).toBe(1 + 1 + 4 * 2 + 1); // header, genesis, 4 blocks with checkpoints, footer
  });

  // Block 2 as it was decoded, to build bodies whose events are fine and whose column is not.
  const block2 = splitTrace(bytes)[indexOfType(splitTrace(bytes), RecordType.block, 2)]!.body as { events: Record<string, unknown>[] };
  const withPlace = (place: number): Uint8Array => {
    const events = block2.events.map((e, i) => (i === 3 ? { ...e, data: place } : e));
    return deflateRawSync(encodeBody({ ...block2, events }));
  };
  const asFormat3 = deflateRawSync(encodeBody(block2));
  const damaged: [string, Uint8Array, string][] = [
    ["does not inflate", blockBody(Buffer.from([0xff, 0xff, 0xff, 0xff])), "its compressed body does not inflate"],
    ["is cut inside its deflate stream", blockBody(deflateRawSync(Buffer.alloc(4000, 7)).subarray(0, 6)), "its compressed body does not inflate"],
    ["inflates to bytes that are not msgpack", blockBody(deflateRawSync(Buffer.from([0xc1, 0xc1]))), "its events inflate to bytes that are not msgpack"],
    ["claims more compressed bytes than it holds", blockBody(deflateRawSync(encodeBody(block2)), encodeBody([]), 1_000_000), "its compressed events claim 1000000 bytes, past the end of the body"],
    ["has a byte column that is not msgpack", blockBody(deflateRawSync(encodeBody(block2)), Buffer.from([0x93, 0x01])), "its byte column is not msgpack"],
    ["has a byte column entry for an event that does not hold its place", blockBody(withPlace(1), encodeBody([3, "data", new Uint8Array(64)])), "byte column entry 0 names the data of event 3 of the block, which does not hold its place"],
    ["has a byte column entry past its events", blockBody(withPlace(0), encodeBody([99, "data", new Uint8Array(64)])), "byte column entry 0 is not (an event of the block, a field, bytes)"],
    // Its first four deflate bytes read as the length of the compressed events.
    ["is the whole body compressed, as format 3 stored it", tagged(asFormat3), `its compressed events claim ${asFormat3.readUInt32LE(0)} bytes, past the end of the body`],
  ];
  for (const [what, body, why] of damaged) {
    it(`a body that passes its CRC but ${what} is TRACE_MALFORMED at that record, after every record before it`, async () => {
      const { file, offset } = withBlock2(body);
      const reader = readerOf(file);
      const blocks = [...reader.items()].filter((i) => i.type === "block").length;
      expect(blocks).toBe(2);
      expect(reader.damage).toEqual({ code: "TRACE_MALFORMED", offset, block: 2, eventsBefore: 32, message: `undecodable block record at offset ${offset}: ${why}` });
      const f = join(dir, "bad-body.hvt");
      writeFileSync(f, file);
      const r = await cli("replay", f);
      expect(r.code).toBe(2);
      expect(r.stderr).toEqual([expect.stringContaining(`damaged at byte offset ${offset} (block 2): undecodable block record at offset ${offset}: ${why}; using the 32 whole events before it`)]);
      expect(hasStackTrace([...r.stdout, ...r.stderr])).toBe(false);
    });
  }

  it("a body that would inflate past the bound on a record (a decompression bomb) is damage, not an allocation", () => {
    // Independent 1 MiB runs of zeros (each ends in a full flush), then an empty final block: ~1 KiB per MiB.
    const mib = deflateRawSync(Buffer.alloc(1 << 20), { level: 9, finishFlush: constants.Z_FULL_FLUSH });
    const runs = INFLATED_BYTES_MAX / (1 << 20) + 1;
    const bomb = blockBody(Buffer.concat([...Array<Buffer>(runs).fill(mib), deflateRawSync(Buffer.alloc(0))]));
    expect(bomb.length).toBeLessThan(300_000);
    const { file, offset } = withBlock2(bomb);
    const reader = readerOf(file);
    expect([...reader.items()].filter((i) => i.type === "block").length).toBe(2);
    expect(reader.damage).toEqual({ code: "TRACE_MALFORMED", offset, block: 2, eventsBefore: 32, message: `undecodable block record at offset ${offset}: its compressed body inflates past ${INFLATED_BYTES_MAX} bytes` });
  });

  it("writes format 2 on request, byte for byte as the format 2 writer did (its pinned SHA-256), and reads it", () => {
    const v2 = recordBytes(smokeScenario, { seed: 7, maxEvents: 2000, formatVersion: 2 });
    expect(createHash("sha256").update(v2).digest("hex")).toBe("aba5672c31d7f03c3141cd5c39d230a3f01ff56db8ede1dddbe6d20263459aa6");
    // Format 2 keeps its writers' layout (1024-event blocks, a snapshot every 16); format 4's
    // default is 4096 and every 4th, so the same layout is asked for to compare the two.
    expect([readerOf(v2).header.blockEvents, readerOf(recordBytes(smokeScenario, { seed: 7, maxEvents: 10 })).header.blockEvents]).toEqual([1024, 4096]);
    const v3 = recordBytes(smokeScenario, { seed: 7, maxEvents: 2000, blockEvents: 1024, snapshotEveryBlocks: 16 });
    const a = scanTrace(readerOf(v2));
    const b = scanTrace(readerOf(v3));
    expect([a.damage, b.damage, a.header.formatVersion, b.header.formatVersion]).toEqual([null, null, 2, 4]);
    expect({ ...b, header: null, bytes: 0, deltaSnapshots: 0 }).toEqual({ ...a, header: null, bytes: 0 });
    expect(v3.length * 3).toBeLessThan(v2.length);
  });

  it("writes format 3 on request, byte for byte as the format 3 writer did (6e61526's SHA-256 of the same runs)", () => {
    const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
    expect(sha(recordBytes(smokeScenario, { seed: 7, maxEvents: 2000, formatVersion: 3 }))).toBe("e77811be63be9a16b0fa03fae86f621b48effb22f600f643f5e5de4a42781578");
    // 40k events of long-run: stored states as deltas, which format 3 never names bytes in.
    expect(sha(recordBytes(resolveScenario("long-run"), { seed: 7, maxEvents: 40_000, formatVersion: 3 }))).toBe("5b81752f4be5cdb9e02dbfc7ad8fb993d9ff433dd62990d0c61b8593a38c35a5");
  });

  it("format 1, 2 and 3 files still read whole, and info says which format each file is", async () => {
    const v3 = join(dir, "format3.hvt");
    writeFileSync(v3, recordBytes(resolveScenario("long-run"), { seed: 7, maxEvents: 40_000, formatVersion: 3 }));
    const cases: [string, RegExp][] = [
      ["test/fixtures/format1/smoke-s7.hvt", /format 1: msgpack records, older than this build's 4: read, never written\)$/],
      ["traces/pvm-boot-s1.hvt", /format 2: msgpack records, checksummed trailer, older than this build's 4: read, never written\)$/],
      [v3, /format 3: deflate-compressed records, snapshots as deltas, older than this build's 4: read, never written\)$/],
    ];
    for (const [f, format] of cases) {
      expect(scanTrace(readerOf(readFileSync(f))).damage).toBe(null);
      const info = await cli("info", f);
      expect(info.code).toBe(0);
      expect(info.stdout[0]).toMatch(format);
    }
    // A seek into format 3 rebuilds its stored states through their deltas (no names in them).
    expect((await cli("state", v3, "--at", "39000", "--path", "rm.nextParcelHandle")).code).toBe(0);
    const f = join(dir, "v4.hvt");
    writeFileSync(f, bytes);
    const info = await cli("info", f);
    expect(info.stdout[0]).toMatch(/, format 4: deflate-compressed events with a byte column, snapshots as deltas naming event bytes\)$/);
    expect(info.stdout).toContainEqual("checkpoint 5 (2 with a stored state: 1 whole, 1 delta)");
  });
});
