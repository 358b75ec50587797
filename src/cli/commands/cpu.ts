import type { Command } from "commander";
import { basename } from "node:path";
import { INPUT_BYTES_MAX, readInputFile } from "../../sim/file/read-file.ts";
import { die } from "../../core/errors.ts";
import { FlatRam, REG_PC, cpuView, disassemble, exceptionName, parseImage, readReg, resetCpu, run, type CpuState, type ProgramImage, type RunResult, type StopReason } from "../../cpu/index.ts";
import { toJson } from "../../core/json.ts";
import { CpuTarget } from "../../gdb/cpu/target.ts";
import { serveStdio, serveTcp } from "../gdb-serve.ts";
import { EXIT } from "../exit.ts";
import { parseIntOption } from "../files.ts";
import type { Io } from "../io.ts";

/**
 * `hvsim cpu`: the emulated CPU alone, for people checking a piece of AArch64 code and for
 * differential tests. The program runs at EL1 with the MMU off over flat RAM, as a bare-metal
 * kernel starts.
 */

const RAM_BYTES = 2 ** 32;

function loadImage(path: string): ProgramImage {
  const bytes = readInputFile(`${path}: `, path, INPUT_BYTES_MAX.image);
  try {
    return parseImage(bytes);
  } catch (e) {
    if (e instanceof Error && "code" in e) die("ARGUMENT_INVALID", `${path}: ${e.message}`);
    throw e;
  }
}

/** An address given as a number or as an ELF symbol name. */
function resolveAddress(image: ProgramImage, what: string, raw: string): number {
  const sym = image.symbols.find((s) => s.name === raw);
  if (sym !== undefined) return sym.address;
  if (/^(0x[0-9a-f_]+|\d[\d_]*)$/i.test(raw)) return parseIntOption(what, raw, 0);
  const names = image.symbols.map((s) => s.name);
  die("ARGUMENT_INVALID", `${what}: '${raw}' is neither an address nor a symbol of the image${names.length ? ` (it has ${names.slice(0, 5).join(", ")}${names.length > 5 ? ", ..." : ""})` : " (it has no symbols)"}`);
}

/** The image in flat RAM and the CPU out of reset at its entry (or `--entry`), as `cpu run` and `cpu gdb` start. */
function loadProgram(file: string, entryOption: string | undefined): { ram: FlatRam; initial: CpuState } {
  const image = loadImage(file);
  const ram = new FlatRam({ base: 0, sizeBytes: RAM_BYTES });
  for (const s of image.segments) {
    if (!ram.write(s.address, s.bytes) || !ram.contains(s.address + s.bytes.length + s.zeroBytes - 1)) {
      die("ARGUMENT_INVALID", `${file}: a segment at 0x${s.address.toString(16)} lies outside RAM (0..0x${RAM_BYTES.toString(16)})`);
    }
  }
  const entry = entryOption === undefined ? image.entry : resolveAddress(image, "--entry", entryOption);
  return { ram, initial: resetCpu({ pc: entry, sp: BigInt(RAM_BYTES) }) };
}

function stopText(stop: StopReason, r: RunResult): string {
  const hex = (v: bigint): string => `0x${v.toString(16)}`;
  switch (stop.kind) {
    case "brk":
      return `brk #${stop.imm}`;
    case "budget":
      return "the instruction limit (--max-insns)";
    case "exception":
    case "stalled": {
      const s = r.state.sys;
      const what = `${exceptionName(stop.ec)} (ESR_EL1 ${hex(s.esr_el1)}, ELR_EL1 ${hex(s.elr_el1)}, FAR_EL1 ${hex(s.far_el1)})`;
      return stop.kind === "stalled" ? `an exception loop: ${what} again and again` : `${what} with no exception vectors installed (VBAR_EL1 is 0)`;
    }
    case "wfi":
    case "wfe":
      return `${stop.kind}: nothing can wake the CPU here (no interrupt controller)`;
    default:
      return stop.kind;
  }
}

export function registerCpu(program: Command, io: Io, setCode: (c: number) => void): void {
  const cpu = program
    .command("cpu")
    .description("the emulated AArch64 CPU alone: run or disassemble a program image")
    .addHelpText(
      "after",
      "\nThe CPU implements the ARMv8.0-A base integer instruction set at EL1/EL0 (no FP/SIMD: those\n" +
        "instructions are UNDEFINED, as on a core without them). See docs/cpu.md.",
    );

  cpu
    .command("run")
    .description("run an ELF or raw binary at EL1 with the MMU off over flat RAM until brk #0")
    .argument("<image>", "an AArch64 ELF (PT_LOAD segments, started at its entry) or a raw binary (loaded and started at 0x80000)")
    .option("--max-insns <n>", "stop after this many instructions", "100000000")
    .option("--entry <addr|symbol>", "start here instead of the image's entry point")
    .option("--json", "print one JSON object: regs (x0..x30, sp, pc as hex strings), nzcv, retired, stop")
    .addHelpText(
      "after",
      "\nRAM spans 0..4 GiB (pages allocated on use: guest images at 0x8000_0000 run too); SP_EL1 starts at its top, every other register at 0.\n" +
        "Memory is Device-nGnRnE while the MMU is off, so unaligned loads fault (compile with -mstrict-align).\n" +
        "\nExit codes: 0 stopped at brk #0; 1 stopped anywhere else (limit, exception, WFI); 2 bad input.\n" +
        "\nExamples (guests/bin holds this repository's guests; build your own with\n" +
        "aarch64-linux-gnu-gcc -O2 -ffreestanding -nostdlib -mgeneral-regs-only -mstrict-align -static -o t.elf t.c):\n" +
        "  hvsim cpu run guests/bin/minimal.elf --max-insns 100000  # exit 1: the instruction limit\n" +
        "  hvsim cpu run guests/bin/minimal.elf --entry console_init --max-insns 50 --json  # exit 1: the limit again",
    )
    .action((file: string, opts: { maxInsns: string; entry?: string; json?: boolean }) => {
      const budget = parseIntOption("--max-insns", opts.maxInsns, 1);
      const { ram, initial } = loadProgram(file, opts.entry);
      const r = run(initial, ram, budget);
      const view = cpuView(r.state);
      if (opts.json) {
        const regs: Record<string, string> = {};
        for (let i = 0; i < 31; i++) regs[`x${i}`] = String(view[`x${i}`]);
        regs.sp = String(view.sp);
        regs.pc = String(view.pc);
        io.out(toJson({ regs, nzcv: r.state.nzcv, retired: r.retired, stop: r.stop }));
      } else {
        for (let i = 0; i < 31; i += 4) {
          const row: string[] = [];
          for (let k = i; k < Math.min(i + 4, 31); k++) row.push(`${`x${k}`.padStart(3)} ${view[`x${k}`]}`);
          io.out(row.join("  "));
        }
        io.out(` sp ${view.sp}   pc ${view.pc}   nzcv ${["N", "Z", "C", "V"].map((f, b) => ((r.state.nzcv >> (3 - b)) & 1 ? f : "-")).join("")}`);
        io.out(`${r.retired} instructions retired; stopped at ${stopText(r.stop, r)}`);
        // The instruction that stopped it: at ELR_EL1 after an exception, else at the PC.
        const taken = r.stop.kind === "exception" || r.stop.kind === "stalled";
        const at = taken ? Number(r.state.sys.elr_el1 & 0xffffffffffffn) : Number(readReg(r.state, REG_PC));
        if (r.stop.kind !== "brk" && ram.contains(at)) io.out(`${taken ? "faulting instruction" : "next instruction"} at 0x${at.toString(16)}: ${disassemble(new DataView(ram.read(at, 4).buffer).getUint32(0, true), at)}`);
      }
      setCode(r.stop.kind === "brk" && r.stop.imm === 0 ? EXIT.ok : EXIT.finding);
    });

  cpu
    .command("disas")
    .description("disassemble an image's code, as objdump -d prints it, from the CPU's own decode table")
    .argument("<image>", "an AArch64 ELF (its executable segments) or a raw binary (from 0x80000)")
    .option("--from <addr|symbol>", "start at this address")
    .option("--count <n>", "at most this many instructions")
    .addHelpText("after", "\nExamples:\n  hvsim cpu disas guests/bin/minimal.elf --count 40\n  hvsim cpu disas guests/bin/minimal.elf --from guest_exception --count 20")
    .action((file: string, opts: { from?: string; count?: string }) => {
      const image = loadImage(file);
      const from = opts.from === undefined ? null : resolveAddress(image, "--from", opts.from);
      let left = opts.count === undefined ? Infinity : parseIntOption("--count", opts.count, 1);
      const labels = new Map<number, string>();
      for (const s of image.symbols) if (!labels.has(s.address)) labels.set(s.address, s.name);
      // Executable sections when the ELF has them (objdump's view), else executable segments.
      const code = image.codeSections.length > 0 ? image.codeSections : image.segments.filter((s) => s.executable);
      for (const seg of code) {
        if ("name" in seg) io.out(`\nDisassembly of section ${seg.name}:`);
        const v = new DataView(seg.bytes.buffer, seg.bytes.byteOffset, seg.bytes.byteLength);
        for (let o = 0; o + 4 <= seg.bytes.length && left > 0; o += 4) {
          const at = seg.address + o;
          if (from !== null && at < from) continue;
          const label = labels.get(at);
          if (label !== undefined) io.out(`\n${at.toString(16).padStart(16, "0")} <${label}>:`);
          const word = v.getUint32(o, true);
          io.out(`${at.toString(16).padStart(8)}:\t${word.toString(16).padStart(8, "0")} \t${disassemble(word, at)}`);
          left -= 1;
        }
      }
      setCode(EXIT.ok);
    });

  cpu
    .command("gdb")
    .description("debug a program with gdb, forward and backward: a GDB remote stub on 127.0.0.1 (or stdio)")
    .argument("<image>", "an AArch64 ELF or raw binary, started as `hvsim cpu run` starts it")
    .option("--port <n>", "TCP port on 127.0.0.1 (0 picks a free one and prints it)", "0")
    .option("--stdio", "speak the protocol on stdin/stdout instead, for gdb's `target remote | COMMAND`")
    .option("--entry <addr|symbol>", "start here instead of the image's entry point")
    .addHelpText(
      "after",
      "\nThe program runs as under `hvsim cpu run`; its history is kept as it runs, so reverse-stepi,\n" +
        "reverse-continue and watchpoints going backward work. Breakpoints and watchpoints are evaluated\n" +
        "by the CPU (memory is never patched); registers and memory are read-only. See docs/gdb.md.\n" +
        "\nExamples:\n" +
        "  gdb-multiarch guests/bin/minimal.elf -ex 'target remote | hvsim cpu gdb guests/bin/minimal.elf --stdio'\n" +
        "  hvsim cpu gdb guests/bin/minimal.elf --port 1234     # then in gdb-multiarch: target remote 127.0.0.1:1234",
    )
    .action(async (file: string, opts: { port: string; stdio?: boolean; entry?: string }) => {
      const port = parseIntOption("--port", opts.port, 0);
      if (port > 65535) die("ARGUMENT_INVALID", `--port: expected a TCP port (0..65535), got '${opts.port}'`);
      const { ram, initial } = loadProgram(file, opts.entry);
      const target = new CpuTarget({ name: basename(file), initial, ram, ramBase: 0, ramBytes: RAM_BYTES });
      const log = (line: string): void => io.err(`hvsim gdb: ${line}`);
      setCode(opts.stdio ? await serveStdio(target, log) : await serveTcp(target, port, file, (p) => `gdb-multiarch ${file} -ex 'target remote 127.0.0.1:${p}'`, io, log));
    });
}
