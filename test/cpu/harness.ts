import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FlatRam, parseImage, readReg, resetCpu, run, REG_PC, currentSp, type CpuState } from "../../src/cpu/index.ts";
import { SCRATCH_BYTES, generateProgram } from "./generator.ts";

/** The tools the differential tests drive; `.ci/run` installs them (qemu-user, binutils-aarch64-linux-gnu). */
export const TOOLS = { as: "aarch64-linux-gnu-as", ld: "aarch64-linux-gnu-ld", objdump: "aarch64-linux-gnu-objdump", qemu: "qemu-aarch64" };

export function toolsPresent(): boolean {
  try {
    for (const t of Object.values(TOOLS)) execFileSync("which", [t], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Registers and memory at one `brk #0`. */
export interface Snapshot {
  readonly x: readonly bigint[];
  readonly sp: bigint;
  readonly pc: bigint;
  readonly nzcv: number;
  readonly scratch: Uint8Array;
}

export interface BuiltProgram {
  readonly elf: Uint8Array;
  readonly caseAddresses: readonly number[];
  readonly bodies: readonly { start: number; end: number }[];
  readonly scratch: number;
  readonly objdump: string;
}

/** Assembles and links a generated program in a temporary directory; also returns `objdump -d` of it. */
export function buildProgram(seed: number, cases: number, length: number): BuiltProgram {
  const dir = mkdtempSync(join(tmpdir(), "hvsim-cpu-"));
  try {
    const { source } = generateProgram(seed, cases, length);
    writeFileSync(join(dir, "p.s"), source);
    execFileSync(TOOLS.as, ["-march=armv8-a+crc", "-o", join(dir, "p.o"), join(dir, "p.s")], { stdio: "pipe" });
    execFileSync(TOOLS.ld, ["-static", "--build-id=none", "-o", join(dir, "p.elf"), join(dir, "p.o")], { stdio: "pipe" });
    const elf = new Uint8Array(readFileSync(join(dir, "p.elf")));
    const objdump = execFileSync(TOOLS.objdump, ["-d", join(dir, "p.elf")], { maxBuffer: 1 << 28 }).toString();
    const image = parseImage(elf);
    const sym = (name: string): number => {
      const s = image.symbols.find((y) => y.name === name);
      if (s === undefined) throw new Error(`symbol ${name} missing`);
      return s.address;
    };
    const caseAddresses = Array.from({ length: cases }, (_, i) => sym(`case_${i}`));
    const bodies = Array.from({ length: cases }, (_, i) => ({ start: sym(`case_${i}_body`), end: sym(`case_${i}_end`) }));
    return { elf, caseAddresses, bodies, scratch: sym("scratch"), objdump };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the program under qemu-aarch64 (a Cortex-A57: ARMv8.0 with CRC32, as this CPU); one snapshot per case. */
export function runQemu(p: BuiltProgram): Snapshot[] {
  const dir = mkdtempSync(join(tmpdir(), "hvsim-qemu-"));
  try {
    writeFileSync(join(dir, "p.elf"), p.elf, { mode: 0o755 });
    const out = execFileSync(TOOLS.qemu, ["-cpu", "cortex-a57", join(dir, "p.elf")], { maxBuffer: 1 << 28 });
    const per = 272 + SCRATCH_BYTES;
    const snaps: Snapshot[] = [];
    for (let o = 0; o + per <= out.length; o += per) {
      const v = new DataView(out.buffer, out.byteOffset + o, per);
      const x = Array.from({ length: 31 }, (_, i) => v.getBigUint64(i * 8, true));
      snaps.push({
        x,
        sp: v.getBigUint64(248, true),
        pc: v.getBigUint64(256, true),
        nzcv: Number(v.getBigUint64(264, true) >> 28n) & 0xf,
        scratch: new Uint8Array(out.subarray(o + 272, o + per)),
      });
    }
    return snaps;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs the same program on this CPU, case after case, from each case's first instruction to its
 * `brk #0` (the startup code and signal handler are Linux's business and are not run). With
 * SCTLR_EL1.M set, memory is Normal as it is for a Linux process, so unaligned accesses are allowed.
 */
export function runHvsim(p: BuiltProgram, blocks = true): { snaps: Snapshot[]; retired: number; failure: string | null } {
  const image = parseImage(p.elf);
  const ram = new FlatRam({ base: 0, sizeBytes: 2 ** 32 });
  for (const s of image.segments) ram.write(s.address, s.bytes);
  let state: CpuState = resetCpu({ pc: p.caseAddresses[0]!, sp: 0n });
  state = { ...state, sys: { ...state.sys, sctlr_el1: state.sys.sctlr_el1 | 1n } };
  const snaps: Snapshot[] = [];
  let retired = 0;
  for (let i = 0; i < p.caseAddresses.length; i++) {
    state = setPc(state, p.caseAddresses[i]!);
    const r = run(state, ram, 1_000_000, { blocks });
    retired += r.retired;
    state = r.state;
    if (r.stop.kind !== "brk") {
      return { snaps, retired, failure: `case ${i}: stopped with ${JSON.stringify(r.stop, (_k, v) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v))} at pc 0x${readReg(state, REG_PC).toString(16)}, elr 0x${state.sys.elr_el1.toString(16)}, esr 0x${state.sys.esr_el1.toString(16)}, far 0x${state.sys.far_el1.toString(16)}` };
    }
    snaps.push({
      x: Array.from({ length: 31 }, (_, k) => readReg(state, k)),
      sp: currentSp(state),
      pc: readReg(state, REG_PC),
      nzcv: state.nzcv,
      scratch: ram.read(p.scratch, SCRATCH_BYTES),
    });
  }
  return { snaps, retired, failure: null };
}

function setPc(s: CpuState, pc: number): CpuState {
  const regs = s.regs.slice();
  new DataView(regs.buffer).setBigUint64(REG_PC * 8, BigInt(pc), true);
  return { ...s, regs };
}

/** The first difference between two snapshots, as one line, or null. */
export function compareSnapshots(q: Snapshot, h: Snapshot): string | null {
  for (let i = 0; i < 31; i++) if (q.x[i] !== h.x[i]) return `x${i}: qemu 0x${q.x[i]!.toString(16)}, hvsim 0x${h.x[i]!.toString(16)}`;
  if (q.sp !== h.sp) return `sp: qemu 0x${q.sp.toString(16)}, hvsim 0x${h.sp.toString(16)}`;
  if (q.pc !== h.pc) return `pc: qemu 0x${q.pc.toString(16)}, hvsim 0x${h.pc.toString(16)}`;
  if (q.nzcv !== h.nzcv) return `nzcv: qemu ${q.nzcv.toString(2).padStart(4, "0")}, hvsim ${h.nzcv.toString(2).padStart(4, "0")}`;
  for (let i = 0; i < q.scratch.length; i++) if (q.scratch[i] !== h.scratch[i]) return `scratch+0x${i.toString(16)}: qemu 0x${q.scratch[i]!.toString(16)}, hvsim 0x${h.scratch[i]!.toString(16)}`;
  return null;
}

/** `objdump -d` lines: address, word and text with objdump's comments and `<symbol>` annotations removed. */
export function parseObjdump(text: string): { address: number; word: number; text: string }[] {
  const out: { address: number; word: number; text: string }[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*([0-9a-f]+):\t([0-9a-f]{8}) \t(.*)$/.exec(line);
    if (m === null) continue;
    const t = m[3]!.replace(/\s*\/\/.*$/, "").replace(/ <[^>]*>$/, "").trimEnd();
    out.push({ address: parseInt(m[1]!, 16), word: parseInt(m[2]!, 16), text: t });
  }
  return out;
}
