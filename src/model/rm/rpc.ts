/**
 * RM RPC transport: the 8-byte header, fragmentation into message-queue packets and reassembly.
 * Pure functions over bytes. Layout and rules from reference gunyah-rm-and-host.md §1.2-§1.3
 * (RM:include/rm-rpc.h, RM:src/rpc/rm-rpc.c; Linux drivers/virt/gunyah/rsc_mgr.c).
 */
import { RM_MSG_TYPE, RM_RPC, type RmMsgType } from "../abi/rm.ts";
import { readU16le, readU32le, writeLe } from "../abi/le.ts";

/** The decoded header of one packet. */
export interface RpcHeader {
  readonly type: RmMsgType;
  /** Continuation fragments that follow the first packet (0..62). */
  readonly numFragments: number;
  readonly seq: number;
  readonly msgId: number;
}

/** A whole message: type REQUEST, REPLY or NOTIFICATION, with its reassembled payload. */
export interface RpcMessage {
  readonly type: RmMsgType;
  readonly seq: number;
  readonly msgId: number;
  readonly payload: Uint8Array;
}

/** Why the receiver dropped a packet (the RM drops silently; we say why, for the log). */
export type RpcDrop = "short" | "api_version" | "header_words" | "too_many_fragments" | "stray_continuation" | "fragment_mismatch";

export function encodeHeader(h: RpcHeader): Uint8Array {
  const b = new Uint8Array(RM_RPC.HEADER_BYTES);
  writeHeader(b, h);
  return b;
}

/** Writes a header into the first 8 bytes of a packet. */
function writeHeader(b: Uint8Array, h: RpcHeader): void {
  b[0] = RM_RPC.API_VERSION | (RM_RPC.HEADER_WORDS << 4);
  b[1] = (h.type & 0x3) | ((h.numFragments & 0x3f) << 2);
  writeLe(b, 2, h.seq & 0xffff, 2);
  writeLe(b, 4, h.msgId >>> 0, 4);
}

/** Decodes and validates a header as the RM does on receive (§1.2): bad packets are dropped. */
export function decodeHeader(p: Uint8Array): { ok: true; header: RpcHeader } | { ok: false; drop: RpcDrop } {
  if (p.length < RM_RPC.HEADER_BYTES) return { ok: false, drop: "short" };
  const b0 = p[0]!;
  if ((b0 & 0xf) !== RM_RPC.API_VERSION) return { ok: false, drop: "api_version" };
  if (b0 >>> 4 !== RM_RPC.HEADER_WORDS) return { ok: false, drop: "header_words" };
  const b1 = p[1]!;
  const numFragments = b1 >>> 2;
  if (numFragments > RM_RPC.MAX_FRAGMENTS) return { ok: false, drop: "too_many_fragments" };
  const seq = readU16le(p, 2);
  const msgId = readU32le(p, 4);
  return { ok: true, header: { type: (b1 & 0x3) as RmMsgType, numFragments, seq, msgId } };
}

/** Fragments needed for a payload: ceil(len/232) - 1, and 0 for an empty payload (§1.3). */
export function fragmentsFor(payloadBytes: number): number {
  return payloadBytes === 0 ? 0 : Math.ceil(payloadBytes / RM_RPC.FRAGMENT_PAYLOAD_BYTES) - 1;
}

/** How many packets `fragment` makes of a payload, without making them (same size check). */
export function packetCount(payloadBytes: number): number {
  if (payloadBytes > RM_RPC.MAX_MESSAGE_BYTES) throw new RangeError(`RM message of ${payloadBytes} bytes exceeds ${RM_RPC.MAX_MESSAGE_BYTES}`);
  return fragmentsFor(payloadBytes) + 1;
}

/**
 * Splits a message into packets of at most 240 bytes. The first carries the real type; the rest
 * are CONTINUATION with the same seq, msgId and numFragments. A payload beyond the RM's limit is a
 * caller bug (the Linux driver refuses it with -E2BIG before sending).
 */
export function fragment(m: RpcMessage): Uint8Array[] {
  if (m.payload.length > RM_RPC.MAX_MESSAGE_BYTES) throw new RangeError(`RM message of ${m.payload.length} bytes exceeds ${RM_RPC.MAX_MESSAGE_BYTES}`);
  const numFragments = fragmentsFor(m.payload.length);
  const out: Uint8Array[] = [];
  for (let i = 0; i <= numFragments; i++) {
    // Most messages fit one packet: their payload is the chunk (no subarray view to make).
    const chunk = numFragments === 0 ? m.payload : m.payload.subarray(i * RM_RPC.FRAGMENT_PAYLOAD_BYTES, (i + 1) * RM_RPC.FRAGMENT_PAYLOAD_BYTES);
    const type = i === 0 ? m.type : RM_MSG_TYPE.CONTINUATION;
    const p = new Uint8Array(RM_RPC.HEADER_BYTES + chunk.length);
    writeHeader(p, { type, numFragments, seq: m.seq, msgId: m.msgId });
    p.set(chunk, RM_RPC.HEADER_BYTES);
    out.push(p);
  }
  return out;
}

/** A partly reassembled message: plain data so it can live in machine state. */
export interface Reassembly {
  readonly header: RpcHeader;
  readonly chunks: Uint8Array[];
}

export interface ReceiveResult {
  /** The receiver's state after this packet (null: nothing pending). */
  readonly pending: Reassembly | null;
  readonly message: RpcMessage | null;
  readonly drop: RpcDrop | null;
  /** A partial message was discarded because a new non-continuation packet started. */
  readonly discarded: boolean;
}

/**
 * Feeds one packet to a receiver. A new non-continuation packet discards any partial message
 * (both sides do this, §1.3); a continuation must repeat msgId, seq and numFragments (the RM's check).
 */
export function receivePacket(pending: Reassembly | null, p: Uint8Array): ReceiveResult {
  const d = decodeHeader(p);
  if (!d.ok) return { pending, message: null, drop: d.drop, discarded: false };
  const h = d.header;
  const body = p.slice(RM_RPC.HEADER_BYTES);
  if (h.type !== RM_MSG_TYPE.CONTINUATION) {
    const discarded = pending !== null;
    if (h.numFragments === 0) return { pending: null, message: { type: h.type, seq: h.seq, msgId: h.msgId, payload: body }, drop: null, discarded };
    return { pending: { header: h, chunks: [body] }, message: null, drop: null, discarded };
  }
  if (pending === null) return { pending, message: null, drop: "stray_continuation", discarded: false };
  const first = pending.header;
  if (h.msgId !== first.msgId || h.seq !== first.seq || h.numFragments !== first.numFragments) {
    return { pending, message: null, drop: "fragment_mismatch", discarded: false };
  }
  const chunks = [...pending.chunks, body];
  if (chunks.length < first.numFragments + 1) return { pending: { header: first, chunks }, message: null, drop: null, discarded: false };
  return { pending: null, message: { type: first.type, seq: first.seq, msgId: first.msgId, payload: concat(chunks) }, drop: null, discarded: false };
}

/** Reassembles a whole packet train; the messages completed, in order. */
export function reassemble(packets: readonly Uint8Array[]): { messages: RpcMessage[]; pending: Reassembly | null; drops: RpcDrop[] } {
  let pending: Reassembly | null = null;
  const messages: RpcMessage[] = [];
  const drops: RpcDrop[] = [];
  for (const p of packets) {
    const r = receivePacket(pending, p);
    pending = r.pending;
    if (r.message !== null) messages.push(r.message);
    if (r.drop !== null) drops.push(r.drop);
  }
  return { messages, pending, drops };
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of parts) n += c.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const c of parts) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
