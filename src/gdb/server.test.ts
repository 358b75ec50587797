import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { REG_PC, REG_SP_EL1, resetCpu, withReg, type CpuState } from "../cpu/index.ts";
import { HvsimError } from "../core/errors.ts";
import { bytesOfHex, bytesOfLatin1, hexLittleEndian, hexOfText, latin1 } from "./hex.ts";
import { GdbConnection, checksum } from "./packet.ts";
import { serveClient } from "./serve.ts";
import { BREAKPOINTS_MAX, GdbSession, MEMORY_READ_MAX, WATCH_BYTES_MAX } from "./server.ts";
import { REGISTERS, TARGET_XML, cpsrOf } from "./tdesc.ts";
import type { GdbTarget, MemorySpan, MonitorReply, ResumeControl, ResumeRequest, Stop } from "./target.ts";

/** What each request means, over a scripted target: every packet the server knows, and every error path. */

const RAM_BASE = 0x1000n;
const RAM = Uint8Array.from({ length: 256 }, (_, i) => i);

class FakeTarget implements GdbTarget {
  readonly description = "a scripted target";
  readonly requests: ResumeRequest[] = [];
  readonly stops: Stop[] = [];
  rewound = 0;
  state: CpuState = withReg(withReg(withReg(resetCpu({ pc: 0x400000, sp: 0x8000n }), 0, 0x1122334455667788n), 30, 0xdeadn), REG_SP_EL1, 0x7ff0n);
  onResume: (control: ResumeControl) => Promise<void> = async () => {};
  failWith: Error | null = null;

  threads() {
    return [
      { id: 1, name: "vCPU 0" },
      { id: 2, name: "vCPU 1 (off)" },
    ];
  }
  cpu(thread: number): CpuState | null {
    if (this.failWith !== null) throw this.failWith;
    return thread === 1 ? this.state : null;
  }
  readMemory(_thread: number, address: bigint, length: number): MemorySpan[] {
    const spans: MemorySpan[] = [];
    const end = address + BigInt(length);
    let at = address;
    while (at < end) {
      const inside = at >= RAM_BASE && at < RAM_BASE + BigInt(RAM.length);
      const next = inside ? (RAM_BASE + BigInt(RAM.length) < end ? RAM_BASE + BigInt(RAM.length) : end) : at < RAM_BASE && RAM_BASE < end ? RAM_BASE : end;
      spans.push(inside ? { kind: "bytes", bytes: RAM.slice(Number(at - RAM_BASE), Number(next - RAM_BASE)) } : { kind: "unmapped", length: Number(next - at) });
      at = next;
    }
    return spans;
  }
  async resume(r: ResumeRequest, control: ResumeControl): Promise<Stop> {
    this.requests.push(r);
    await this.onResume(control);
    return this.stops.shift() ?? { thread: 1, reason: { kind: "step" } };
  }
  async monitor(command: string, thread: number): Promise<MonitorReply> {
    return command === "goto 5" ? { output: "moved", moved: true } : { output: `you said ${command} on thread ${thread}` };
  }
  rewind(): void {
    this.rewound += 1;
  }
}

function session(target = new FakeTarget()) {
  const sent: string[] = [];
  const log: string[] = [];
  let closed = 0;
  let noAck = 0;
  const s = new GdbSession(target, {
    send: (p) => void sent.push(latin1(p)),
    noAck: () => void (noAck += 1),
    close: () => void (closed += 1),
    log: (l) => void log.push(l),
  });
  /** Sends one request; returns every packet the server sent in answer. */
  const ask = async (packet: string): Promise<string[]> => {
    const from = sent.length;
    await s.handle({ kind: "packet", data: bytesOfLatin1(packet) });
    return sent.slice(from);
  };
  const one = async (packet: string): Promise<string> => {
    const r = await ask(packet);
    expect(r).toHaveLength(1);
    return r[0]!;
  };
  return { s, target, ask, one, log, closed: () => closed, noAck: () => noAck };
}

const le = (v: bigint, n = 8): string => hexLittleEndian(v, n);

describe("connecting", () => {
  it("qSupported advertises PacketSize, the target description, no-ack mode and reverse execution", async () => {
    const { one } = session();
    expect(await one("qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386")).toBe("PacketSize=4000;qXfer:features:read+;QStartNoAckMode+;swbreak+;hwbreak+;ReverseStep+;ReverseContinue+");
  });

  it("QStartNoAckMode answers OK and then switches the connection", async () => {
    const { one, noAck } = session();
    expect(await one("QStartNoAckMode")).toBe("OK");
    expect(noAck()).toBe(1);
  });

  it("answers the start-up queries gdb 13 sends", async () => {
    const { one } = session();
    expect(await one("qAttached")).toBe("1");
    expect(await one("qTStatus")).toBe("");
    expect(await one("qOffsets")).toBe("");
    expect(await one("qSymbol::")).toBe("OK");
    expect(await one("vMustReplyEmpty")).toBe("");
    expect(await one("?")).toBe(`T05thread:1;1f:${le(0x7ff0n)};20:${le(0x400000n)};`);
  });

  it("unknown requests are answered with the empty packet", async () => {
    const { one } = session();
    for (const p of ["!", "qXfer:threads:read::0,100", "QNonStop:1", "vRun;", "vFile:setfs:0", "Hx1", "j", "bx", "", "\x00\xff"]) expect(await one(p)).toBe("");
  });
});

describe("the target description", () => {
  it("reads back whole through qXfer in pieces of any size, m before the last and l for it", async () => {
    const { one } = session();
    for (const size of [13, 0x100, 0xffb, 0x10000]) {
      let doc = "";
      for (let offset = 0; ; offset += size) {
        const r = await one(`qXfer:features:read:target.xml:${offset.toString(16)},${size.toString(16)}`);
        doc += r.slice(1);
        if (r[0] === "l") break;
        expect(r[0]).toBe("m");
        expect(r.length - 1).toBe(size);
      }
      expect(doc).toBe(TARGET_XML);
    }
    expect(await one(`qXfer:features:read:target.xml:${(TARGET_XML.length + 5).toString(16)},10`)).toBe("l");
  });

  it("names x0..x30, sp, pc, cpsr in gdb's AArch64 core feature and the EL1 registers in a system feature", () => {
    const regs = [...TARGET_XML.matchAll(/<reg name="([^"]+)" bitsize="(\d+)" type="[^"]+" regnum="(\d+)"/g)].map((m) => [m[1], Number(m[2]), Number(m[3])]);
    expect(regs.slice(0, 34)).toEqual([...Array.from({ length: 31 }, (_, i) => [`x${i}`, 64, i]), ["sp", 64, 31], ["pc", 64, 32], ["cpsr", 32, 33]]);
    expect(regs.map((r) => r[0])).toEqual(REGISTERS.map((r) => r.name));
    expect(regs.map((r) => r[0])).toContain("vbar_el1");
    expect(regs.map((r) => r[0])).toContain("esr_el1");
    expect(TARGET_XML).toContain('<feature name="org.gnu.gdb.aarch64.core">');
    expect(TARGET_XML.split("<feature").length - 1).toBe(2);
  });

  it("refuses other documents and malformed requests; other objects are unsupported", async () => {
    const { one } = session();
    expect(await one("qXfer:features:read:aarch64-core.xml:0,100")).toBe("E01");
    expect(await one("qXfer:features:read:target.xml:zz,100")).toBe("E01");
    expect(await one("qXfer:features:read:target.xml:0")).toBe("E01");
    expect(await one("qXfer:features:write:target.xml:0,10")).toBe("");
    expect(await one("qXfer:libraries:read::0,10")).toBe("");
  });
});

describe("registers", () => {
  it("g carries every register in target-description order, little-endian", async () => {
    const t = new FakeTarget();
    const { one } = session(t);
    const g = await one("g");
    expect(g.length).toBe(REGISTERS.reduce((n, r) => n + r.bitsize / 4, 0));
    expect(g.slice(0, 16)).toBe("8877665544332211");
    expect(g.slice(30 * 16, 31 * 16)).toBe(le(0xdeadn));
    expect(g.slice(31 * 16, 32 * 16)).toBe(le(0x7ff0n)); // sp is SP_EL1 at EL1h
    expect(g.slice(32 * 16, 33 * 16)).toBe(le(0x400000n));
    expect(g.slice(33 * 16, 33 * 16 + 8)).toBe(le(cpsrOf(t.state), 4));
    expect(cpsrOf(t.state)).toBe(0x3c5n); // EL1h, DAIF masked
  });

  it("p reads one register; a thread with no CPU state reads as unavailable", async () => {
    const { one } = session();
    expect(await one("p0")).toBe("8877665544332211");
    expect(await one("p20")).toBe(le(0x400000n));
    expect(await one("p21")).toBe("c5030000");
    expect(await one(`p${(REGISTERS.findIndex((r) => r.name === "sctlr_el1")).toString(16)}`)).toBe(le(0x30d00800n));
    expect(await one("Hg2")).toBe("OK");
    expect(await one("p0")).toBe("xxxxxxxxxxxxxxxx");
    expect(await one("g")).toMatch(/^x+$/);
  });

  it("bad register numbers are errors", async () => {
    const { one } = session();
    expect(await one(`p${REGISTERS.length.toString(16)}`)).toBe("E01");
    expect(await one("p")).toBe("E01");
    expect(await one("pzz")).toBe("E01");
    expect(await one("p12345")).toBe("E01");
    expect(await one("g1")).toBe("");
  });

  it("writes are refused: the history is read-only", async () => {
    const { one } = session();
    for (const p of ["G00", "P20=0000000000000000", "M1000,1:00", "X1000,1:\x00", "X1000,0:"]) expect(await one(p)).toBe("E04");
  });
});

describe("memory", () => {
  it("m returns the bytes, and the mapped part of a range that runs into unmapped memory", async () => {
    const { one } = session();
    expect(await one("m1000,4")).toBe("00010203");
    expect(await one("m10fe,8")).toBe("feff");
    expect(await one("m1100,4")).toBe("E03");
    expect(await one("mfff,4")).toBe("E03");
  });

  it("caps a huge length at what one reply carries, and at the end of the address space", async () => {
    const t = new FakeTarget();
    let asked = 0;
    t.readMemory = (_th, _a, length) => {
      asked = length;
      return [{ kind: "bytes", bytes: new Uint8Array(length) }];
    };
    const { one } = session(t);
    expect((await one("m0,ffffffffffffffff")).length).toBe(2 * MEMORY_READ_MAX);
    expect(asked).toBe(MEMORY_READ_MAX);
    expect(await one("mffffffffffffffff,10")).toBe("00");
  });

  it("malformed addresses and lengths are errors", async () => {
    const { one } = session();
    for (const p of ["m", "m1000", "m1000,", "m,4", "mzz,4", "m1000,4,4", "m10000000000000000,1", "m1000,0", "m-1,4"]) expect(await one(p)).toBe("E01");
  });
});

describe("threads", () => {
  it("lists the target's threads with their names", async () => {
    const { one } = session();
    expect(await one("qfThreadInfo")).toBe("m1,2");
    expect(await one("qsThreadInfo")).toBe("l");
    expect(await one("qThreadExtraInfo,2")).toBe(hexOfText("vCPU 1 (off)"));
    expect(await one("qThreadExtraInfo,9")).toBe("E02");
  });

  it("Hg selects the thread registers and memory are read for; 0 and -1 stand for the first", async () => {
    const { one } = session();
    expect(await one("Hg2")).toBe("OK");
    expect(await one("qC")).toBe("QC2");
    expect(await one("Hg0")).toBe("OK");
    expect(await one("qC")).toBe("QC1");
    expect(await one("Hc-1")).toBe("OK");
    expect(await one("Hg9")).toBe("E02");
    expect(await one("Hgq")).toBe("E01");
    expect(await one("Hg")).toBe("E01");
  });

  it("T says whether a thread exists", async () => {
    const { one } = session();
    expect(await one("T1")).toBe("OK");
    expect(await one("T2")).toBe("OK");
    expect(await one("T3")).toBe("E02");
    expect(await one("T-1")).toBe("E01");
  });
});

describe("breakpoints and watchpoints", () => {
  it("Z0/Z1 breakpoints and Z2-Z4 watchpoints reach the target with the next resume; z removes them", async () => {
    const t = new FakeTarget();
    const { one } = session(t);
    for (const p of ["Z0,400010,4", "Z1,400020,4", "Z2,1000,8", "Z3,1010,4", "Z4,1020,1", "Z0,400030,4;X2,0a"]) expect(await one(p)).toBe("OK");
    await one("vCont;c");
    expect(t.requests[0]!.breakpoints.map((b) => b.address)).toEqual([0x400010n, 0x400020n, 0x400030n]);
    expect(t.requests[0]!.watchpoints).toEqual([
      { kind: "write", address: 0x1000n, length: 8 },
      { kind: "read", address: 0x1010n, length: 4 },
      { kind: "access", address: 0x1020n, length: 1 },
    ]);
    for (const p of ["z0,400010,4", "z1,400020,4", "z2,1000,8", "z3,1010,4", "z4,1020,1", "z0,400030,4", "z0,999,4"]) expect(await one(p)).toBe("OK");
    await one("vCont;c");
    expect(t.requests[1]!.breakpoints).toEqual([]);
    expect(t.requests[1]!.watchpoints).toEqual([]);
  });

  it("a breakpoint inserted twice needs removing twice", async () => {
    const t = new FakeTarget();
    const { one } = session(t);
    await one("Z0,10,4");
    await one("Z0,10,4");
    await one("z0,10,4");
    await one("c");
    expect(t.requests[0]!.breakpoints).toEqual([{ address: 0x10n }]);
  });

  it("refuses malformed, empty, oversized and too many; other types are unsupported", async () => {
    const { one } = session();
    for (const p of ["Z0", "Z0,", "Z0,zz,4", "Z2,1000", "Z2,1000,0", `Z2,1000,${(WATCH_BYTES_MAX + 1).toString(16)}`, "Z2,ffffffffffffffff,2", "Z0,10000000000000000,4"]) expect(await one(p)).toBe("E01");
    expect(await one("Z5,1000,4")).toBe("");
    const { one: one2 } = session();
    const inserted = new Set<string>();
    for (let i = 0; i < BREAKPOINTS_MAX; i++) inserted.add(await one2(`Z0,${(i * 4).toString(16)},4`));
    expect([...inserted]).toEqual(["OK"]);
    expect(await one2(`Z0,${(BREAKPOINTS_MAX * 4).toString(16)},4`)).toBe("E05");
    expect(await one2("Z0,0,4")).toBe("OK"); // the same address again is not a new one
  });
});

describe("execution", () => {
  it("vCont? lists continue and step (with and without signals)", async () => {
    const { one } = session();
    expect(await one("vCont?")).toBe("vCont;c;C;s;S");
  });

  it("vCont steps the thread a step action names, else continues; signals are dropped", async () => {
    const t = new FakeTarget();
    const { one } = session(t);
    for (const p of ["vCont;s:1;c", "vCont;c", "vCont;C0b:1", "vCont;S05:1", "vCont;s", "s", "c", "C0b", "S05"]) await one(p);
    expect(t.requests.map((r) => [r.direction, r.action, r.thread])).toEqual([
      ["forward", "step", 1],
      ["forward", "continue", 1],
      ["forward", "continue", 1],
      ["forward", "step", 1],
      ["forward", "step", 1],
      ["forward", "step", 1],
      ["forward", "continue", 1],
      ["forward", "continue", 1],
      ["forward", "step", 1],
    ]);
  });

  it("bs and bc go backward", async () => {
    const t = new FakeTarget();
    const { one } = session(t);
    await one("bs");
    await one("bc");
    expect(t.requests.map((r) => [r.direction, r.action])).toEqual([
      ["reverse", "step"],
      ["reverse", "continue"],
    ]);
  });

  it("refuses vCont actions it does not support, unknown threads, and resuming elsewhere", async () => {
    const t = new FakeTarget();
    const { one } = session(t);
    expect(await one("vCont;t:1")).toBe("E06");
    expect(await one("vCont;r400000,400010:1")).toBe("E06");
    expect(await one("vCont;s:9")).toBe("E02");
    expect(await one("vCont;C:1")).toBe("E01");
    expect(await one("vCont;")).toBe("E06");
    expect(await one("c400000")).toBe("E04");
    expect(await one("C05;400000")).toBe("E04");
    expect(await one("Cxx")).toBe("E01");
    expect(t.requests).toEqual([]);
  });

  it("stop replies carry the thread, SP and PC, and the reason gdb 13 expects", async () => {
    const t = new FakeTarget();
    const { one, ask } = session(t);
    const regs = `1f:${le(0x7ff0n)};20:${le(0x400000n)};`;
    t.stops.push(
      { thread: 1, reason: { kind: "breakpoint", address: 0x400000n } },
      { thread: 1, reason: { kind: "watchpoint", watch: "write", address: 0x1004n } },
      { thread: 1, reason: { kind: "watchpoint", watch: "read", address: 0x1008n } },
      { thread: 1, reason: { kind: "watchpoint", watch: "access", address: 0x100cn } },
      { thread: 1, reason: { kind: "history-start" } },
      { thread: 1, reason: { kind: "history-end" } },
      { thread: 1, reason: { kind: "interrupted" } },
      { thread: 1, reason: { kind: "signal", signal: 11 }, message: "data abort at 0x400000" },
      { thread: 2, reason: { kind: "step" } },
      { thread: 1, reason: { kind: "breakpoint", address: 0x400000n } },
    );
    expect(await one("c")).toBe(`T05thread:1;${regs}`);
    expect(await one("c")).toBe(`T05thread:1;${regs}watch:1004;`);
    expect(await one("c")).toBe(`T05thread:1;${regs}rwatch:1008;`);
    expect(await one("c")).toBe(`T05thread:1;${regs}awatch:100c;`);
    expect(await one("bc")).toBe(`T05thread:1;${regs}replaylog:begin;`);
    expect(await one("c")).toBe(`T05thread:1;${regs}replaylog:end;`);
    expect(await one("c")).toBe(`T02thread:1;${regs}`);
    expect(await ask("c")).toEqual([`O${hexOfText("data abort at 0x400000\n")}`, `T0bthread:1;${regs}`]);
    // A stop on a thread with no CPU state: no registers expedited; it becomes the selected thread.
    expect(await one("s")).toBe("T05thread:2;");
    expect(await one("qC")).toBe("QC2");
    expect(await one("?")).toBe("T05thread:2;");
    // swbreak only for a client that announced it.
    await one("qSupported:swbreak+");
    expect(await one("c")).toBe(`T05thread:1;${regs}swbreak:;`);
  });

  it("the interrupt byte stops a running resume; it means nothing when nothing runs", async () => {
    const t = new FakeTarget();
    const { s, one } = session(t);
    let seen = false;
    t.onResume = async (control) => {
      while (!control.interrupted()) await new Promise((r) => setTimeout(r, 1));
      seen = true;
    };
    s.interrupt();
    const reply = one("c");
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toBe(false);
    await s.handle({ kind: "interrupt" });
    await reply;
    expect(seen).toBe(true);
  });
});

describe("monitor, detach, kill", () => {
  it("qRcmd runs a monitor command: its output as O packets, then OK", async () => {
    const { ask } = session();
    expect(await ask(`qRcmd,${hexOfText("where")}`)).toEqual([`O${hexOfText("you said where on thread 1\n")}`, "OK"]);
    await ask("Hg2");
    expect(await ask(`qRcmd,${hexOfText("  s2   0x1000 ")}`)).toEqual([`O${hexOfText("you said s2   0x1000 on thread 2\n")}`, "OK"]);
    const moved = await ask(`qRcmd,${hexOfText("goto 5")}`);
    expect(moved.at(-1)).toBe("OK");
    expect(new TextDecoder().decode(bytesOfHex(moved[0]!.slice(1))!)).toMatch(/^moved\n\(gdb still shows the registers of before: `maintenance flush register-cache` refreshes them\)\n$/);
    expect(await ask("qRcmd,zz")).toEqual(["E01"]);
    expect(await ask("qRcmd,123")).toEqual(["E01"]);
  });

  it("D answers OK and closes; k and vKill rewind the history for the next session", async () => {
    const t = new FakeTarget();
    const a = session(t);
    expect(await a.ask("D")).toEqual(["OK"]);
    expect(a.closed()).toBe(1);
    expect(t.rewound).toBe(0);
    const b = session(t);
    expect(await b.ask("k")).toEqual([]);
    expect(b.closed()).toBe(1);
    expect(t.rewound).toBe(1);
    const c = session(t);
    expect(await c.ask("vKill;1")).toEqual(["OK"]);
    expect(t.rewound).toBe(2);
  });

  it("after the client went away nothing more is sent", async () => {
    const { s, ask } = session();
    s.end();
    expect(await ask("g")).toEqual([]);
  });
});

describe("errors", () => {
  it("a malformed packet from the connection layer gets an error, and is logged", async () => {
    const { s, log } = session();
    const sent: string[] = [];
    const s2 = new GdbSession(new FakeTarget(), { send: (p) => void sent.push(latin1(p)), noAck: () => {}, close: () => {}, log: (l) => void log.push(l) });
    await s2.handle({ kind: "malformed", why: "bad checksum" });
    expect(sent).toEqual(["E01"]);
    expect(log).toEqual(["refused a malformed packet: bad checksum"]);
    expect(s.closed).toBe(false);
  });

  it("clients that announce error-message+ (gdb 14) get the reason as text", async () => {
    const { one } = session();
    await one("qSupported:error-message+");
    expect(await one("m1100,4")).toBe("E.nothing is mapped at 0x1100");
    expect(await one("Hg9")).toBe("E.no thread 9 (threads: 1, 2)");
    expect(await one("M1000,1:00")).toBe("E.the history is read-only: registers and memory cannot be written");
  });

  it("a target that throws is an internal error: logged, answered E07, and the session goes on", async () => {
    const t = new FakeTarget();
    const { one, log } = session(t);
    t.failWith = new Error("boom");
    expect(await one("g")).toBe("E07");
    expect(log[0]).toMatch(/^internal error answering 'g' \(a bug in hvsim, please report it\): Error: boom/);
    t.failWith = null;
    expect(await one("p0")).toBe("8877665544332211");
  });

  it("a trace record that is damaged where the request read it: its one line logged, answered E08, and the session goes on", async () => {
    const t = new FakeTarget();
    const { one, log } = session(t);
    t.failWith = new HvsimError("TRACE_CHECKSUM", "t.hvt: damaged at byte offset 4242 (block 3): checksum mismatch in the block record at offset 4242", { offset: 4242 });
    expect(await one("g")).toBe("E08");
    expect(log).toEqual(["t.hvt: damaged at byte offset 4242 (block 3): checksum mismatch in the block record at offset 4242"]);
    t.failWith = null;
    expect(await one("p0")).toBe("8877665544332211");
  });

  it("any packet gets exactly one reply and never throws (except those that close the session)", async () => {
    const prefixes = ["", "?", "g", "p", "m", "M", "G", "P", "X", "H", "Hg", "Hc", "T", "c", "s", "C", "S", "b", "bs", "bc", "Z", "z", "Z0,", "Z2,", "z4,", "v", "vCont", "vCont;", "vCont?", "q", "qXfer:features:read:target.xml:", "qRcmd,", "qThreadExtraInfo,", "Q", "qSupported:"];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...prefixes), fc.string({ maxLength: 24 }), async (prefix, rest) => {
        const { ask } = session();
        const p = prefix + rest;
        const replies = await ask(p);
        if (/^(D|k|vKill|QStartNoAckMode$)/.test(p)) return;
        expect(replies.length).toBeGreaterThanOrEqual(1);
        expect(replies.slice(0, -1).every((r) => r.startsWith("O"))).toBe(true);
      }),
      { numRuns: 400 },
    );
  });
});

describe("a whole client over the wire", () => {
  it("frames, acknowledges and answers through the connection layer, and closes on D", async () => {
    let wire = "";
    let ended = false;
    const link = serveClient(new FakeTarget(), { write: (b) => void (wire += latin1(b)), end: () => void (ended = true) }, () => {});
    const send = (body: string): void => link.receive(bytesOfLatin1(`$${body}#${checksum(bytesOfLatin1(body)).toString(16).padStart(2, "0")}`));
    send("qAttached");
    await new Promise((r) => setTimeout(r, 0));
    expect(wire).toBe("+$1#31");
    link.receive(bytesOfLatin1("+"));
    wire = "";
    send("QStartNoAckMode");
    await new Promise((r) => setTimeout(r, 0));
    expect(wire).toBe("+$OK#9a");
    wire = "";
    send("m1000,2");
    send("D");
    await link.done;
    expect(wire).toBe("$0001#c1$OK#9a");
    expect(ended).toBe(true);
  });

  it("a client that goes away during a continue stops it, and nothing more is written", async () => {
    const t = new FakeTarget();
    let stopped = false;
    t.onResume = async (control) => {
      while (!control.interrupted()) await new Promise((r) => setTimeout(r, 1));
      stopped = true;
    };
    let wire = "";
    const link = serveClient(t, { write: (b) => void (wire += latin1(b)), end: () => {} }, () => {});
    link.receive(bytesOfLatin1(`$c#${checksum(bytesOfLatin1("c")).toString(16)}`));
    await new Promise((r) => setTimeout(r, 20));
    expect(wire).toBe("+");
    link.disconnected();
    await link.done;
    await new Promise((r) => setTimeout(r, 20));
    expect(stopped).toBe(true);
    expect(wire).toBe("+");
  });

  it("a client that sends request after request without reading is cut off", async () => {
    let ended = false;
    const log: string[] = [];
    const link = serveClient(new FakeTarget(), { write: () => {}, end: () => void (ended = true) }, (l) => void log.push(l));
    const many = Array.from({ length: 100 }, (_, i) => `$m${i.toString(16)},1#${checksum(bytesOfLatin1(`m${i.toString(16)},1`)).toString(16).padStart(2, "0")}`).join("");
    link.receive(bytesOfLatin1(many));
    await link.done;
    expect(ended).toBe(true);
    expect(log).toEqual(["the client sent 64 requests without waiting for replies: disconnecting it"]);
  });
});
