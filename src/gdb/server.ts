import { REGISTERS, REGNUM_PC, REGNUM_SP, TARGET_XML } from "./tdesc.ts";
import { bytesOfHex, bytesOfLatin1, hexLittleEndian, hexOfBytes, hexOfText, latin1, parseHexNumber } from "./hex.ts";
import { PACKET_SIZE_MAX, type Incoming } from "./packet.ts";
import { isHvsimError } from "../core/errors.ts";
import type { Breakpoint, GdbTarget, ResumeRequest, Stop, Watchpoint, WatchKind } from "./target.ts";

/**
 * What each request of the GDB Remote Serial Protocol means (after rr's GdbServer), over any
 * `GdbTarget`. One session per connected client: it keeps the client's choices (selected threads,
 * breakpoints, watchpoints, features it announced) and the last stop, answers queries from the
 * target's state at the current position, and turns vCont/bs/bc into target resumes.
 *
 * Writes (G, P, M, X) are refused: the history is a record. Requests the server does not know are
 * answered with the empty packet, which the protocol defines as "not supported".
 */

/** Error numbers of `E NN` replies (gdb 13 shows only the number; gdb 14+ gets the text via `E.`). */
export const ERROR = {
  malformed: 0x01,
  noThread: 0x02,
  unmapped: 0x03,
  readOnly: 0x04,
  tooMany: 0x05,
  unsupported: 0x06,
  internal: 0x07,
  damaged: 0x08,
} as const;
type ErrorName = keyof typeof ERROR;

/** Bounds on what a client may ask the server to keep or evaluate. */
export const BREAKPOINTS_MAX = 4096;
export const WATCHPOINTS_MAX = 256;
export const WATCH_BYTES_MAX = 1 << 20;
/** Bytes one `m` reply carries at most (hex doubles them; the reply stays within PacketSize). */
export const MEMORY_READ_MAX = (PACKET_SIZE_MAX - 32) / 2;
/** Text bytes per `O` console packet. */
const OUTPUT_CHUNK = (PACKET_SIZE_MAX - 32) / 2;

const FEATURES = ["PacketSize=" + PACKET_SIZE_MAX.toString(16), "qXfer:features:read+", "QStartNoAckMode+", "swbreak+", "hwbreak+", "ReverseStep+", "ReverseContinue+"];

export interface SessionHooks {
  /** Send one reply packet (the connection frames it). */
  send(payload: Uint8Array): void;
  /** The OK to QStartNoAckMode has been sent: stop acknowledging. */
  noAck(): void;
  /** Close the connection once what was sent has been written (after D, k). */
  close(): void;
  /** One line for the server's log (stderr). */
  log(line: string): void;
}

const WATCH_OF_TYPE: Record<string, WatchKind> = { "2": "write", "3": "read", "4": "access" };
const STOP_KEY: Record<WatchKind, string> = { write: "watch", read: "rwatch", access: "awatch" };

const hex2 = (n: number): string => n.toString(16).padStart(2, "0");

class RequestError extends Error {
  constructor(
    readonly code: ErrorName,
    message: string,
  ) {
    super(message);
  }
}

const fail = (code: ErrorName, message: string): never => {
  throw new RequestError(code, message);
};

export class GdbSession {
  private generalThread: number;
  private readonly breakpoints = new Map<bigint, number>();
  private readonly watchpoints = new Map<string, { watch: Watchpoint; count: number }>();
  private lastStop: Stop;
  private clientErrorText = false;
  private clientSwbreak = false;
  private interruptRequested = false;
  private running = false;
  private ended = false;

  constructor(
    private readonly target: GdbTarget,
    private readonly hooks: SessionHooks,
  ) {
    const first = target.threads()[0];
    if (first === undefined) throw new Error("a gdb target needs at least one thread");
    this.generalThread = first.id;
    this.lastStop = { thread: first.id, reason: { kind: "signal", signal: 5 } };
  }

  get closed(): boolean {
    return this.ended;
  }

  /** The client went away: stop what is running and forget the session. */
  end(): void {
    this.ended = true;
  }

  /** The interrupt byte (Ctrl-C in gdb): stops a running resume; ignored when nothing runs. */
  interrupt(): void {
    if (this.running) this.interruptRequested = true;
  }

  async handle(incoming: Incoming): Promise<void> {
    if (this.ended) return;
    if (incoming.kind === "interrupt") return this.interrupt();
    if (incoming.kind === "malformed") {
      this.hooks.log(`refused a malformed packet: ${incoming.why}`);
      return this.reply(this.errorReply("malformed", incoming.why));
    }
    const packet = latin1(incoming.data);
    try {
      const reply = await this.dispatch(packet);
      if (reply !== null) this.reply(reply);
    } catch (e) {
      if (e instanceof RequestError) return this.reply(this.errorReply(e.code, e.message));
      // A trace record read on demand that is damaged: its one line, no stack; the session goes on.
      if (isHvsimError(e) && (e.code === "TRACE_CHECKSUM" || e.code === "TRACE_MALFORMED")) {
        this.hooks.log(e.message);
        return this.reply(this.errorReply("damaged", e.message));
      }
      this.hooks.log(`internal error answering '${packet.slice(0, 40)}' (a bug in hvsim, please report it): ${(e as Error)?.stack ?? e}`);
      this.reply(this.errorReply("internal", `internal error: ${(e as Error)?.message ?? e}`));
    }
  }

  private reply(payload: string): void {
    if (!this.ended) this.hooks.send(bytesOfLatin1(payload));
  }

  private errorReply(code: ErrorName, text: string): string {
    // E.text is only for clients that said error-message+ (gdb 14 and later).
    return this.clientErrorText ? `E.${text.replace(/[^\x20-\x7e]/g, "?")}` : `E${hex2(ERROR[code])}`;
  }

  /** The reply to one packet, or null when the request has none (k) or sent its own. */
  private async dispatch(p: string): Promise<string | null> {
    switch (p[0]) {
      case "?":
        return this.stopReply(this.lastStop);
      case "g":
        return p === "g" ? this.readAllRegisters() : "";
      case "p":
        return this.readRegister(p.slice(1));
      case "m":
        return this.readMemory(p.slice(1));
      case "G":
      case "P":
      case "M":
      case "X":
        return fail("readOnly", "the history is read-only: registers and memory cannot be written");
      case "H":
        return this.selectThread(p);
      case "T":
        return this.threadAlive(p.slice(1));
      case "c":
      case "s":
      case "C":
      case "S":
        return this.legacyResume(p);
      case "b":
        if (p === "bs" || p === "bc") return this.resume({ direction: "reverse", action: p === "bs" ? "step" : "continue", thread: this.generalThread });
        return "";
      case "Z":
      case "z":
        return this.breakpointPacket(p);
      case "D":
        this.reply("OK");
        this.hooks.close();
        return null;
      case "k":
        // The history cannot be killed: the next session starts from its beginning.
        this.target.rewind();
        this.hooks.close();
        return null;
      case "v":
        return this.vPacket(p);
      case "q":
        return this.query(p);
      case "Q":
        return this.set(p);
      default:
        return "";
    }
  }

  // ---- queries -------------------------------------------------------------------------------

  private query(p: string): string | Promise<string> {
    if (p.startsWith("qSupported")) return this.supported(p);
    if (p.startsWith("qXfer:")) return this.xfer(p);
    if (p.startsWith("qRcmd,")) return this.monitor(p.slice(6));
    if (p.startsWith("qThreadExtraInfo,")) return hexOfText(this.thread(p.slice(17)).name);
    switch (p) {
      case "qfThreadInfo":
        return `m${this.target
          .threads()
          .map((t) => t.id.toString(16))
          .join(",")}`;
      case "qsThreadInfo":
        return "l";
      case "qC":
        return `QC${this.generalThread.toString(16)}`;
      case "qAttached":
        // Attached to something that exists without us: on quit gdb detaches rather than kills.
        return "1";
      case "qSymbol::":
        return "OK";
      default:
        // qTStatus (no tracepoints), qOffsets (no relocation) and the rest: not supported.
        return "";
    }
  }

  private supported(p: string): string {
    const theirs = p.startsWith("qSupported:") ? p.slice(11).split(";") : [];
    this.clientErrorText = theirs.includes("error-message+");
    this.clientSwbreak = theirs.includes("swbreak+");
    return FEATURES.join(";");
  }

  private set(p: string): string | null {
    if (p !== "QStartNoAckMode") return "";
    this.reply("OK");
    this.hooks.noAck();
    return null;
  }

  /** qXfer:features:read:ANNEX:OFFSET,LENGTH: the target description in pieces (`m` more, `l` last). */
  private xfer(p: string): string {
    const m = /^qXfer:([^:]*):([^:]*):([^:]*):([^,]*),(.*)$/.exec(p);
    if (m === null) return fail("malformed", "qXfer wants object:read:annex:offset,length");
    const [, object, op, annex, offsetText, lengthText] = m;
    if (object !== "features" || op !== "read") return "";
    if (annex !== "target.xml") return fail("malformed", `no such target description document '${annex}' (there is target.xml)`);
    const offset = this.number(offsetText!, "offset");
    const length = this.number(lengthText!, "length");
    const doc = TARGET_XML;
    if (offset >= BigInt(doc.length)) return "l";
    const start = Number(offset);
    const take = Math.min(Number(length < BigInt(MEMORY_READ_MAX) ? length : BigInt(MEMORY_READ_MAX)), doc.length - start);
    return `${start + take >= doc.length ? "l" : "m"}${doc.slice(start, start + take)}`;
  }

  private async monitor(hexCommand: string): Promise<string> {
    const bytes = bytesOfHex(hexCommand);
    if (bytes === null) return fail("malformed", "qRcmd wants the command in hex");
    const command = new TextDecoder().decode(bytes).trim();
    this.running = true;
    this.interruptRequested = false;
    try {
      const r = await this.target.monitor(command, this.generalThread, { interrupted: () => this.interruptRequested || this.ended });
      const text = r.output + (r.moved ? "\n(gdb still shows the registers of before: `maintenance flush register-cache` refreshes them)" : "");
      this.console(text.endsWith("\n") || text === "" ? text : `${text}\n`);
      return "OK";
    } finally {
      this.running = false;
    }
  }

  /** Text on gdb's console: `O` packets, allowed while a command or a resume is in progress. */
  private console(text: string): void {
    const bytes = new TextEncoder().encode(text);
    for (let i = 0; i < bytes.length; i += OUTPUT_CHUNK) this.reply(`O${hexOfBytes(bytes.subarray(i, i + OUTPUT_CHUNK))}`);
  }

  // ---- threads -------------------------------------------------------------------------------

  /** A thread id as gdb writes it: hex, or 0 (any) and -1 (all), which stand for the first thread here. */
  private thread(text: string, allowAll = true): { id: number; name: string } {
    const threads = this.target.threads();
    if (text === "0" || (allowAll && text === "-1")) return threads[0]!;
    const id = parseHexNumber(text, 8);
    if (id === null) return fail("malformed", `'${text}' is not a thread id`);
    const t = threads.find((x) => BigInt(x.id) === id);
    return t ?? fail("noThread", `no thread ${text} (threads: ${threads.map((x) => x.id.toString(16)).join(", ")})`);
  }

  private selectThread(p: string): string {
    const op = p[1];
    if (op !== "g" && op !== "c") return "";
    const t = this.thread(p.slice(2));
    if (op === "g") this.generalThread = t.id;
    return "OK";
  }

  private threadAlive(text: string): string {
    this.thread(text, false);
    return "OK";
  }

  // ---- registers and memory --------------------------------------------------------------------

  private readAllRegisters(): string {
    const s = this.target.cpu(this.generalThread);
    return REGISTERS.map((r) => (s === null ? "xx".repeat(r.bitsize / 8) : hexLittleEndian(r.read(s), r.bitsize / 8))).join("");
  }

  private readRegister(text: string): string {
    const n = parseHexNumber(text, 4);
    if (n === null) return fail("malformed", `'${text}' is not a register number`);
    const r = REGISTERS[Number(n)];
    if (r === undefined) return fail("malformed", `no register ${text} (there are ${REGISTERS.length.toString(16)})`);
    const s = this.target.cpu(this.generalThread);
    return s === null ? "xx".repeat(r.bitsize / 8) : hexLittleEndian(r.read(s), r.bitsize / 8);
  }

  private number(text: string, what: string): bigint {
    const n = parseHexNumber(text);
    return n ?? fail("malformed", `${what} '${text.slice(0, 20)}' is not a hex number of at most 64 bits`);
  }

  /** m ADDR,LENGTH: the mapped bytes from ADDR (fewer than asked is a valid reply); E where none is mapped. */
  private readMemory(args: string): string {
    const [a, l, ...rest] = args.split(",");
    if (a === undefined || l === undefined || rest.length > 0) return fail("malformed", "m wants ADDR,LENGTH");
    const address = this.number(a, "address");
    const asked = this.number(l, "length");
    if (asked === 0n) return fail("malformed", "m asks for no bytes");
    const room = (1n << 64n) - address;
    const length = Number([asked, room, BigInt(MEMORY_READ_MAX)].reduce((x, y) => (y < x ? y : x)));
    let out = "";
    for (const span of this.target.readMemory(this.generalThread, address, length)) {
      if (span.kind === "unmapped") break;
      out += hexOfBytes(span.bytes);
    }
    return out === "" ? fail("unmapped", `nothing is mapped at 0x${address.toString(16)}`) : out;
  }

  // ---- breakpoints and watchpoints -----------------------------------------------------------------

  private breakpointPacket(p: string): string {
    const m = /^([Zz])([0-4]),([0-9a-fA-F]+),([0-9a-fA-F]+)(;.*)?$/.exec(p);
    if (m === null) {
      if (/^[Zz][0-4]/.test(p)) return fail("malformed", `${p[0]}${p[1]} wants TYPE,ADDR,KIND`);
      return "";
    }
    const [, op, type, a, k] = m;
    const address = this.number(a!, "address");
    const size = this.number(k!, "length");
    const insert = op === "Z";
    if (type === "0" || type === "1") return this.breakpoint(insert, address);
    if (size === 0n || size > BigInt(WATCH_BYTES_MAX)) return fail("malformed", `a watchpoint covers 1 to ${WATCH_BYTES_MAX} bytes, not ${size}`);
    if (address + size > 1n << 64n) return fail("malformed", "the watchpoint runs past the end of the address space");
    return this.watchpoint(insert, { kind: WATCH_OF_TYPE[type!]!, address, length: Number(size) });
  }

  private breakpoint(insert: boolean, address: bigint): string {
    const n = this.breakpoints.get(address) ?? 0;
    if (!insert) {
      if (n <= 1) this.breakpoints.delete(address);
      else this.breakpoints.set(address, n - 1);
      return "OK";
    }
    if (n === 0 && this.breakpoints.size >= BREAKPOINTS_MAX) return fail("tooMany", `at most ${BREAKPOINTS_MAX} breakpoints`);
    this.breakpoints.set(address, n + 1);
    return "OK";
  }

  private watchpoint(insert: boolean, watch: Watchpoint): string {
    const key = `${watch.kind}:${watch.address}:${watch.length}`;
    const entry = this.watchpoints.get(key);
    if (!insert) {
      if (entry !== undefined && --entry.count === 0) this.watchpoints.delete(key);
      return "OK";
    }
    if (entry !== undefined) entry.count += 1;
    else if (this.watchpoints.size >= WATCHPOINTS_MAX) return fail("tooMany", `at most ${WATCHPOINTS_MAX} watchpoints`);
    else this.watchpoints.set(key, { watch, count: 1 });
    return "OK";
  }

  // ---- execution -------------------------------------------------------------------------------

  private vPacket(p: string): string | null | Promise<string | null> {
    if (p === "vCont?") return "vCont;c;C;s;S";
    if (p.startsWith("vCont;")) return this.vCont(p.slice(6));
    if (p.startsWith("vKill")) {
      this.target.rewind();
      this.reply("OK");
      this.hooks.close();
      return null;
    }
    // vMustReplyEmpty, vFile, vRun, vAttach...: not supported.
    return "";
  }

  /**
   * vCont;ACTION[:THREAD]...: in all-stop mode with one history, time moves for every vCPU at
   * once, so the request is a step of the thread a step action names, or else a continue. Signals
   * in C/S are dropped: a history cannot receive them.
   */
  private vCont(args: string): Promise<string | null> {
    let step: number | null = null;
    for (const action of args.split(";")) {
      const m = /^([cCsS])([0-9a-fA-F]{2})?(?::(-1|[0-9a-fA-F]+))?$/.exec(action);
      if (m === null) return Promise.resolve(fail("unsupported", `vCont action '${action}' is not supported (c, C, s, S are)`));
      const [, op, sig, tid] = m;
      if ((op === "C" || op === "S") !== (sig !== undefined)) return Promise.resolve(fail("malformed", `vCont action '${action}'`));
      const thread = tid === undefined || tid === "-1" ? this.generalThread : this.thread(tid).id;
      if ((op === "s" || op === "S") && step === null) step = thread;
    }
    return this.resume({ direction: "forward", action: step === null ? "continue" : "step", thread: step ?? this.generalThread });
  }

  private legacyResume(p: string): Promise<string | null> {
    const op = p[0]!;
    const arg = p.slice(1);
    const withSignal = op === "C" || op === "S";
    const address = withSignal ? arg.split(";")[1] : arg;
    if (withSignal && !/^[0-9a-fA-F]{2}(;|$)/.test(arg)) return Promise.resolve(fail("malformed", `${op} wants a signal number`));
    if (address !== undefined && address !== "") return Promise.resolve(fail("readOnly", "resuming at another address would write the PC"));
    return this.resume({ direction: "forward", action: op.toLowerCase() === "s" ? "step" : "continue", thread: this.generalThread });
  }

  private async resume(how: Pick<ResumeRequest, "direction" | "action" | "thread">): Promise<string | null> {
    const request: ResumeRequest = {
      ...how,
      breakpoints: [...this.breakpoints.keys()].map((address): Breakpoint => ({ address })),
      watchpoints: [...this.watchpoints.values()].map((w) => w.watch),
    };
    this.running = true;
    this.interruptRequested = false;
    let stop: Stop;
    try {
      stop = await this.target.resume(request, { interrupted: () => this.interruptRequested || this.ended });
    } finally {
      this.running = false;
    }
    if (this.ended) return null;
    this.lastStop = stop;
    this.generalThread = stop.thread;
    if (stop.message !== undefined) this.console(`${stop.message}\n`);
    return this.stopReply(stop);
  }

  /** T packet: the signal, the thread, the PC and SP (so gdb needs no `g` to show where), the reason. */
  private stopReply(stop: Stop): string {
    const r = stop.reason;
    const signal = r.kind === "interrupted" ? 2 : r.kind === "signal" ? r.signal : 5;
    let out = `T${hex2(signal)}thread:${stop.thread.toString(16)};`;
    const s = this.target.cpu(stop.thread);
    if (s !== null) {
      for (const n of [REGNUM_SP, REGNUM_PC]) out += `${n.toString(16)}:${hexLittleEndian(REGISTERS[n]!.read(s), 8)};`;
    }
    switch (r.kind) {
      case "breakpoint":
        if (this.clientSwbreak) out += "swbreak:;";
        break;
      case "watchpoint":
        out += `${STOP_KEY[r.watch]}:${r.address.toString(16)};`;
        break;
      case "history-start":
        out += "replaylog:begin;";
        break;
      case "history-end":
        out += "replaylog:end;";
        break;
    }
    return out;
  }
}
