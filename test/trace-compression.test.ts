/**
 * Trace format 3's compressed bodies: every record but the header is compressed, a body that
 * passes its CRC but does not inflate, inflates to garbage or inflates without bound is damage at
 * that record (one line, everything before it still read), and format 1 and 2 files still read.
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
import { cli, hasStackTrace, readerOf, recordBytes, tempDir } from "./helpers.ts";
import { assemble, indexOfType, splitTrace } from "./trace-edit.ts";

const dir = tempDir();
const bytes = recordBytes(smokeScenario, { seed: 7, maxEvents: 60, blockEvents: 16, snapshotEveryBlocks: 2 });
const tagged = (payload: Uint8Array): Uint8Array => Buffer.concat([Buffer.from([COMPRESSED_TAG]), payload]);

/** The trace with block 2's stored body replaced (checksums right), where that block starts, and the events before it. */
function withBlock2(body: Uint8Array): { file: Buffer; offset: number } {
  const rs = splitTrace(bytes);
  rs[indexOfType(rs, RecordType.block, 2)]!.raw = body;
  const file = assemble(rs, { footer: "keep" });
  return { file, offset: readerOf(bytes).footer()!.blocks[2]![0] };
}

describe("compressed record bodies (format 3)", () => {
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

  const damaged: [string, Uint8Array, string][] = [
    ["does not inflate", tagged(Buffer.from([0xff, 0xff, 0xff, 0xff])), "its compressed body does not inflate"],
    ["is cut inside its deflate stream", tagged(deflateRawSync(Buffer.alloc(4000, 7)).subarray(0, 6)), "its compressed body does not inflate"],
    ["inflates to bytes that are not msgpack", tagged(deflateRawSync(Buffer.from([0xc1, 0xc1]))), "its body inflates to bytes that are not msgpack"],
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
    const bomb = tagged(Buffer.concat([...Array<Buffer>(runs).fill(mib), deflateRawSync(Buffer.alloc(0))]));
    expect(bomb.length).toBeLessThan(300_000);
    const { file, offset } = withBlock2(bomb);
    const reader = readerOf(file);
    expect([...reader.items()].filter((i) => i.type === "block").length).toBe(2);
    expect(reader.damage).toEqual({ code: "TRACE_MALFORMED", offset, block: 2, eventsBefore: 32, message: `undecodable block record at offset ${offset}: its compressed body inflates past ${INFLATED_BYTES_MAX} bytes` });
  });

  it("writes format 2 on request, byte for byte as the format 2 writer did (its pinned SHA-256), and reads it", () => {
    const v2 = recordBytes(smokeScenario, { seed: 7, maxEvents: 2000, formatVersion: 2 });
    expect(createHash("sha256").update(v2).digest("hex")).toBe("aba5672c31d7f03c3141cd5c39d230a3f01ff56db8ede1dddbe6d20263459aa6");
    // Format 2 keeps its writers' layout (1024-event blocks, a snapshot every 16); format 3's
    // default is 4096 and every 4th, so the same layout is asked for to compare the two.
    expect([readerOf(v2).header.blockEvents, readerOf(recordBytes(smokeScenario, { seed: 7, maxEvents: 10 })).header.blockEvents]).toEqual([1024, 4096]);
    const v3 = recordBytes(smokeScenario, { seed: 7, maxEvents: 2000, blockEvents: 1024, snapshotEveryBlocks: 16 });
    const a = scanTrace(readerOf(v2));
    const b = scanTrace(readerOf(v3));
    expect([a.damage, b.damage, a.header.formatVersion, b.header.formatVersion]).toEqual([null, null, 2, 3]);
    expect({ ...b, header: null, bytes: 0, deltaSnapshots: 0 }).toEqual({ ...a, header: null, bytes: 0 });
    expect(v3.length * 3).toBeLessThan(v2.length);
  });

  it("format 1 and 2 files still read whole, and info says which format each file is", async () => {
    const cases: [string, RegExp][] = [
      ["test/fixtures/format1/smoke-s7.hvt", /format 1: msgpack records, older than this build's 3: read, never written\)$/],
      ["traces/pvm-boot-s1.hvt", /format 2: msgpack records, checksummed trailer, older than this build's 3: read, never written\)$/],
    ];
    for (const [f, format] of cases) {
      expect(scanTrace(readerOf(readFileSync(f))).damage).toBe(null);
      const info = await cli("info", f);
      expect(info.code).toBe(0);
      expect(info.stdout[0]).toMatch(format);
    }
    const f = join(dir, "v3.hvt");
    writeFileSync(f, bytes);
    const info = await cli("info", f);
    expect(info.stdout[0]).toMatch(/, format 3: deflate-compressed records, snapshots as deltas\)$/);
    expect(info.stdout).toContainEqual("checkpoint 5 (2 with a stored state: 1 whole, 1 delta)");
  });
});
