import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { decodeHeader, encodeHeader, fragment, fragmentsFor, reassemble, receivePacket } from "./rpc.ts";
import { ByteReader, ByteWriter } from "./bytes.ts";
import { RM_MSG_TYPE, RM_RPC, RM_MESSAGES, rmMessageId, formatRmMessage, formatRmError } from "../abi/rm.ts";
import * as P from "./payloads.ts";

describe("RM RPC header", () => {
  it("encodes byte 0 as 0x21 and the fields little-endian", () => {
    const h = encodeHeader({ type: RM_MSG_TYPE.REQUEST, numFragments: 3, seq: 0x1234, msgId: 0x56000004 });
    expect([...h]).toEqual([0x21, 0x01 | (3 << 2), 0x34, 0x12, 0x04, 0x00, 0x00, 0x56]);
    expect(decodeHeader(h)).toEqual({ ok: true, header: { type: 1, numFragments: 3, seq: 0x1234, msgId: 0x56000004 } });
  });
  it("drops what the RM drops", () => {
    expect(decodeHeader(new Uint8Array(7))).toEqual({ ok: false, drop: "short" });
    const h = encodeHeader({ type: 1, numFragments: 0, seq: 1, msgId: 1 });
    expect(decodeHeader(Uint8Array.of(0x22, ...h.subarray(1)))).toEqual({ ok: false, drop: "api_version" });
    expect(decodeHeader(Uint8Array.of(0x31, ...h.subarray(1)))).toEqual({ ok: false, drop: "header_words" });
    expect(decodeHeader(Uint8Array.of(0x21, 1 | (63 << 2), 0, 0, 0, 0, 0, 0))).toEqual({ ok: false, drop: "too_many_fragments" });
  });
});

describe("fragmentation", () => {
  it("splits at 232 payload bytes and repeats seq/msgId/numFragments", () => {
    expect(fragmentsFor(0)).toBe(0);
    expect(fragmentsFor(232)).toBe(0);
    expect(fragmentsFor(233)).toBe(1);
    const payload = new Uint8Array(500).map((_, i) => i & 0xff);
    const packets = fragment({ type: RM_MSG_TYPE.REQUEST, seq: 7, msgId: 0x51000012, payload });
    expect(packets.map((p) => p.length)).toEqual([240, 240, 8 + 36]);
    expect(packets.map((p) => p[1]! & 3)).toEqual([1, 0, 0]);
    expect(packets.map((p) => p[1]! >>> 2)).toEqual([2, 2, 2]);
    expect(reassemble(packets).messages[0]!.payload).toEqual(payload);
  });
  it("an empty payload is just the header", () => {
    const packets = fragment({ type: RM_MSG_TYPE.NOTIFICATION, seq: 0, msgId: 0x56100001, payload: new Uint8Array(0) });
    expect(packets).toHaveLength(1);
    expect(packets[0]!.length).toBe(8);
  });
  it("refuses more than the RM's maximum", () => {
    expect(() => fragment({ type: 1, seq: 0, msgId: 1, payload: new Uint8Array(RM_RPC.MAX_MESSAGE_BYTES + 1) })).toThrow(RangeError);
  });
  it("a new first packet discards a partial message; a mismatching continuation is dropped", () => {
    const a = fragment({ type: 1, seq: 1, msgId: 0x10, payload: new Uint8Array(300) });
    const b = fragment({ type: 1, seq: 2, msgId: 0x11, payload: new Uint8Array(10) });
    const r1 = receivePacket(null, a[0]!);
    const r2 = receivePacket(r1.pending, b[0]!);
    expect(r2.discarded).toBe(true);
    expect(r2.message?.msgId).toBe(0x11);
    const c = fragment({ type: 1, seq: 3, msgId: 0x10, payload: new Uint8Array(300) });
    const r3 = receivePacket(r1.pending, c[1]!);
    expect(r3.drop).toBe("fragment_mismatch");
    expect(receivePacket(null, c[1]!).drop).toBe("stray_continuation");
  });
  it("round-trips any message (property)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 3),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.uint8Array({ maxLength: RM_RPC.MAX_MESSAGE_BYTES }),
        (type, seq, msgId, payload) => {
          const packets = fragment({ type: type as 1, seq, msgId, payload });
          if (packets.some((p) => p.length > RM_RPC.MESSAGE_SIZE_BYTES)) return false;
          const { messages, pending, drops } = reassemble(packets);
          expect(drops).toEqual([]);
          expect(pending).toBeNull();
          expect(messages).toHaveLength(1);
          expect(messages[0]).toEqual({ type, seq, msgId, payload });
          return true;
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("message table", () => {
  it("has unique IDs and names, and formats by name", () => {
    expect(new Set(RM_MESSAGES.map((m) => m.id)).size).toBe(RM_MESSAGES.length);
    expect(new Set(RM_MESSAGES.map((m) => m.name)).size).toBe(RM_MESSAGES.length);
    expect(rmMessageId("VM_START")).toBe(0x56000004);
    expect(formatRmMessage(0x51000012)).toBe("MEM_LEND (0x51000012)");
    expect(formatRmMessage(0x56009999)).toBe("rm msg 0x56009999 (unknown)");
    expect(formatRmError(0x14)).toBe("RM_ERROR_VM_STATE (0x14)");
  });
});

describe("payloads", () => {
  it("memparcel create round-trips with the list layout of §1.6", () => {
    const m = { memType: 0, flags: 1, label: 9, acl: [{ vmid: 0x80, rights: 7 }], sgl: [{ ipa: 0x8000_0000, size: 0x20_0000 }], attrs: [] };
    const b = P.encodeMemCreate(m);
    // header 8 + acl (4 + 4) + sgl (4 + 16) + attrs 4
    expect(b.length).toBe(40);
    expect(P.decodeMemCreate(b)).toEqual({ ...m, tooMany: false });
    expect(P.decodeMemCreate(b.subarray(0, 30))).toBeNull();
  });
  it("accept carries map_vmid in the SGL list's reserved slot", () => {
    const m = { handle: 5, memType: 0, transType: 1, flags: 0x80, label: 0, acl: [], sgl: [{ ipa: 0x1000, size: 0x1000 }], mapVmid: 0, attrs: [] };
    expect(P.decodeMemAccept(P.encodeMemAccept(m))).toEqual(m);
    expect(P.decodeMemAccept(P.encodeMemAccept({ ...m, mapVmid: 3 }))?.mapVmid).toBe(3);
  });
  it("config image is 40 bytes; stop is 8; exited carries reason words", () => {
    expect(P.encodeVmConfigImage({ vmid: 0x80, authType: 0, imageHandle: 1, imageOffset: 0, imageSize: 0x1000, dtOffset: 0x1000, dtSize: 0x1000 }).length).toBe(40);
    expect(P.encodeVmStop({ vmid: 0x80, flags: 1, stopReason: 3 }).length).toBe(8);
    const n = { vmid: 0x80, exitType: 1, reason: [P.exitReasonWord0(0, 0)] };
    expect(P.decodeVmExited(P.encodeVmExited(n))).toEqual(n);
  });
});

describe("RM payload bytes", () => {
  it("writes and reads little-endian fields, u64 limited to safe integers", () => {
    const b = new ByteWriter().u8(0x1ff).u16(0x1_2345).u32(0xdead_beef).u64(0x1f_ffff_ffff_ffff).u64(-1).done();
    expect([...b.subarray(0, 7)]).toEqual([0xff, 0x45, 0x23, 0xef, 0xbe, 0xad, 0xde]);
    const r = new ByteReader(b);
    expect([r.u8(), r.u16(), r.u32(), r.u64(), r.u64()]).toEqual([0xff, 0x2345, 0xdead_beef, Number.MAX_SAFE_INTEGER, -1]);
    expect(r.short).toBe(false);
    expect(r.u8()).toBe(0);
    expect(r.short).toBe(true);
  });

  it("fixed layouts decode what they encode, and short payloads as null", () => {
    const m = { vmid: 5, authType: 2, imageHandle: 7, imageOffset: 0x1000, imageSize: 0x20_0000, dtOffset: 0x30_0000, dtSize: 0x1000 };
    const b = P.encodeVmConfigImage(m);
    expect(b.length).toBe(40);
    expect(P.decodeVmConfigImage(b)).toEqual(m);
    expect(P.decodeVmConfigImage(b.subarray(0, 39))).toBeNull();
    expect([...P.encodeMemHandle({ handle: 0x0102_0304, flags: 1 })]).toEqual([4, 3, 2, 1, 1, 0, 0, 0]);
    expect(P.decodeMemHandle(Uint8Array.of(4, 3, 2, 1, 1, 0, 0))).toBeNull();
  });
});
