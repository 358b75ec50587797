import { reduce, type Model } from "../core/reducer.ts";
import type { EventBase } from "../core/event.ts";
import { REG_PC, disassemble, readReg, type CpuState } from "../cpu/index.ts";
import type { HypEvent } from "../model/events.ts";
import type { Machine, MachineConfig } from "../model/machine.ts";
import { readIpa } from "../model/rm/content.ts";
import type { ThreadObject } from "../model/vcpu/state.ts";
import type { Seeker } from "./seeker.ts";

/**
 * Positions finer than events: (event, insns) is the machine after event `event` and after the
 * first `insns` instructions of event `event + 1`, which must be a `vcpu_exec`. Replay gets there
 * exactly: the state after `event`, then `vcpu_exec` again with a budget of `insns` (the CPU stops
 * at exact instruction counts, and interrupts are taken only where the event's own run takes
 * them). `insns` is 0 at an event boundary. This is how `stepi`/`backi` (the debugger) and the gdb
 * stub stand between two instructions of a recorded guest.
 */
export interface Position {
  readonly event: number;
  readonly insns: number;
}

/** The vCPU whose instructions a session steps through. */
export interface Focus {
  readonly vm: number;
  readonly vcpu: number;
}

type ExecEvent = EventBase & { kind: "vcpu_exec"; vm: number; vcpu: number; budget: number };

const isExecOf = (ev: EventBase, f: Focus | null): ev is ExecEvent =>
  ev.kind === "vcpu_exec" && (f === null || ((ev as ExecEvent).vm === f.vm && (ev as ExecEvent).vcpu === f.vcpu));

/** Instructions event `i` retired (0 for an event that is not a vcpu_exec). */
export function retiredBy(seeker: Seeker<Machine>, i: number): number {
  if (i < 0 || i >= seeker.count) return 0;
  const r = seeker.store.outcome(i).retired;
  return seeker.event(i).kind === "vcpu_exec" && typeof r === "number" ? r : 0;
}

/** The machine at a position. */
export function stateAtPosition(seeker: Seeker<Machine>, p: Position): Machine {
  const before = seeker.stateAt(p.event);
  if (p.insns === 0) return before;
  const ev = seeker.event(p.event + 1);
  if (ev.kind !== "vcpu_exec" || p.insns > retiredBy(seeker, p.event + 1)) throw new RangeError(`no instruction ${p.insns} in event ${p.event + 1}`);
  const partial = { ...(ev as ExecEvent), budget: p.insns } as unknown as HypEvent;
  return reduce(seeker.model as unknown as Model<Machine, HypEvent, MachineConfig>, before, partial)[0];
}

/**
 * One instruction of `focus` forward: inside a vcpu_exec, the next instruction; its last one lands
 * on the event boundary after it (the exit handled); otherwise the first instruction of the next
 * vcpu_exec of that vCPU that retires any. Null at the end of the trace.
 */
export function nextInsn(seeker: Seeker<Machine>, p: Position, focus: Focus): Position | null {
  const inEvent = p.event + 1;
  if (p.insns > 0) {
    const r = retiredBy(seeker, inEvent);
    return p.insns + 1 >= r ? { event: inEvent, insns: 0 } : { event: p.event, insns: p.insns + 1 };
  }
  for (let i = inEvent; i < seeker.count; i++) {
    const ev = seeker.event(i);
    if (!isExecOf(ev, focus)) continue;
    const r = retiredBy(seeker, i);
    if (r === 0) continue;
    return r === 1 ? { event: i, insns: 0 } : { event: i - 1, insns: 1 };
  }
  return null;
}

/** One instruction of `focus` back (the inverse of nextInsn); null at the start of its history. */
export function prevInsn(seeker: Seeker<Machine>, p: Position, focus: Focus): Position | null {
  if (p.insns > 1) return { event: p.event, insns: p.insns - 1 };
  if (p.insns === 1) return { event: p.event, insns: 0 };
  for (let i = p.event; i >= 0; i--) {
    const ev = seeker.event(i);
    if (!isExecOf(ev, focus)) continue;
    const r = retiredBy(seeker, i);
    if (r === 0) continue;
    // Just before the last instruction the event retired.
    return r === 1 ? { event: i - 1, insns: 0 } : { event: i - 1, insns: r - 1 };
  }
  return null;
}

/** The vCPU thread of a focus in a state, if it exists. */
export function focusThread(s: Machine, f: Focus): ThreadObject | undefined {
  const id = s.vms[f.vm]?.vcpus[f.vcpu] ?? 0;
  const t = id === 0 ? undefined : s.objects.byId[id];
  return t !== undefined && t.type === "thread" ? t : undefined;
}

/** The focus a session starts with: the vCPU of the first vcpu_exec at or after `from`, if any. */
export function defaultFocus(seeker: Seeker<Machine>, from = 0): Focus | null {
  for (let i = Math.max(0, from); i < seeker.count; i++) {
    const ev = seeker.event(i);
    if (isExecOf(ev, null)) return { vm: ev.vm, vcpu: ev.vcpu };
  }
  for (let i = Math.min(from, seeker.count) - 1; i >= 0; i--) {
    const ev = seeker.event(i);
    if (isExecOf(ev, null)) return { vm: ev.vm, vcpu: ev.vcpu };
  }
  return null;
}

/** Guest memory as a VM sees it (through its stage-2), or null where any byte is not mapped. */
export const readGuest = (s: Machine, vm: number, ipa: number, length: number): Uint8Array | null => readIpa(s, vm, ipa, length);

/** The PC of a vCPU and the instruction there, disassembled (null word where the PC is not mapped). */
export function instructionAtPc(s: Machine, f: Focus, cpu: CpuState): { pc: number; word: number | null; text: string } {
  const pc = Number(readReg(cpu, REG_PC));
  const b = readGuest(s, f.vm, pc, 4);
  if (b === null) return { pc, word: null, text: "(not mapped)" };
  const word = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  return { pc, word, text: disassemble(word, pc) };
}
