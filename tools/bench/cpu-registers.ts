/**
 * Why the CPU keeps registers as 32-bit halves (not a benchmark of hvsim itself): the same 64-bit
 * work, an add-with-carry, a shift and an XOR per step, done on BigInt registers and on int32
 * halves in an Int32Array, in one run. `npm run bench:cpu-registers`
 */
import { add64, shift64 } from "../../src/cpu/alu.ts";

const STEPS = 5_000_000;

function bigints(): number {
  const x = new Array<bigint>(32).fill(0n);
  x[1] = 0x0123456789abcdefn;
  const mask = (1n << 64n) - 1n;
  const t0 = process.cpuUsage();
  for (let i = 0; i < STEPS; i++) {
    x[2] = (x[1]! + x[2]! + 1n) & mask;
    x[3] = (x[2]! << 3n) & mask;
    x[1] = x[1]! ^ x[3]!;
  }
  const u = process.cpuUsage(t0);
  if (x[1] === 0n) console.log("");
  return (u.user + u.system) / 1e6;
}

function halves(): number {
  const R = new Int32Array(64);
  R[2] = 0x89abcdef | 0;
  R[3] = 0x01234567;
  const t0 = process.cpuUsage();
  for (let i = 0; i < STEPS; i++) {
    add64(R, 4, R[2]!, R[3]!, R[4]!, R[5]!, 1);
    shift64(R, 6, R[4]!, R[5]!, 0, 3);
    R[2] = R[2]! ^ R[6]!;
    R[3] = R[3]! ^ R[7]!;
  }
  const u = process.cpuUsage(t0);
  if (R[2] === 0) console.log("");
  return (u.user + u.system) / 1e6;
}

bigints();
halves();
const b = Math.min(bigints(), bigints());
const h = Math.min(halves(), halves());
console.log(`${STEPS} steps: BigInt registers ${(STEPS / b / 1e6).toFixed(1)}M steps/s, int32 halves ${(STEPS / h / 1e6).toFixed(1)}M steps/s: halves are ${(b / h).toFixed(1)}x faster`);
