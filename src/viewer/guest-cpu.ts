/**
 * The vCPU panel's provider for hvsim's own emulated CPU (src/cpu): a vCPU thread's `cpu` state,
 * read through the same helpers the debugger's `regs` and `x` use (timetravel/positions.ts), so the
 * panel and `hvsim debug` never disagree. A vCPU that has retired no instruction (a scripted guest,
 * or real code before its first `vcpu_exec`) has no panel: its registers say nothing yet.
 */
import { currentSp, disassemble, readReg, REG_PC, type CpuState } from "../cpu/index.ts";
import type { Machine } from "../model/machine.ts";
import { focusThread, readGuest } from "../timetravel/positions.ts";
import type { CpuSnapshot, CpuView } from "./cpu-view.ts";

/** Instructions shown before and after the PC. */
const BEFORE = 4;
const AFTER = 7;

const hex64 = (v: bigint): string => `0x${v.toString(16).padStart(16, "0")}`;
const hexAddr = (v: number): string => `0x${v.toString(16)}`;

function status(cpu: CpuState): string {
  const n = cpu.nzcv;
  const flags = `${n & 8 ? "N" : "n"}${n & 4 ? "Z" : "z"}${n & 2 ? "C" : "c"}${n & 1 ? "V" : "v"}`;
  const daif = ["D", "A", "I", "F"].map((c, i) => (cpu.daif & (8 >> i) ? c : c.toLowerCase())).join("");
  return `EL${cpu.el}${cpu.el === 1 && cpu.spsel === 1 ? "h" : "t"}, ${flags}, DAIF=${daif}, ${cpu.retired} retired`;
}

function instructions(s: Machine, vm: number, pc: number): CpuSnapshot["instructions"] {
  const out: CpuSnapshot["instructions"][number][] = [];
  for (let k = -BEFORE; k <= AFTER; k++) {
    const at = pc + 4 * k;
    if (at < 0) continue;
    const b = readGuest(s, vm, at, 4);
    if (b === null) {
      if (k === 0) out.push({ address: hexAddr(at), word: "--------", text: "(not mapped)", atPc: true });
      continue;
    }
    const word = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
    out.push({ address: hexAddr(at), word: word.toString(16).padStart(8, "0"), text: disassemble(word, at), atPc: k === 0 });
  }
  return out;
}

export const guestCpuView: CpuView = (state, vm, vcpu) => {
  const s = state as Machine;
  if (typeof s !== "object" || s === null || s.vms === undefined) return null;
  const t = focusThread(s, { vm, vcpu });
  if (t === undefined || t.cpu.retired === 0) return null;
  const cpu = t.cpu;
  const pc = Number(readReg(cpu, REG_PC));
  const registers = Array.from({ length: 31 }, (_, i) => ({ name: `x${i}`, value: hex64(readReg(cpu, i)) }));
  registers.push({ name: "sp", value: hex64(currentSp(cpu)) });
  return { pc: hexAddr(pc), status: status(cpu), registers, instructions: instructions(s, vm, pc) };
};
