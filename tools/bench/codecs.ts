/**
 * What compressing each record body would buy (issue 15, trace format): records long-run, then
 * compresses every record body on its own (each block stays independently decodable) with Node's
 * built-in codecs and prints bytes/event and decode time against the uncompressed decode, all from
 * one run. (Snapshots as deltas against the previous snapshot are not measured here: a codec's
 * window does not reach back a whole snapshot; that needs a structural delta.)
 *   node bin/run-ts.mjs tools/bundle.ts --run tools/bench/codecs.ts [EVENTS]
 */
import { performance } from "node:perf_hooks";
import { brotliCompressSync, brotliDecompressSync, constants, deflateRawSync, inflateRawSync } from "node:zlib";
import { record } from "../../src/sim/record.ts";
import { resolveScenario } from "../../src/sim/resolve.ts";
import { memorySink } from "../../src/trace/source.ts";
import { decodeBody } from "../../src/trace/codec.ts";
import { FRAME_BYTES, MAGIC, RecordType } from "../../src/trace/format.ts";

const events = Number(process.argv[2] ?? 200_000);
const sink = memorySink();
record(resolveScenario("long-run"), sink, { seed: 1, maxEvents: events });
const file = sink.bytes();

// Frames: type u8, length u32le, crc32 u32le, body.
const bodies: { type: number; body: Buffer }[] = [];
for (let at = MAGIC.length; at + FRAME_BYTES <= file.length; ) {
  const type = file[at]!;
  const length = file.readUInt32LE(at + 1);
  if (type < 1 || type > 4 || at + FRAME_BYTES + length > file.length) break;
  bodies.push({ type, body: file.subarray(at + FRAME_BYTES, at + FRAME_BYTES + length) });
  at += FRAME_BYTES + length;
}
const isSnapshot = (b: { type: number; body: Buffer }) => b.type === RecordType.checkpoint && b.body.length > 4096;

interface Codec {
  name: string;
  pack(b: Buffer): Buffer;
  unpack(b: Buffer): Buffer;
}
const codecs: Codec[] = [
  { name: "deflate-1", pack: (b) => deflateRawSync(b, { level: 1 }), unpack: (b) => inflateRawSync(b) },
  { name: "deflate-6", pack: (b) => deflateRawSync(b, { level: 6 }), unpack: (b) => inflateRawSync(b) },
  ...[4, 6, 9].map((q): Codec => ({
    name: `brotli-${q}`,
    pack: (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: q, [constants.BROTLI_PARAM_SIZE_HINT]: b.length } }),
    unpack: (b) => brotliDecompressSync(b),
  })),
];

const time = (fn: () => void): number => {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
};
const decodeMs = time(() => {
  for (const b of bodies) decodeBody(b.body);
});
const per = (n: number) => (n / events).toFixed(1);
const blockBytes = bodies.filter((b) => b.type === RecordType.block).reduce((n, b) => n + b.body.length, 0);
const snapBytes = bodies.filter(isSnapshot).reduce((n, b) => n + b.body.length, 0);
console.log(`long-run ${events} events: ${per(file.length)} bytes/event (blocks ${per(blockBytes)}, snapshots ${per(snapBytes)}); msgpack decode of every body ${decodeMs.toFixed(0)} ms`);
for (const c of codecs) {
  let blocks = 0;
  let snaps = 0;
  let other = 0;
  const packed = bodies.map((b) => c.pack(b.body));
  bodies.forEach((b, i) => {
    if (b.type === RecordType.block) blocks += packed[i]!.length;
    else if (isSnapshot(b)) snaps += packed[i]!.length;
    else other += packed[i]!.length;
  });
  const unpackMs = time(() => {
    for (const p of packed) decodeBody(c.unpack(p));
  });
  const total = blocks + snaps + other + FRAME_BYTES * bodies.length;
  console.log(`${c.name.padEnd(10)} ${per(total)} bytes/event (blocks ${per(blocks)}, snapshots ${per(snaps)}); decode ${(unpackMs / decodeMs).toFixed(2)}x of uncompressed`);
}
