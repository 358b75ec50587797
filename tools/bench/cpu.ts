/**
 * CPU benchmark (not a test): instructions per second of the interpreter on a compute-heavy
 * program, beside the same program under qemu-aarch64 in the same run, printed as a ratio.
 *
 *   npm run bench:cpu [-- --rounds N] [--json]
 *
 * The program (tools/bench/cpu/compute.c) is built here with gcc-aarch64-linux-gnu, twice: ending
 * in `brk #0` for hvsim, and in exit(2) for qemu. Both must compute the same answer. The machine is
 * shared, so each side reports CPU time (not wall time), the best of several repetitions, and the
 * figure that matters is the ratio measured in this one run.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FlatRam, parseImage, readReg, resetCpu, run } from "../../src/cpu/index.ts";

const args = process.argv.slice(2);
const json = args.includes("--json");
const roundsAt = args.indexOf("--rounds");
const rounds = roundsAt >= 0 ? Number(args[roundsAt + 1]) : 8;
const REPEAT = 3;

const dir = mkdtempSync(join(tmpdir(), "hvsim-bench-cpu-"));
try {
  const source = new URL("./cpu/compute.c", import.meta.url).pathname;
  const cc = (out: string, extra: string[]): string => {
    const path = join(dir, out);
    execFileSync("aarch64-linux-gnu-gcc", ["-O2", "-ffreestanding", "-nostdlib", "-mgeneral-regs-only", "-static", "-Wl,--build-id=none", "-fno-asynchronous-unwind-tables", `-DROUNDS=${rounds}`, ...extra, "-o", path, source]);
    return path;
  };
  const bare = cc("bare.elf", ["-mstrict-align"]);
  const linux = cc("linux.elf", ["-DQEMU"]);

  // hvsim: load, run to brk #0, best of REPEAT (each run starts from a fresh machine).
  const image = parseImage(new Uint8Array(readFileSync(bare)));
  let best = Infinity;
  let retired = 0;
  let answer = 0n;
  for (let i = 0; i < REPEAT; i++) {
    const ram = new FlatRam({ base: 0, sizeBytes: 1 << 28 });
    for (const s of image.segments) ram.write(s.address, s.bytes);
    const state = resetCpu({ pc: image.entry, sp: 1n << 28n });
    const t0 = process.cpuUsage();
    const r = run(state, ram, 1e10);
    const used = process.cpuUsage(t0);
    const seconds = (used.user + used.system) / 1e6;
    if (r.stop.kind !== "brk") throw new Error(`benchmark program stopped with ${r.stop.kind}`);
    retired = r.retired;
    answer = readReg(r.state, 0);
    best = Math.min(best, seconds);
  }

  let qemuBest = Infinity;
  let qemuAnswer = 0n;
  for (let i = 0; i < REPEAT; i++) {
    // bash's `times` reports the CPU time of the children it waited for: qemu's own, start-up included.
    const q = spawnSync("bash", ["-c", `qemu-aarch64 -cpu cortex-a57 ${linux} > ${join(dir, "out")}; status=$?; times; exit $status`]);
    if (q.status !== 0) throw new Error(`qemu-aarch64 failed: ${q.stderr}`);
    const children = q.stdout.toString().trim().split("\n").pop()!.split(/\s+/).map((t) => {
      const m = /(\d+)m([\d.]+)s/.exec(t)!;
      return Number(m[1]) * 60 + Number(m[2]);
    });
    qemuBest = Math.min(qemuBest, children[0]! + children[1]!);
    qemuAnswer = readFileSync(join(dir, "out")).readBigUInt64LE(0);
  }
  if (qemuAnswer !== answer) throw new Error(`answers differ: hvsim 0x${answer.toString(16)}, qemu 0x${qemuAnswer.toString(16)}`);

  const figures = {
    instructions: retired,
    hvsimSeconds: Number(best.toFixed(4)),
    hvsimInstructionsPerSecond: Math.round(retired / best),
    qemuSeconds: Number(qemuBest.toFixed(4)),
    qemuInstructionsPerSecond: Math.round(retired / qemuBest),
    hvsimOverQemuTime: Number((best / qemuBest).toFixed(2)),
  };
  if (json) console.log(JSON.stringify(figures));
  else {
    console.log(`compute.c, ${rounds} rounds: ${retired.toLocaleString("en")} instructions, answer 0x${answer.toString(16)} (qemu agrees)`);
    console.log(`hvsim: ${(figures.hvsimInstructionsPerSecond / 1e6).toFixed(1)}M instructions/s (${figures.hvsimSeconds} s CPU, best of ${REPEAT})`);
    console.log(`qemu-aarch64: ${(figures.qemuInstructionsPerSecond / 1e6).toFixed(1)}M instructions/s (${figures.qemuSeconds} s CPU with start-up, best of ${REPEAT})`);
    console.log(`hvsim takes ${figures.hvsimOverQemuTime}x qemu's time`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
