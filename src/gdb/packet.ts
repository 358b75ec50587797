/**
 * The GDB Remote Serial Protocol connection layer (after rr's GdbConnection): bytes in and out,
 * nothing about what a request means. It frames `$payload#cs` packets, checks and writes the
 * modulo-256 checksums, acknowledges with `+`/`-` until QStartNoAckMode, resends a reply the client
 * refused, unescapes `}`-escaped bytes from the client and escapes and run-length encodes replies,
 * and reports the out-of-band interrupt byte (0x03).
 *
 * Memory is bounded: a packet is gathered into a buffer of the advertised PacketSize, and a longer
 * one is read to its end without being kept and reported as malformed, so the server answers it
 * with an error instead of growing without limit. Reference: the GDB manual, "Overview" and
 * "Packet Acknowledgment" of Appendix E (Remote Serial Protocol).
 */

/** The largest packet the server accepts (the `PacketSize` of qSupported), in bytes between `$` and `#`. */
export const PACKET_SIZE_MAX = 0x4000;

const DOLLAR = 0x24;
const HASH = 0x23;
const ESCAPE = 0x7d;
const STAR = 0x2a;
const ACK = 0x2b;
const NAK = 0x2d;
const INTERRUPT = 0x03;

/** What the client sent, once the connection layer has dealt with framing and acknowledgment. */
export type Incoming =
  | { readonly kind: "packet"; readonly data: Uint8Array }
  | { readonly kind: "interrupt" }
  /** A complete packet the server cannot take as it is: answer it with an error reply. */
  | { readonly kind: "malformed"; readonly why: string };

/** The modulo-256 sum of a packet's bytes as sent (escaped and encoded). */
export function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (const b of bytes) sum = (sum + b) & 0xff;
  return sum;
}

const needsEscape = (b: number): boolean => b === DOLLAR || b === HASH || b === ESCAPE || b === STAR;

/**
 * A repeat count is sent as the character 29 + count; the protocol forbids `#` and `$` there, and
 * characters above `~`.
 */
const REPEAT_MAX = 126 - 29;
const repeatAllowed = (n: number): boolean => n + 29 !== HASH && n + 29 !== DOLLAR;

/**
 * The body of a reply as sent: `#$}*` escaped (`}` then the byte XOR 0x20), and runs of four or
 * more identical unescaped bytes run-length encoded (`b*` then the repeat count as 29 + n).
 */
export function encodeBody(payload: Uint8Array, runLength = true): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < payload.length; ) {
    const b = payload[i]!;
    if (needsEscape(b)) {
      out.push(ESCAPE, b ^ 0x20);
      i += 1;
      continue;
    }
    let run = 1;
    while (runLength && i + run < payload.length && payload[i + run] === b && run <= REPEAT_MAX) run += 1;
    out.push(b);
    let repeats = run - 1;
    if (repeats >= 3) {
      let n = Math.min(repeats, REPEAT_MAX);
      while (!repeatAllowed(n)) n -= 1;
      out.push(STAR, n + 29);
      repeats -= n;
    }
    for (; repeats > 0; repeats--) out.push(b);
    i += run;
  }
  return Uint8Array.from(out);
}

const hexDigit = (n: number): number => (n < 10 ? 0x30 + n : 0x61 + n - 10);

/** A whole packet on the wire: `$`, the encoded body, `#` and two hex digits of checksum. */
export function encodePacket(payload: Uint8Array, runLength = true): Uint8Array {
  const body = encodeBody(payload, runLength);
  const sum = checksum(body);
  const out = new Uint8Array(body.length + 4);
  out[0] = DOLLAR;
  out.set(body, 1);
  out[body.length + 1] = HASH;
  out[body.length + 2] = hexDigit(sum >> 4);
  out[body.length + 3] = hexDigit(sum & 15);
  return out;
}

/** Undoes `encodeBody` (run-length and escapes): what a client does with a reply. Tests use it. */
export function decodeBody(body: Uint8Array): Uint8Array | null {
  const out: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const b = body[i]!;
    if (b === ESCAPE) {
      if (i + 1 >= body.length) return null;
      out.push(body[++i]! ^ 0x20);
    } else if (b === STAR) {
      if (out.length === 0 || i + 1 >= body.length) return null;
      const n = body[++i]! - 29;
      const last = out[out.length - 1]!;
      for (let k = 0; k < n; k++) out.push(last);
    } else {
      out.push(b);
    }
  }
  return Uint8Array.from(out);
}

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x61 + 10;
  if (b >= 0x41 && b <= 0x46) return b - 0x41 + 10;
  return -1;
}

const enum Reading {
  Idle,
  Body,
  Sum1,
  Sum2,
}

export interface ConnectionOptions {
  /** Largest packet accepted (bytes between `$` and `#`). Default PACKET_SIZE_MAX. */
  readonly packetSizeMax?: number;
  /** Run-length encode replies (default true; tests turn it off to read replies plainly). */
  readonly runLength?: boolean;
}

export interface ConnectionStats {
  packets: number;
  malformed: number;
  badChecksums: number;
  resent: number;
  /** Requests the client sent again before acknowledging our reply (dropped: the reply is on its way). */
  repeats: number;
  interrupts: number;
}

/**
 * One client's byte stream. `receive` takes whatever bytes arrived and returns what they meant;
 * `send` frames a reply and writes it (in acknowledgment mode, one reply in flight at a time, the
 * rest queued until the client acknowledges).
 */
export class GdbConnection {
  readonly stats: ConnectionStats = { packets: 0, malformed: 0, badChecksums: 0, resent: 0, repeats: 0, interrupts: 0 };
  private readonly max: number;
  private readonly runLength: boolean;
  private readonly buffer: Uint8Array;
  private state = Reading.Idle;
  private length = 0;
  private total = 0;
  private sum = 0;
  private received = 0;
  private ackMode = true;
  private inFlight: Uint8Array | null = null;
  /** The last request as received (acknowledgment mode only): to recognise a resent one. */
  private last: Uint8Array | null = null;
  private lastTotal = 0;
  private acksSinceRequest = 0;
  private readonly queue: Uint8Array[] = [];

  constructor(
    private readonly write: (bytes: Uint8Array) => void,
    options: ConnectionOptions = {},
  ) {
    this.max = options.packetSizeMax ?? PACKET_SIZE_MAX;
    this.runLength = options.runLength ?? true;
    this.buffer = new Uint8Array(this.max);
  }

  get noAck(): boolean {
    return !this.ackMode;
  }

  /** After the OK that answers QStartNoAckMode: neither side acknowledges from here on. */
  enterNoAckMode(): void {
    this.ackMode = false;
    this.inFlight = null;
    for (const frame of this.queue.splice(0)) this.write(frame);
  }

  send(payload: Uint8Array): void {
    const frame = encodePacket(payload, this.runLength);
    if (!this.ackMode) this.write(frame);
    else if (this.inFlight === null) {
      this.inFlight = frame;
      this.write(frame);
    } else {
      this.queue.push(frame);
    }
  }

  receive(chunk: Uint8Array): Incoming[] {
    const events: Incoming[] = [];
    for (const b of chunk) {
      const e = this.byte(b);
      if (e !== null) events.push(e);
    }
    return events;
  }

  private byte(b: number): Incoming | null {
    switch (this.state) {
      case Reading.Idle:
        return this.idle(b);
      case Reading.Body:
        if (b === HASH) this.state = Reading.Sum1;
        else if (b === DOLLAR) this.startPacket(); // the previous packet was cut short: GDB resends it
        else {
          this.sum = (this.sum + b) & 0xff;
          if (this.length < this.max) this.buffer[this.length++] = b;
          this.total += 1;
        }
        return null;
      case Reading.Sum1:
        this.received = hexValue(b);
        this.state = Reading.Sum2;
        if (this.received < 0) return this.finish(false);
        return null;
      case Reading.Sum2: {
        const low = hexValue(b);
        return this.finish(low >= 0 && ((this.received << 4) | low) === this.sum);
      }
    }
  }

  private idle(b: number): Incoming | null {
    if (b === DOLLAR) this.startPacket();
    else if (b === INTERRUPT) {
      this.stats.interrupts += 1;
      return { kind: "interrupt" };
    } else if (b === ACK) {
      this.acksSinceRequest += 1;
      this.acknowledged();
    } else if (b === NAK && this.ackMode && this.inFlight !== null) {
      this.stats.resent += 1;
      this.write(this.inFlight);
    }
    // Anything else between packets is line noise: the protocol ignores it.
    return null;
  }

  private startPacket(): void {
    this.state = Reading.Body;
    this.length = 0;
    this.total = 0;
    this.sum = 0;
  }

  private isRepeat(): boolean {
    const last = this.last;
    if (last === null || this.lastTotal !== this.total || last.length !== this.length) return false;
    for (let i = 0; i < last.length; i++) if (last[i] !== this.buffer[i]) return false;
    return true;
  }

  private acknowledged(): void {
    if (!this.ackMode) return;
    this.inFlight = this.queue.shift() ?? null;
    if (this.inFlight !== null) this.write(this.inFlight);
  }

  private finish(checksumGood: boolean): Incoming | null {
    this.state = Reading.Idle;
    if (!checksumGood) {
      this.stats.badChecksums += 1;
      if (this.ackMode) {
        this.write(Uint8Array.of(NAK));
        return null;
      }
      // Without acknowledgments the client cannot resend: say so rather than leave it waiting.
      this.stats.malformed += 1;
      return { kind: "malformed", why: "bad checksum" };
    }
    if (this.ackMode) {
      this.write(Uint8Array.of(ACK));
      // The same request again with no acknowledgment from the client in between: its ack timer
      // ran out (a slow start) and it resent. A stream loses nothing, so our reply is on its way;
      // answering twice would put every later reply one behind. (A request repeated on purpose
      // comes after the client acknowledged the reply to the first.)
      if (this.acksSinceRequest === 0 && this.isRepeat()) {
        this.stats.repeats += 1;
        return null;
      }
      // A different request means the client has our previous reply, acknowledged or not.
      if (this.inFlight !== null) this.acknowledged();
      this.last = this.buffer.slice(0, this.length);
      this.lastTotal = this.total;
      this.acksSinceRequest = 0;
    }
    this.stats.packets += 1;
    if (this.total > this.max) {
      this.stats.malformed += 1;
      return { kind: "malformed", why: `packet of ${this.total} bytes is longer than PacketSize (${this.max})` };
    }
    const data = unescape(this.buffer.subarray(0, this.length));
    if (data === null) {
      this.stats.malformed += 1;
      return { kind: "malformed", why: "packet ends inside an escape" };
    }
    return { kind: "packet", data };
  }
}

function unescape(raw: Uint8Array): Uint8Array | null {
  if (raw.indexOf(ESCAPE) < 0) return raw.slice();
  const out = new Uint8Array(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== ESCAPE) out[n++] = raw[i]!;
    else if (i + 1 < raw.length) out[n++] = raw[++i]! ^ 0x20;
    else return null;
  }
  return out.slice(0, n);
}
