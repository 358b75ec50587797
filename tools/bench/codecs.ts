/**
 * Which codec for trace format 3's record bodies (issue 15): records long-run in format 2 and in
 * format 3, then compresses every format 3 body (snapshots already deltas) alone with each of
 * Node's built-in codecs and prints bytes/event, split into blocks and checkpoints, and the time to
 * decode every body (inflate and unpack) against unpacking the format 2 bodies, and the time to
 * compress them (what recording pays), all in one run.
 *   node bin/run-ts.mjs tools/bundle.ts --run tools/bench/codecs.ts [EVENTS]
 */
import { performance } from "node:perf_hooks";
import { brotliCompressSync, brotliDecompressSync, constants, deflateRawSync, inflateRawSync } from "node:zlib";
import { record } from "../../src/sim/record.ts";
import { resolveScenario } from "../../src/sim/resolve.ts";
import { memorySink } from "../../src/trace/source.ts";
import { decodeBody, encodeBody } from "../../src/trace/codec.ts";
import { decodeRecordBody } from "../../src/trace/compression.ts";
import { FRAME_BYTES, MAGIC, RecordType } from "../../src/trace/format.ts";

const events = Number(process.argv[2] ?? 200_000);
const recordAs = (formatVersion: 2 | 3 | 4): Buffer => {
  const sink = memorySink();
  record(resolveScenario("long-run"), sink, { seed: 1, maxEvents: events, formatVersion });
  return sink.bytes();
};

interface Body {
  type: number;
  body: Buffer;
}
/** Frames: type u8, length u32le, crc32 u32le, body. */
function bodiesOf(file: Buffer): Body[] {
  const out: Body[] = [];
  for (let at = MAGIC.length; at + FRAME_BYTES <= file.length; ) {
    const type = file[at]!;
    const length = file.readUInt32LE(at + 1);
    if (type < 1 || type > 4 || at + FRAME_BYTES + length > file.length) break;
    out.push({ type, body: file.subarray(at + FRAME_BYTES, at + FRAME_BYTES + length) });
    at += FRAME_BYTES + length;
  }
  return out;
}

const v2 = recordAs(2);
const v3 = recordAs(3);
const v2Bodies = bodiesOf(v2);
// The format 3 content as msgpack (deltas in place of whole snapshots), to compress each way.
const packed: Body[] = bodiesOf(v3).map((b) => ({ type: b.type, body: Buffer.from(encodeBody(decodeRecordBody(b.body, b.type, 3))) }));

interface Codec {
  name: string;
  pack(b: Buffer): Buffer;
  unpack(b: Buffer): Buffer;
}
const deflate = (level: number): Codec => ({ name: `deflate-${level}`, pack: (b) => deflateRawSync(b, { level }), unpack: (b) => inflateRawSync(b) });
const brotli = (q: number): Codec => ({
  name: `brotli-${q}`,
  pack: (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: q, [constants.BROTLI_PARAM_SIZE_HINT]: b.length } }),
  unpack: (b) => brotliDecompressSync(b),
});
const none: Codec = { name: "msgpack", pack: (b) => b, unpack: (b) => b };
const codecs: Codec[] = [none, deflate(1), deflate(6), deflate(9), brotli(4), brotli(6), brotli(9)];

const time = (fn: () => void): number => {
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
};
const per = (n: number) => (n / events).toFixed(1);
const split = (bodies: readonly Body[], sizes: readonly number[]) => {
  let blocks = 0;
  let checkpoints = 0;
  bodies.forEach((b, i) => {
    if (b.type === RecordType.block) blocks += sizes[i]! + FRAME_BYTES;
    else if (b.type === RecordType.checkpoint) checkpoints += sizes[i]! + FRAME_BYTES;
  });
  return `blocks ${per(blocks)}, checkpoints ${per(checkpoints)}`;
};

const v2Ms = time(() => {
  for (const b of v2Bodies) decodeBody(b.body);
});
console.log(`long-run ${events} events`);
console.log(`format 2 file  ${per(v2.length)} bytes/event (${split(v2Bodies, v2Bodies.map((b) => b.body.length))}); unpacking every body ${v2Ms.toFixed(0)} ms`);
console.log(`format 3 file  ${per(v3.length)} bytes/event (as written)`);
const v2PackMs = time(() => {
  for (const b of v2Bodies) if (b.type === RecordType.block) encodeBody(decodeBody(b.body));
});
console.log(`packing every format 2 block body ${v2PackMs.toFixed(0)} ms (what a codec adds to recording is against this)`);
for (const c of codecs) {
  let stored: Buffer[] = [];
  const packMs = time(() => {
    stored = packed.map((b) => c.pack(b.body));
  });
  const total = stored.reduce((n, s) => n + s.length + FRAME_BYTES, MAGIC.length + 20);
  const ms = time(() => {
    for (const s of stored) decodeBody(c.unpack(s));
  });
  console.log(`${c.name.padEnd(10)} ${per(total)} bytes/event (${split(packed, stored.map((s) => s.length))}); decode ${(ms / v2Ms).toFixed(2)}x format 2's; compressing ${packMs.toFixed(0)} ms`);
}
