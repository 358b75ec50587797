import { constants, deflateRawSync, inflateRawSync } from "node:zlib";
import { decodeBody, encodeBody } from "./codec.ts";
import { RECORD_BYTES_MAX, RecordType } from "./format.ts";

/**
 * Record bodies in trace format 3: the msgpack body (codec.ts) compressed with raw deflate
 * (RFC 1951, Node's built-in zlib), after one tag byte 0xC1. 0xC1 is the one byte msgpack never
 * uses, so a compressed body can never be mistaken for a msgpack one and a reader tells them apart
 * without knowing the format: the header stays plain msgpack in every format (it is what says the
 * format), and every other record of a format 3 file is compressed. Each body is compressed alone
 * (no window or dictionary shared across records), so every block still decodes by itself, and
 * the CRC in the frame covers the stored (compressed) bytes.
 *
 * Why raw deflate at level 6 (tools/bench/codecs.ts, docs/architecture.md "Trace file"): it
 * decodes faster than brotli at every quality measured, for about 1 byte/event more on long-run.
 * Every option is pinned so that the bytes are a function of the body alone: zlib's output is
 * deterministic for a fixed level, window, memory level, strategy and zlib build.
 */
export const COMPRESSED_TAG = 0xc1;

const DEFLATE_OPTIONS = {
  level: 6,
  windowBits: 15,
  memLevel: 8,
  strategy: constants.Z_DEFAULT_STRATEGY,
} as const;

/**
 * What a compressed body may inflate to: the bound a format 2 body had on the bytes a reader holds
 * (RECORD_BYTES_MAX), so compression never lets a few stored bytes make a reader allocate more than
 * an uncompressed record could. Past it, a body is damage (a decompression bomb), not data.
 */
export const INFLATED_BYTES_MAX = RECORD_BYTES_MAX;

/** First format whose bodies (all but the header's) are compressed. */
export const COMPRESSED_FROM_FORMAT = 3;

/** The stored bytes of a record body of `type` in a file of `formatVersion`. */
export function encodeRecordBody(type: number, value: unknown, formatVersion: number): Uint8Array {
  const packed = encodeBody(value);
  if (type === RecordType.header || formatVersion < COMPRESSED_FROM_FORMAT) return packed;
  const deflated = deflateRawSync(packed, DEFLATE_OPTIONS);
  const out = Buffer.allocUnsafe(deflated.length + 1);
  out[0] = COMPRESSED_TAG;
  deflated.copy(out, 1);
  return out;
}

/** Why a stored body could not be decoded (the reader names the record and its offset). */
export class BodyError extends Error {}

/** The value a stored body holds, compressed or not. Throws BodyError when it cannot be decoded. */
export function decodeRecordBody(stored: Uint8Array): unknown {
  let packed = stored;
  if (stored.length > 0 && stored[0] === COMPRESSED_TAG) {
    try {
      packed = inflateRawSync(stored.subarray(1), { maxOutputLength: INFLATED_BYTES_MAX });
    } catch (e) {
      const code = (e as { code?: string }).code;
      throw new BodyError(code === "ERR_BUFFER_TOO_LARGE" ? `its compressed body inflates past ${INFLATED_BYTES_MAX} bytes` : "its compressed body does not inflate");
    }
  }
  try {
    return decodeBody(packed);
  } catch {
    throw new BodyError(packed === stored ? "" : "its body inflates to bytes that are not msgpack");
  }
}
