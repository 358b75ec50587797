import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { FlatRam, REG_PC, parseImage, readReg, resetCpu, run, type CpuState } from "../src/cpu/index.ts";
import { cpsrOf } from "../src/gdb/tdesc.ts";
import { gdbBatch, mark, registersOf } from "./gdb-batch.ts";
import { cli, tempDir } from "./helpers.ts";

/**
 * The real gdb-multiarch (Debian's gdb 13) in batch mode against `hvsim cpu gdb`, on a C program
 * compiled here with the cross compiler. Every answer gdb shows is checked against the CPU run
 * alone (no debugger) or a linear scan of the execution.
 */

const dir = tempDir();
const bin = join(import.meta.dirname, "../bin/hvsim.mjs");
const SOURCE = `
volatile long counter;
long table[16];

__attribute__((noinline)) long mix(long x, long i) {
  return x * 31 + i;
}

__attribute__((noinline)) void bump(long i) {
  counter = mix(counter, i);
  table[i & 15] = counter;
}

int main(void) {
  for (long i = 0; i < 40; i++) bump(i);
  return (int)counter;
}

void _start(void) {
  main();
  __asm__ volatile("brk #0");
}
`;
const RAM_BYTES = 2 ** 32; // hvsim cpu run's flat RAM (src/cli/commands/cpu.ts)

const elf = join(dir, "bump.elf");
writeFileSync(join(dir, "bump.c"), SOURCE);
execFileSync("aarch64-linux-gnu-gcc", ["-O1", "-g", "-ffreestanding", "-nostdlib", "-mgeneral-regs-only", "-mstrict-align", "-static", "-Wl,--build-id=none", "-fno-asynchronous-unwind-tables", "-o", elf, join(dir, "bump.c")]);
const image = parseImage(new Uint8Array(readFileSync(elf)));
const symbol = (name: string): number => image.symbols.find((s) => s.name === name)!.address;

/** The program as `hvsim cpu run` starts it: the oracle every gdb answer is compared with. */
function fresh(): { ram: FlatRam; state: CpuState } {
  const ram = new FlatRam({ base: 0, sizeBytes: RAM_BYTES });
  for (const s of image.segments) ram.write(s.address, s.bytes);
  return { ram, state: resetCpu({ pc: image.entry, sp: BigInt(RAM_BYTES) }) };
}

/** One gdb-multiarch session over --stdio (or the `connect` line given). */
const gdb = (commands: readonly string[], connect = `target remote | ${process.execPath} ${bin} cpu gdb ${elf} --stdio`): Promise<Map<string, string[]>> => gdbBatch(elf, connect, commands);

const instructionOf = (lines: readonly string[] | undefined): number => Number(/^instruction (\d+) /.exec((lines ?? []).find((l) => l.startsWith("instruction")) ?? "")?.[1] ?? NaN);

describe("gdb-multiarch against hvsim cpu gdb", () => {
  let s: Map<string, string[]>;
  beforeAll(async () => {
    s = await gdb([
      mark("regs0"),
      "info registers",
      "break bump",
      "continue",
      mark("atbreak"),
      'printf "PC=%lx\\n", $pc',
      "monitor where",
      mark("regs1"),
      "info registers",
      mark("x4i"),
      "x/4i $pc",
      mark("threads"),
      "info threads",
      "stepi",
      "stepi",
      mark("stepped"),
      "info registers",
      "reverse-stepi",
      "reverse-stepi",
      mark("back"),
      "info registers",
      mark("system"),
      "info registers system",
      mark("memory"),
      "x/2gx &table",
      "p $x100",
      // The watchpoint walk backward (checked in its own test below).
      "delete",
      "break bump if i == 30",
      "continue",
      mark("at30"),
      "monitor where",
      "delete",
      "watch counter",
      "reverse-continue",
      mark("back1"),
      'printf "PC=%lx\\n", $pc',
      "monitor where",
      'printf "VALUE=%ld\\n", counter',
      "reverse-continue",
      mark("back2"),
      'printf "PC=%lx\\n", $pc',
      "monitor where",
      "continue",
      mark("forward"),
      'printf "PC=%lx\\n", $pc',
      "monitor where",
      mark("end"),
    ]);
  }, 150_000);

  it("info registers at connection is the program out of reset", () => {
    const regs = registersOf(s.get("regs0"));
    const { state } = fresh();
    expect(regs.get("pc")).toBe(BigInt(image.entry));
    expect(regs.get("sp")).toBe(BigInt(RAM_BYTES));
    expect(regs.get("cpsr")).toBe(cpsrOf(state));
    expect(regs.get("x0")).toBe(0n);
  });

  it("break on a function and continue stop at its first instruction", () => {
    expect(s.get("atbreak")).toContain(`PC=${symbol("bump").toString(16)}`);
    expect(s.get("regs0")!.join("\n")).toMatch(/\nBreakpoint 1, bump \(i=i@entry=0\) at .*bump\.c:\d+\n/);
  });

  it("info registers equals the CPU's state after the same number of instructions, run alone", () => {
    const n = instructionOf(s.get("atbreak"));
    expect(n).toBeGreaterThan(0);
    const { ram, state } = fresh();
    const alone = run(state, ram, n).state;
    expect(Number(readReg(alone, REG_PC))).toBe(symbol("bump"));
    const regs = registersOf(s.get("regs1"));
    for (let i = 0; i < 31; i++) expect(regs.get(`x${i}`), `x${i}`).toBe(readReg(alone, i));
    expect(regs.get("sp")).toBe(readReg(alone, 32));
    expect(regs.get("pc")).toBe(readReg(alone, REG_PC));
    expect(regs.get("cpsr")).toBe(cpsrOf(alone));
    expect(regs.get("sctlr_el1")).toBe(alone.sys.sctlr_el1);
    expect(regs.get("mpidr_el1")).toBe(alone.sys.mpidr_el1);
  });

  it("x/4i $pc shows the instructions objdump shows there", () => {
    const gdbLines = s.get("x4i")!.filter((l) => /0x[0-9a-f]+ </.test(l));
    expect(gdbLines).toHaveLength(4);
    const objdump = execFileSync("aarch64-linux-gnu-objdump", ["-d", elf]).toString().split("\n");
    for (const l of gdbLines) {
      const m = /^(?:=> )?\s*0x([0-9a-f]+) <[^>]+>:\s+(.*)$/.exec(l)!;
      const theirs = objdump.find((o) => o.startsWith(`  ${m[1]}:`))!;
      const text = (x: string): string => x.replace(/0x/g, "").replace(/\s+/g, " ").trim();
      expect(text(m[2]!)).toBe(text(theirs.split("\t").slice(2).join("\t")));
    }
    expect(gdbLines[0]).toMatch(/^=> 0x[0-9a-f]+ <bump>:\s+stp\s+x29, x30, \[sp, #-\d+\]!$/);
  });

  it("info threads lists the CPU as a thread, at its position", () => {
    const n = instructionOf(s.get("atbreak"));
    expect(s.get("threads")!.join("\n")).toMatch(new RegExp(`^\\* 1\\s+Thread 1 \\(CPU 0 \\(EL1h, instruction ${n}\\)\\) bump \\(i=i@entry=0\\)`, "m"));
  });

  it("stepi then reverse-stepi returns to identical registers, every one of them", () => {
    const before = registersOf(s.get("regs1"));
    const stepped = registersOf(s.get("stepped"));
    const back = registersOf(s.get("back"));
    expect(before.size).toBeGreaterThan(60);
    expect(stepped.get("pc")).not.toBe(before.get("pc"));
    expect(stepped.get("sp")).not.toBe(before.get("sp")); // stp x29, x30, [sp, #-N]! moved it
    expect(back).toEqual(before);
  });

  it("watch on a variable and reverse-continue stop at the store that last changed it (a linear scan agrees)", () => {
    const from = instructionOf(s.get("at30"));
    // The oracle: one instruction at a time from reset, noting each step that changed `counter`.
    const { ram, state } = fresh();
    const counter = symbol("counter");
    const value = (): bigint => new DataView(ram.read(counter, 8).buffer).getBigInt64(0, true);
    const changes: { at: number; pc: number; before: bigint }[] = [];
    let st = state;
    for (let i = 0; i < from; i++) {
      const before = value();
      const pc = Number(readReg(st, REG_PC));
      st = run(st, ram, 1).state;
      if (value() !== before) changes.push({ at: i, pc, before });
    }
    expect(changes.length).toBe(29); // bump(0) stores 0 over 0
    const last = changes.at(-1)!;
    const previous = changes.at(-2)!;
    expect(s.get("back1")).toContain(`PC=${last.pc.toString(16)}`);
    expect(instructionOf(s.get("back1"))).toBe(last.at);
    expect(s.get("back1")).toContain(`VALUE=${last.before}`);
    expect(s.get("at30")!.join("\n")).toMatch(/Hardware watchpoint \d+: counter/);
    expect(s.get("back2")).toContain(`PC=${previous.pc.toString(16)}`);
    expect(instructionOf(s.get("back2"))).toBe(previous.at);
    // Each command's report comes before the next marker: gdb shows the change backward as old -> new.
    expect(s.get("back1")!.join("\n")).toMatch(new RegExp(`Old value = ${last.before}\nNew value = ${previous.before}\n`));
    // Forward again from there (before that store): the store itself is the first change, and gdb stops after it.
    expect(s.get("back2")!.join("\n")).toMatch(new RegExp(`Old value = ${previous.before}\nNew value = ${last.before}\n`));
    expect(instructionOf(s.get("forward"))).toBe(previous.at + 1);
  });

  it("the EL1 system registers are their own group; memory reads; there is no x100", () => {
    const system = registersOf(s.get("system"));
    expect([...system.keys()]).toContain("vbar_el1");
    expect([...system.keys()]).not.toContain("x0");
    expect(system.get("oslsr_el1")).toBe(0xan);
    expect(s.get("memory")!.join("\n")).toMatch(/<table>:\s+0x0000000000000000\s+0x0000000000000000/);
  });
});

/** Speaks a little RSP on a raw socket: the first reply to one request. */
function rawRequest(port: number, body: string): Promise<{ reply: string; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let data = "";
    // A refused client may see its connection reset rather than closed: either way it is over.
    socket.on("error", (e: NodeJS.ErrnoException) => (e.code === "ECONNRESET" ? resolve({ reply: `closed:${data}`, socket }) : reject(e)));
    socket.on("data", (b) => {
      data += b.toString("latin1");
      const m = /\$([^#]*)#[0-9a-f]{2}/.exec(data);
      if (m !== null) resolve({ reply: m[1]!, socket });
    });
    socket.on("close", () => resolve({ reply: `closed:${data}`, socket }));
    let sum = 0;
    for (const c of body) sum = (sum + c.charCodeAt(0)) & 0xff;
    socket.write(`$${body}#${sum.toString(16).padStart(2, "0")}`);
  });
}

describe("hvsim cpu gdb over TCP", () => {
  it("listens on 127.0.0.1 (port 0 picks one), one client at a time, and keeps the position across reconnections", async () => {
    const server: ChildProcess = spawn(process.execPath, [bin, "cpu", "gdb", elf, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = "";
        server.stdout!.on("data", (b) => {
          out += b;
          const m = /listening on 127\.0\.0\.1:(\d+)\n/.exec(out);
          if (m !== null) resolve(Number(m[1]));
        });
        server.on("exit", (code) => reject(new Error(`hvsim exited ${code}`)));
      });
      const a = await rawRequest(port, "qAttached");
      expect(a.reply).toBe("1");
      const b = await rawRequest(port, "qAttached");
      expect(b.reply).toBe("closed:");
      a.socket.destroy();
      await new Promise((r) => setTimeout(r, 200));
      const first = await gdb(["break mix", "continue", "monitor where", "detach"], `target remote 127.0.0.1:${port}`);
      const second = await gdb([mark("again"), "monitor where", 'printf "PC=%lx\\n", $pc'], `target remote 127.0.0.1:${port}`);
      const n = instructionOf(first.get("start"));
      expect(n).toBeGreaterThan(0);
      expect(instructionOf(second.get("again"))).toBe(n);
      expect(second.get("again")).toContain(`PC=${symbol("mix").toString(16)}`);
    } finally {
      server.kill("SIGINT");
    }
    const code = await new Promise<number | null>((resolve) => (server.exitCode !== null ? resolve(server.exitCode) : server.on("exit", resolve)));
    expect(code).toBe(0);
  }, 150_000);

  it("bad arguments are one line and exit 2", async () => {
    for (const [args, line] of [
      [["cpu", "gdb", join(dir, "missing.elf")], `hvsim: ${join(dir, "missing.elf")}: no such file`],
      [["cpu", "gdb", elf, "--port", "70000"], "hvsim: --port: expected a TCP port (0..65535), got '70000'"],
      [["cpu", "gdb", elf, "--port", "-1"], "hvsim: --port: expected an integer >= 0, got '-1'"],
      [["cpu", "gdb", elf, "--entry", "nosuch"], expect.stringMatching(/^hvsim: --entry: 'nosuch' is neither an address nor a symbol of the image/)],
    ] as const) {
      const r = await cli(...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toEqual([line]);
    }
  });
});
