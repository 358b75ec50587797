import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesOfLatin1, latin1 } from "./hex.ts";
import { GdbConnection, PACKET_SIZE_MAX, checksum, decodeBody, encodeBody, encodePacket, type Incoming } from "./packet.ts";

/** The connection layer alone: framing, checksums, acknowledgments, escaping, run-length encoding, limits. */

const text = (s: string): Uint8Array => bytesOfLatin1(s);
const frame = (body: string, sum?: number): string => `$${body}#${(sum ?? checksum(text(body))).toString(16).padStart(2, "0")}`;

function connection(options = {}): { c: GdbConnection; wire: () => string; feed: (s: string) => Incoming[] } {
  let out = "";
  const c = new GdbConnection((b) => void (out += latin1(b)), options);
  return {
    c,
    wire: () => {
      const w = out;
      out = "";
      return w;
    },
    feed: (s) => c.receive(text(s)),
  };
}

const packets = (events: Incoming[]): string[] => events.map((e) => (e.kind === "packet" ? latin1(e.data) : `<${e.kind}${e.kind === "malformed" ? `: ${e.why}` : ""}>`));

describe("checksums and framing", () => {
  it("checksums are the modulo-256 sum of the bytes as sent", () => {
    expect(checksum(text(""))).toBe(0);
    expect(checksum(text("OK"))).toBe(0x9a);
    expect(checksum(text("qSupported"))).toBe(0x37);
    expect(latin1(encodePacket(text("OK")))).toBe("$OK#9a");
    expect(latin1(encodePacket(text("")))).toBe("$#00");
  });

  it("a good packet is acknowledged with + and delivered; a bad checksum gets - and nothing", () => {
    const { feed, wire } = connection();
    expect(packets(feed("$g#67"))).toEqual(["g"]);
    expect(wire()).toBe("+");
    expect(packets(feed("$g#68"))).toEqual([]);
    expect(wire()).toBe("-");
    expect(packets(feed("$g#zz"))).toEqual([]);
    expect(wire()).toBe("-");
  });

  it("accepts upper-case checksum digits and packets split across reads at any byte", () => {
    const whole = frame("m4000f8,4") + frame("qC").toUpperCase().replace("QC", "qC");
    for (let cut = 0; cut <= whole.length; cut++) {
      const { feed } = connection();
      expect(packets([...feed(whole.slice(0, cut)), ...feed(whole.slice(cut))])).toEqual(["m4000f8,4", "qC"]);
    }
  });

  it("ignores line noise between packets and restarts on a $ inside a packet (the first was cut short)", () => {
    const { feed, wire } = connection();
    expect(packets(feed(`garbage\r\n${frame("?")}xx$qAtt${frame("qC")}`))).toEqual(["?", "qC"]);
    expect(wire()).toBe("++");
  });

  it("reports the interrupt byte between packets, and takes 0x03 inside a packet as data", () => {
    const { feed } = connection();
    expect(packets(feed(`\x03${frame("a\x03b")}`))).toEqual(["<interrupt>", "a\x03b"]);
  });
});

describe("escapes and run-length encoding", () => {
  it("unescapes } sequences from the client (binary data: X, vFile)", () => {
    const { feed } = connection();
    // '}' 0x03 is '#', '}' 0x04 is '$', '}' ']' is '}', '}' '\n' is '*'.
    expect(packets(feed(frame("X0,4:}\x03}\x04}]}\n")))).toEqual(["X0,4:#$}*"]);
  });

  it("a packet that ends inside an escape is malformed", () => {
    const { feed } = connection();
    expect(packets(feed(frame("X0,1:}")))).toEqual(["<malformed: packet ends inside an escape>"]);
  });

  it("escapes #$}* in replies", () => {
    expect(latin1(encodeBody(text("a#b$c}d*e")))).toBe("a}\x03b}\x04c}]d}\ne");
  });

  it("run-length encodes runs of four or more, never with # or $ as the count", () => {
    expect(latin1(encodeBody(text("000")))).toBe("000");
    expect(latin1(encodeBody(text("0000")))).toBe("0* ");
    expect(latin1(encodeBody(text("0".repeat(7))))).toBe("0*\"0"); // 6 repeats would be '#': 5 and one more
    expect(latin1(encodeBody(text("0".repeat(8))))).toBe("0*\"00"); // 7 repeats would be '$'
    expect(latin1(encodeBody(text("0".repeat(9))))).toBe("0*%");
    expect(latin1(encodeBody(text("x".repeat(98))))).toBe("x*~");
    expect(latin1(encodeBody(text("x".repeat(99))))).toBe("x*~x");
    expect(latin1(encodeBody(text("}}}}")))).toBe("}]}]}]}]"); // escaped bytes are not run-length encoded
    expect(latin1(encodeBody(text("0000"), false))).toBe("0000");
  });

  it("what is sent decodes back to the payload, for any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (payload, rle) => {
        const body = encodeBody(payload, rle);
        for (const b of body) expect(b === 0x23 || b === 0x24).toBe(false);
        expect(decodeBody(body)).toEqual(payload);
      }),
      { numRuns: 300 },
    );
  });

  it("runs of repeated bytes shrink: a register file of zeroes fits in a few bytes", () => {
    expect(encodeBody(text("0".repeat(1128))).length).toBeLessThan(40);
  });
});

describe("acknowledgments", () => {
  it("sends one reply at a time until it is acknowledged, and resends on -", () => {
    const { c, feed, wire } = connection();
    c.send(text("one"));
    c.send(text("two"));
    expect(wire()).toBe(frame("one"));
    feed("-");
    expect(wire()).toBe(frame("one"));
    expect(c.stats.resent).toBe(1);
    feed("+");
    expect(wire()).toBe(frame("two"));
    feed("+");
    feed("-"); // nothing in flight: ignored
    expect(wire()).toBe("");
  });

  it("no-ack mode: no + or -, replies go out at once, and a bad checksum is answered as malformed", () => {
    const { c, feed, wire } = connection();
    c.send(text("OK"));
    c.enterNoAckMode();
    expect(wire()).toBe("$OK#9a");
    expect(c.noAck).toBe(true);
    c.send(text("a"));
    c.send(text("b"));
    expect(wire()).toBe("$a#61$b#62");
    expect(packets(feed("+-" + frame("g")))).toEqual(["g"]);
    expect(wire()).toBe("");
    expect(packets(feed("$g#00"))).toEqual(["<malformed: bad checksum>"]);
  });

  it("a request resent before the client acknowledged anything is dropped (a slow start must not shift replies)", () => {
    const { c, feed, wire } = connection();
    expect(packets(feed(frame("qSupported") + frame("qSupported")))).toEqual(["qSupported"]);
    expect(wire()).toBe("++");
    expect(c.stats.repeats).toBe(1);
    c.send(text("PacketSize=4000"));
    wire();
    // The same request after the client acknowledged our reply is a new request.
    expect(packets(feed("+" + frame("qSupported")))).toEqual(["qSupported"]);
  });

  it("a different request while a reply is unacknowledged counts as the acknowledgment", () => {
    const { c, feed, wire } = connection();
    c.send(text("one"));
    c.send(text("two"));
    wire();
    feed(frame("g"));
    expect(wire()).toBe("+" + frame("two"));
  });
});

describe("limits", () => {
  it("a packet longer than PacketSize is read to its end, kept to PacketSize, and reported", () => {
    const { c, feed, wire } = connection({ packetSizeMax: 16 });
    const body = "M0,100:" + "ab".repeat(100);
    expect(packets(feed(frame(body)))).toEqual([`<malformed: packet of ${body.length} bytes is longer than PacketSize (16)>`]);
    expect(wire()).toBe("+");
    expect(packets(feed(frame("g")))).toEqual(["g"]);
    expect(c.stats.malformed).toBe(1);
  });

  it("a packet of exactly PacketSize bytes is taken", () => {
    const { feed } = connection();
    const body = "x".repeat(PACKET_SIZE_MAX);
    expect(packets(feed(frame(body)))).toEqual([body]);
  });

  it("an endless packet costs no more than PacketSize of memory, and the stream recovers at the next $", () => {
    const { feed } = connection({ packetSizeMax: 64 });
    for (let i = 0; i < 1000; i++) expect(feed("y".repeat(1000))).toEqual([]);
    expect(packets(feed(frame("?")))).toEqual(["?"]);
  });

  it("no byte sequence makes the connection throw, and every packet it reports was framed by the client", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.constantFrom(...["$", "#", "}", "*", "+", "-", "\x03", frame("g"), frame("m0,4")].map(text))), { maxLength: 30 }), (chunks) => {
        const { c } = connection({ packetSizeMax: 32 });
        for (const chunk of chunks) for (const e of c.receive(chunk)) if (e.kind === "packet") expect(e.data.length).toBeLessThanOrEqual(32);
      }),
      { numRuns: 500 },
    );
  });
});
