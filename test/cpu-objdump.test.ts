import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compilePattern } from "../src/cpu/decode.ts";
import { A64, disassemble, isImplemented } from "../src/cpu/index.ts";
import { Prng } from "./cpu/generator.ts";
import { TOOLS, parseObjdump, toolsPresent } from "./cpu/harness.ts";

/**
 * The disassembler against GNU objdump on random words of every encoding class: the fixed bits of
 * a class's pattern, every other bit random, so every field value and alias condition is reached.
 * Words this CPU executes must print exactly as objdump prints them; words it takes as UNDEFINED
 * (reserved field values, and ARMv8.1+ instructions objdump knows) are counted, not compared.
 */
const WORDS_PER_CLASS = 1500;

describe("disassembly agrees with objdump", () => {
  it("on random words of every encoding class", () => {
    expect(toolsPresent(), "install binutils-aarch64-linux-gnu (.ci/run does)").toBe(true);
    const p = new Prng(20261206);
    const words: number[] = [];
    for (const cls of A64) {
      const c = compilePattern(cls);
      for (let i = 0; i < WORDS_PER_CLASS; i++) words.push((c.value | (p.u32() & ~c.mask)) >>> 0);
    }
    const dir = mkdtempSync(join(tmpdir(), "hvsim-objdump-"));
    try {
      writeFileSync(join(dir, "w.s"), words.map((w) => `.inst 0x${w.toString(16)}`).join("\n") + "\n");
      execFileSync(TOOLS.as, ["-o", join(dir, "w.o"), join(dir, "w.s")]);
      const lines = parseObjdump(execFileSync(TOOLS.objdump, ["-d", join(dir, "w.o")], { maxBuffer: 1 << 28 }).toString());
      expect(lines.length).toBe(words.length);
      let compared = 0;
      const mismatches: string[] = [];
      for (const l of lines) {
        if (!isImplemented(l.word, l.address)) continue;
        compared += 1;
        const ours = disassemble(l.word, l.address);
        if (ours !== l.text) mismatches.push(`${l.word.toString(16).padStart(8, "0")}: objdump "${l.text}", hvsim "${ours}"`);
      }
      console.log(`objdump: ${compared} implemented words compared, ${words.length - compared} UNDEFINED here (not compared), ${mismatches.length} mismatches`);
      expect(mismatches.slice(0, 10)).toEqual([]);
      expect(compared).toBeGreaterThan(words.length / 3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("prints unallocated words as objdump does", () => {
    expect(disassemble(0x00000000, 0)).toBe("udf\t#0");
    expect(disassemble(0xffffffff, 0)).toBe(".inst\t0xffffffff ; undefined");
  });
});
