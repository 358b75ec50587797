import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TOOLS } from "./harness.ts";

/**
 * Assembles AArch64 source with GNU as and returns the .text bytes, position-independent from
 * offset 0 (tests place them where they like; branches and ADR are PC-relative).
 */
export function assemble(source: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), "hvsim-asm-"));
  try {
    writeFileSync(join(dir, "a.s"), `\t.text\n${source}\n`);
    execFileSync(TOOLS.as, ["-march=armv8-a+crc", "-o", join(dir, "a.o"), join(dir, "a.s")], { stdio: "pipe" });
    execFileSync("aarch64-linux-gnu-objcopy", ["-O", "binary", "-j", ".text", join(dir, "a.o"), join(dir, "a.bin")], { stdio: "pipe" });
    return new Uint8Array(readFileSync(join(dir, "a.bin")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
