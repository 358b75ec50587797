import { die } from "../core/errors.ts";

import { cpuView, disassemble } from "../cpu/index.ts";
import type { Machine } from "../model/machine.ts";
import type { Command } from "./debugger-commands.ts";
import type { DebugSession } from "./debugger.ts";
import { codeRunningVcpus, defaultFocus, focusThread, instructionAtPc, nextInsnStep, prevInsnStep, readGuest, stateAtPosition, type Focus, type Position } from "./positions.ts";
import type { Seeker } from "./seeker.ts";

/**
 * The debugger's commands for real guest code: `stepi`/`backi` walk one vCPU's instructions
 * (positions between two instructions of a vcpu_exec, see positions.ts), `x` reads guest memory
 * through the VM's stage-2 and disassembles it, `regs` prints the vCPU's registers, `focus`
 * chooses the vCPU. Plugged into the model-agnostic debugger through `extraCommands`.
 */

type Session = DebugSession<Machine>;
const focuses = new WeakMap<object, Focus>();

function focusOf(s: Session): Focus {
  const known = focuses.get(s);
  if (known !== undefined) return known;
  const f = defaultFocus(s.seeker as Seeker<Machine>, s.position + 1);
  if (f === null) die("ARGUMENT_INVALID", "this trace has no guest code (no vcpu_exec event): stepi, backi, x and regs need one");
  focuses.set(s, f);
  return f;
}

const hex = (v: number): string => `0x${v.toString(16)}`;

function where(s: Session, f: Focus): string {
  const t = focusThread(s.state, f);
  const at = s.insns > 0 ? `#${s.position}+${s.insns}` : `#${s.position}`;
  if (t === undefined) return `${at} vm0x${f.vm.toString(16)}/vcpu${f.vcpu}: no such vCPU here`;
  const i = instructionAtPc(s.state, f, t.cpu);
  return `${at} vm0x${f.vm.toString(16)}/vcpu${f.vcpu} pc ${hex(i.pc)}: ${i.text.replace("\t", " ")}`;
}

function moveBy(s: Session, args: readonly string[], dir: 1 | -1): string[] {
  const f = focusOf(s);
  const n = args[0] === undefined ? 1 : Number(args[0]);
  if (!(Number.isSafeInteger(n) && n >= 1)) die("ARGUMENT_INVALID", `expected a count >= 1, got '${args[0]}'`);
  const seeker = s.seeker as Seeker<Machine>;
  let p: Position = { event: s.position, insns: s.insns };
  let done = 0;
  for (; done < n; done++) {
    const q = dir === 1 ? nextInsnStep(seeker, p, f) : prevInsnStep(seeker, p, f);
    if (q === null) break;
    p = q.pos;
  }
  if (done === 0) return [dir === 1 ? "no later instruction of this vCPU in the trace" : "at the first instruction of this vCPU in the trace"];
  const crossed = p.event !== s.position;
  s.state = stateAtPosition(seeker, p);
  s.position = p.event;
  s.insns = p.insns;
  const lines = done < n ? [`(only ${done} of ${n} instructions ${dir === 1 ? "left" : "before here"})`] : [];
  // At an event boundary after an exit, say which event handled it.
  if (crossed && p.insns === 0 && p.event >= 0) lines.push(s.eventLine());
  return [...lines, where(s, f)];
}

function examine(s: Session, args: readonly string[]): string[] {
  const f = focusOf(s);
  const raw = args[0];
  if (raw === undefined) die("ARGUMENT_INVALID", "x ADDR [N]: expected a guest address (an IPA, e.g. 0x80001000, or pc)");
  const t = focusThread(s.state, f);
  let addr: number;
  if (raw === "pc" || raw === "$pc") {
    if (t === undefined) die("ARGUMENT_INVALID", "no vCPU here to take the PC of");
    addr = instructionAtPc(s.state, f, t.cpu).pc;
  } else {
    addr = /^0x[0-9a-f_]+$/i.test(raw) ? Number.parseInt(raw.replace(/_/g, ""), 16) : /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(addr)) die("ARGUMENT_INVALID", `x: '${raw}' is not an address`);
  }
  const n = args[1] === undefined ? 4 : Number(args[1]);
  if (!(Number.isSafeInteger(n) && n >= 1 && n <= 4096)) die("ARGUMENT_INVALID", `x: expected a count of words 1..4096, got '${args[1]}'`);
  const out: string[] = [];
  for (let k = 0; k < n; k++) {
    const a = addr + 4 * k;
    const b = readGuest(s.state, f.vm, a, 4);
    if (b === null) {
      out.push(`${hex(a)}: not mapped in vm0x${f.vm.toString(16)}'s stage-2`);
      break;
    }
    const w = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
    out.push(`${hex(a)}: ${w.toString(16).padStart(8, "0")}  ${disassemble(w, a).replace("\t", " ")}`);
  }
  return out;
}

function regs(s: Session): string[] {
  const f = focusOf(s);
  const t = focusThread(s.state, f);
  if (t === undefined) return [`vm0x${f.vm.toString(16)}/vcpu${f.vcpu} does not exist here (#${s.position})`];
  const v = cpuView(t.cpu);
  const lines: string[] = [];
  for (let i = 0; i < 31; i += 4) {
    lines.push(
      Array.from({ length: Math.min(4, 31 - i) }, (_, k) => `${`x${i + k}`.padStart(3)} ${v[`x${i + k}`]}`).join("  "),
    );
  }
  lines.push(` sp ${v.sp}   pc ${v.pc}   nzcv ${["N", "Z", "C", "V"].map((c, b) => (((v.nzcv as number) >> (3 - b)) & 1 ? c : "-")).join("")}   ${v.pstate}`);
  lines.push(where(s, f));
  return lines;
}

function focus(s: Session, args: readonly string[]): string[] {
  if (args[0] === undefined) return [`focus: ${focuses.get(s) === undefined ? "(none yet)" : `vm0x${focusOf(s).vm.toString(16)}/vcpu${focusOf(s).vcpu}`}; change it with focus VM/VCPU, e.g. focus 0x80/0`];
  const m = /^(?:vm)?(0x[0-9a-f]+|\d+)\/(?:vcpu)?(\d+)$/i.exec(args[0]);
  if (m === null) die("ARGUMENT_INVALID", `focus: expected VM/VCPU, e.g. focus 0x80/0, got '${args[0]}'`);
  const f = { vm: Number(m[1]), vcpu: Number(m[2]) };
  const runners = codeRunningVcpus(s.seeker as Seeker<Machine>);
  if (!runners.some((r) => r.vm === f.vm && r.vcpu === f.vcpu)) {
    const named = runners.length === 0 ? "none does" : `these do: ${runners.slice(0, 8).map((r) => `0x${r.vm.toString(16)}/${r.vcpu}`).join(", ")}`;
    die("ARGUMENT_INVALID", `focus: vm0x${f.vm.toString(16)}/vcpu${f.vcpu} runs no guest code in this trace (${named})`);
  }
  focuses.set(s, f);
  return [where(s, f)];
}

const cmd = (c: Omit<Command, "run"> & { run: (s: Session, args: readonly string[], rest: string) => string[] }): Command => c as unknown as Command;

/** The guest-code commands, for DebugOptions.extraCommands. */
export const GUEST_COMMANDS: readonly Command[] = [
  cmd({ name: "stepi", aliases: ["si"], usage: "stepi [N]", help: "run the focused vCPU one instruction (or N) forward, between events if need be", run: (s, a) => moveBy(s, a, 1) }),
  cmd({ name: "backi", aliases: ["reverse-stepi", "rsi"], usage: "backi [N]", help: "one instruction (or N) of the focused vCPU back", run: (s, a) => moveBy(s, a, -1) }),
  cmd({ name: "x", aliases: [], usage: "x ADDR|pc [N]", help: "N words of guest memory at ADDR, through the VM's stage-2, disassembled", run: (s, a) => examine(s, a) }),
  cmd({ name: "regs", aliases: ["info-registers"], usage: "regs", help: "the focused vCPU's registers and the instruction at its PC", run: (s) => regs(s) }),
  cmd({ name: "focus", aliases: [], usage: "focus VM/VCPU", help: "which vCPU stepi, backi, x and regs follow (default: the first that runs code)", run: (s, a) => focus(s, a) }),
];


