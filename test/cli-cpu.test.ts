import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, hasStackTrace, tempDir } from "./helpers.ts";
import { assemble } from "./cpu/asm.ts";
import { parseObjdump } from "./cpu/harness.ts";

/** `hvsim cpu run` / `hvsim cpu disas` as a user calls them. */

const dir = tempDir();
const raw = join(dir, "sum.bin");
// Sums 1..100 into x0, leaves 0x1234 in x9, ends at brk #0 (loaded at 0x80000).
writeFileSync(raw, assemble("mov x0, #0\nmov x1, #100\n1: add x0, x0, x1\nsubs x1, x1, #1\nb.ne 1b\nmovz x9, #0x1234\nbrk #0"));

function gcc(name: string, extra: string[] = []): string {
  const out = join(dir, name);
  execFileSync("aarch64-linux-gnu-gcc", ["-O2", "-ffreestanding", "-nostdlib", "-mgeneral-regs-only", "-static", "-Wl,--build-id=none", "-fno-asynchronous-unwind-tables", "-DROUNDS=1", ...extra, "-o", out, join(import.meta.dirname, "../tools/bench/cpu/compute.c")]);
  return out;
}

describe("hvsim cpu run", () => {
  it("runs a raw binary from 0x80000 to brk #0 and prints the registers", async () => {
    const r = await cli("cpu", "run", raw);
    expect(r.code).toBe(0);
    expect(r.stdout[0]).toBe(" x0 0x00000000000013ba   x1 0x0000000000000000   x2 0x0000000000000000   x3 0x0000000000000000");
    expect(r.stdout).toContain(" sp 0x0000000100000000   pc 0x0000000000080018   nzcv -ZC-");
    expect(r.stdout.at(-1)).toBe("303 instructions retired; stopped at brk #0");
  });

  it("--json gives x0..x30, sp and pc as hex strings and nzcv as a number", async () => {
    const r = await cli("cpu", "run", raw, "--json");
    const j = JSON.parse(r.stdout.join("\n"));
    expect(Object.keys(j.regs)).toEqual([...Array.from({ length: 31 }, (_, i) => `x${i}`), "sp", "pc"]);
    expect(j.regs.x0).toBe("0x00000000000013ba");
    expect(j.regs.x9).toBe("0x0000000000001234");
    expect(j.regs.pc).toBe("0x0000000000080018");
    expect(j.nzcv).toBe(6);
    expect(j.retired).toBe(303);
    expect(j.stop).toEqual({ kind: "brk", imm: 0 });
  });

  it("--max-insns stops early with exit 1", async () => {
    const r = await cli("cpu", "run", raw, "--max-insns", "10", "--json");
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout.join("\n")).retired).toBe(10);
  });

  it("a gcc -O2 program gives the answer qemu-aarch64 gives", async () => {
    const qemu = execFileSync("qemu-aarch64", [gcc("linux.elf", ["-DQEMU"])]).readBigUInt64LE(0);
    const r = await cli("cpu", "run", gcc("bare.elf", ["-mstrict-align"]), "--json");
    expect(r.code).toBe(0);
    expect(BigInt(JSON.parse(r.stdout.join("\n")).regs.x0)).toBe(qemu);
  });

  it("--entry takes a symbol; an unknown one is one line and exit 2", async () => {
    const elf = gcc("entry.elf", ["-mstrict-align"]);
    const r = await cli("cpu", "run", elf, "--entry", "_start", "--max-insns", "5", "--json");
    expect(JSON.parse(r.stdout.join("\n")).retired).toBe(5);
    const bad = await cli("cpu", "run", elf, "--entry", "nosuch");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toEqual([expect.stringMatching(/^hvsim: --entry: 'nosuch' is neither an address nor a symbol of the image \(it has /)]);
  });

  it("an exception with no vectors names the exception and the faulting instruction", async () => {
    const f = join(dir, "fp.bin");
    writeFileSync(f, assemble("nop\nfadd s0, s1, s2"));
    const r = await cli("cpu", "run", f);
    expect(r.code).toBe(1);
    expect(r.stdout.slice(-2)).toEqual([
      "1 instructions retired; stopped at UNDEFINED instruction (ESR_EL1 0x2000000, ELR_EL1 0x80004, FAR_EL1 0x0) with no exception vectors installed (VBAR_EL1 is 0)",
      "faulting instruction at 0x80004: .inst\t0x1e222820 ; undefined",
    ]);
  });

  it("bad input is one line and exit 2", async () => {
    const notArm = join(dir, "x86.elf");
    const hdr = new Uint8Array(64);
    hdr.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
    hdr[18] = 62;
    writeFileSync(notArm, hdr);
    for (const [args, line] of [
      [["cpu", "run", join(dir, "missing.elf")], `hvsim: ${join(dir, "missing.elf")}: no such file`],
      [["cpu", "run", notArm], `hvsim: ${notArm}: not a loadable AArch64 image: ELF machine 62, not AArch64 (183)`],
      [["cpu", "run", raw, "--max-insns", "ten"], "hvsim: --max-insns: expected an integer >= 1, got 'ten'"],
    ] as const) {
      const r = await cli(...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toEqual([line]);
      expect(hasStackTrace(r.stderr)).toBe(false);
    }
  });
});

describe("hvsim cpu disas", () => {
  it("prints an ELF's code as objdump -d does", async () => {
    const elf = gcc("disas.elf", ["-mstrict-align"]);
    const ours = parseObjdump((await cli("cpu", "disas", elf)).stdout.join("\n"));
    const theirs = parseObjdump(execFileSync("aarch64-linux-gnu-objdump", ["-d", elf]).toString());
    expect(ours.length).toBeGreaterThan(100);
    expect(ours).toEqual(theirs);
  });
});
