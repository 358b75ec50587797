import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, readerOf, recordBytes, tempDir } from "./helpers.ts";
import { builtinScenario } from "../src/sim/builtin/index.ts";
import { guestCodeScenario } from "../src/sim/builtin/guest-code.ts";
import { describeEvent } from "../src/export/describe.ts";
import { openTrace } from "../src/timetravel/open.ts";
import { readReg, REG_PC } from "../src/cpu/index.ts";
import { focusThread } from "../src/timetravel/positions.ts";

/** Real guest code under Gunyah, end to end: recorded, replayed, diffed, and the same as on the bare CPU. */

const dir = tempDir();
const minimal = builtinScenario("vm-code-minimal")!;

describe("guest programs", () => {
  it("vm-code-minimal: the guest prints, powers off, every invariant holds, and the log shows its output", () => {
    const bytes = recordBytes(minimal, { seed: 1, checkInvariants: true });
    const lines = [...readerOf(bytes).events()].map(({ ev, outcome }) => describeEvent(ev, outcome));
    // What the guest printed, piece by piece as its console driver sent it.
    const printed = lines.flatMap((l) => [...l.matchAll(/console ("(?:[^"\\]|\\.)*")/g)].map((m) => JSON.parse(m[1]!) as string)).join("");
    expect(printed).toBe(
      "minimal: hello from real AArch64 code at EL1\n" +
        "minimal: hypervisor_identify api_info 0x5100000000008001, psci version 0x0000000000010001, dtb at 0x00000000801f0000\n" +
        "minimal: powering off\n",
    );
    expect(lines.at(-2)).toMatch(/exit=STATUS .*PLATFORM_OFF.*PSCI_SYSTEM_OFF/);
  });

  it("is deterministic: the same seed gives byte-identical traces, another seed another (timing) trace", () => {
    const a = recordBytes(minimal, { seed: 3 });
    expect(recordBytes(minimal, { seed: 3 }).equals(a)).toBe(true);
    expect(recordBytes(minimal, { seed: 4 }).equals(a)).toBe(false);
  });

  it("replay verifies every vcpu_exec outcome on both paths", async () => {
    const file = join(dir, "minimal.hvt");
    writeFileSync(file, recordBytes(minimal, { seed: 1 }));
    const fast = await cli("replay", file);
    const pure = await cli("replay", file, "--pure");
    expect([fast.code, pure.code]).toEqual([0, 0]);
    const n = [...readerOf(readFileSync(file)).events()].length;
    expect(fast.stdout.at(-1)).toMatch(new RegExp(`^replayed ${n} events on the fast path: ${n} outcomes`));
    expect(pure.stdout.at(-1)).toMatch(new RegExp(`^replayed ${n} events on the pure path: ${n} outcomes`));
  });

  it("changing one instruction of the guest image: diff names the load that differs and the guest's run after it", async () => {
    const a = join(dir, "orig.hvt");
    writeFileSync(a, recordBytes(minimal, { seed: 1 }));
    const load = [...readerOf(readFileSync(a)).events()].find(({ ev }) => ev.kind === "vmm_load_image")!.ev.seq;
    // _start's first instruction (mov x19, x0, at file offset 0x10000) becomes brk #1: with no
    // vectors yet, the guest faults at once and keeps faulting; the driver calls it stuck.
    const elf = new Uint8Array(readFileSync("guests/bin/minimal.elf"));
    expect(new DataView(elf.buffer).getUint32(0x10000, true)).toBe(0xaa0003f3);
    new DataView(elf.buffer).setUint32(0x10000, 0xd4200020, true);
    const b = join(dir, "patched.hvt");
    writeFileSync(b, recordBytes(guestCodeScenario("vm-code-minimal", elf, minimal.description, "minimal"), { seed: 1 }));
    const r = await cli("diff", a, b);
    expect(r.code).toBe(1);
    const out = r.stdout.join("\n");
    expect(out).toContain(`first event difference at #${load}:`);
    // The image differs only in its first word: the two loads differ by their digests.
    expect(out).toMatch(/A #\d+ .* vmm_load_image crosvm fd=3 copies \d+ bytes \(sha256 [0-9a-f]{16}\) to GPA 0x80000000/);
  });
});

describe("the same program on the bare CPU and as a guest", () => {
  it("ends with the same registers under `hvsim cpu run` and under Gunyah (no device access)", async () => {
    // A compute kernel that ends in WFI: the bare CPU stops there, the guest's vCPU blocks there.
    const src = join(dir, "same.c");
    writeFileSync(
      src,
      `typedef unsigned long u64;
       static u64 table[64];
       u64 kernel(u64 n) { u64 h = 0x9e3779b97f4a7c15ul; for (u64 i = 0; i < n; i++) { table[i & 63] ^= h; h = (h ^ (h >> 29)) * 0xbf58476d1ce4e5b9ul + table[(i * 7) & 63] / (i + 1); } return h; }
       void body(void) { u64 r = kernel(3000); __asm__ volatile("mov x0, %0; mov x1, %1; mov x2, #7; wfi" :: "r"(r), "r"(table[5]) : "x0", "x1", "x2"); for (;;) {} }
       /* The entry sets SP before any push: the two CPUs start with different stack pointers. */
       __asm__(".section .text.start, \\"ax\\"\\n.global _start\\n_start:\\n movz x0, #0x801e, lsl #16\\n mov sp, x0\\n bl body\\n");`,
    );
    const elf = join(dir, "same.elf");
    execFileSync("aarch64-linux-gnu-gcc", ["-O2", "-ffreestanding", "-nostdlib", "-mgeneral-regs-only", "-mstrict-align", "-static", "-fno-asynchronous-unwind-tables", "-nostartfiles", "-Wl,--build-id=none", "-Wl,-T,guests/lib/guest.ld", "-Wl,--no-warn-rwx-segments", "-o", elf, src]);
    const bare = await cli("cpu", "run", elf, "--json");
    const j = JSON.parse(bare.stdout.join("\n")) as { regs: Record<string, string>; nzcv: number; stop: { kind: string } };
    expect(j.stop.kind).toBe("wfi");

    const scenario = guestCodeScenario("same-program", new Uint8Array(readFileSync(elf)), "the bare-CPU comparison program");
    const file = join(dir, "same.hvt");
    writeFileSync(file, recordBytes(scenario, { seed: 1, checkInvariants: true }));
    const trace = openTrace(readerOf(readFileSync(file)));
    const at = [...trace.reader.events()].filter(({ ev, outcome }) => ev.kind === "vcpu_exec" && (outcome.exit as { kind: string }).kind === "wfi").at(-1)!.ev.seq;
    const state = trace.seeker().stateAt(at);
    const cpu = focusThread(state, { vm: 0x80, vcpu: 0 })!.cpu;
    for (let i = 0; i < 31; i++) expect(`x${i} 0x${readReg(cpu, i).toString(16).padStart(16, "0")}`).toBe(`x${i} ${j.regs[`x${i}`]}`);
    expect(`0x${readReg(cpu, REG_PC).toString(16).padStart(16, "0")}`).toBe(j.regs.pc);
    expect(cpu.nzcv).toBe(j.nzcv);
    trace.close();
  });
});
