import { mutableCopy, reduce, type Model } from "../core/reducer.ts";
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

/** Where one instruction of a vCPU leaves it, and the exec that runs it (its instruction `j`). */
export interface InsnStep {
  readonly pos: Position;
  /** Null for an instruction the hypervisor or VMM completes after an exit (an MMIO load: PC + 4). */
  readonly exec: { readonly event: number; readonly j: number } | null;
}

/** How many instructions the vCPU has retired in a state (its CPU's counter), -1 where it does not exist. */
const retiredIn = (s: Machine, f: Focus): number => focusThread(s, f)?.cpu.retired ?? -1;

/** Events a backward search replays at once, from the seeker's state before them. */
export const BACK_WINDOW = 256;

/** The vCPUs that run guest code in the trace (a vcpu_exec of theirs), in order of their first. */
export function codeRunningVcpus(seeker: Seeker<Machine>): Focus[] {
  const out: Focus[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < seeker.count; i++) {
    const ev = seeker.event(i);
    if (!isExecOf(ev, null)) continue;
    const key = `${ev.vm}/${ev.vcpu}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ vm: ev.vm, vcpu: ev.vcpu });
  }
  return out;
}

/**
 * One instruction of `focus` forward from `p` (whose state is `at`, when the caller holds it), up to event `last`: the next
 * position where its CPU has retired one more. Inside its vcpu_exec that is the next instruction
 * (its last lands on the boundary after the exec, the exit handled); an access left to the VMM
 * retires at the event that completes it (the VCPU_RUN after the MMIO exit), which is why the
 * counter decides and not the exec events alone. Null when no instruction retires by `last`.
 */
export function nextInsnStep(seeker: Seeker<Machine>, p: Position, focus: Focus, last = seeker.count - 1, at?: Machine): InsnStep | null {
  const inEvent = p.event + 1;
  if (p.insns > 0 && isExecOf(seeker.event(inEvent), focus)) {
    const r = retiredBy(seeker, inEvent);
    return { pos: p.insns + 1 >= r ? { event: inEvent, insns: 0 } : { event: p.event, insns: p.insns + 1 }, exec: { event: inEvent, j: p.insns } };
  }
  const r0 = retiredIn(at ?? stateAtPosition(seeker, p), focus);
  const from = p.insns > 0 ? inEvent + 1 : inEvent;
  if (from > last) return null;
  const working = mutableCopy(seeker.stateAt(from - 1));
  for (let i = from; i <= last; i++) {
    const ev = seeker.event(i);
    const b = retiredIn(working, focus);
    if (isExecOf(ev, focus) && b >= 0) {
      const need = r0 + 1 - b;
      const r = retiredBy(seeker, i);
      if (need >= 1 && need <= r) return { pos: need < r ? { event: i - 1, insns: need } : { event: i, insns: 0 }, exec: { event: i, j: need - 1 } };
    }
    seeker.model.apply(working, ev);
    const a = retiredIn(working, focus);
    if ((a > r0 && r0 >= 0) || (r0 < 0 && a >= 0)) return { pos: { event: i, insns: 0 }, exec: null };
  }
  return null;
}

/** One instruction of `focus` back from `p`: the position before the instruction that brought it there (the inverse of nextInsnStep); null at the start of its history. */
export function prevInsnStep(seeker: Seeker<Machine>, p: Position, focus: Focus): InsnStep | null {
  if (p.insns > 0 && isExecOf(seeker.event(p.event + 1), focus)) return { pos: { event: p.event, insns: p.insns - 1 }, exec: { event: p.event + 1, j: p.insns - 1 } };
  // The last event at or before p.event that moved the vCPU's retired count, one window at a time.
  for (let hi = p.event; hi >= 0; ) {
    const lo = Math.max(0, hi - BACK_WINDOW + 1);
    const working = mutableCopy(seeker.stateAt(lo - 1));
    let found: InsnStep | null = null;
    for (let i = lo; i <= hi; i++) {
      const ev = seeker.event(i);
      const b = retiredIn(working, focus);
      seeker.model.apply(working, ev);
      if (!(retiredIn(working, focus) > b && b >= 0)) continue;
      // An exec's last instruction (an access its exit handler emulated counts with it: no position lies between).
      const r = isExecOf(ev, focus) ? retiredBy(seeker, i) : 0;
      found = r > 0 ? { pos: { event: i - 1, insns: r - 1 }, exec: { event: i, j: r - 1 } } : { pos: { event: i - 1, insns: 0 }, exec: null };
    }
    if (found !== null) return found;
    hi = lo - 1;
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
