import { mutableCopy } from "../../core/reducer.ts";
import type { EventBase } from "../../core/event.ts";
import { REG_PC, readReg, type CpuState } from "../../cpu/index.ts";
import type { Machine } from "../../model/machine.ts";
import { BACK_WINDOW, codeRunningVcpus, focusThread, nextInsnStep, prevInsnStep, readGuest, retiredBy, stateAtPosition, type Focus, type Position } from "../../timetravel/positions.ts";
import type { Seeker } from "../../timetravel/seeker.ts";
import type { GdbTarget, GdbThread, MemorySpan, MonitorReply, ResumeControl, ResumeRequest, Stop, StopReason, Watchpoint } from "../target.ts";
import { PAGE } from "../watch.ts";
import { ProbeDivergence, probeExec, type ProbeHit } from "./probe.ts";
import { traceMonitor } from "./monitor.ts";

/**
 * A gdb target over a recorded trace (`hvsim gdb TRACE`): gdb's threads are the guest vCPUs that
 * run code in it, and every position of src/timetravel/positions.ts (an event boundary, or k
 * instructions into a `vcpu_exec`) is a place gdb can stand. Nothing runs that the trace did not
 * record: stepping and continuing move the position through history, forward or backward, and
 * breakpoints and watchpoints are found by doing each exec's run again beside the recording
 * (probe.ts).
 *
 * gdb sees one address space: breakpoints and watchpoints apply to the vCPUs of the VM of the
 * thread gdb resumes (`--vm` keeps one VM's vCPUs only).
 *
 * A thread's instructions are the ones it retires: inside its `vcpu_exec` events, and the access
 * the hypervisor or VMM completes for it after an exit (an MMIO load, PC + 4): its retired count
 * says which. Breakpoints stop where a vCPU is about to run an instruction at the address: before
 * instruction j of its exec, or at the boundary after an exec that left it there (an exit the
 * VMM will complete, the instruction after an HVC).
 */

export interface TraceTargetOptions {
  readonly name: string;
  readonly seeker: Seeker<Machine>;
  /** Only this VM's vCPUs. */
  readonly vm?: number;
  /** Where the session starts (default: before the first instruction of the first vCPU). */
  readonly start?: Position;
  /** Event `i` as `hvsim log` prints it (for `monitor event`). */
  readonly describe: (i: number) => string;
}

interface Vcpu extends Focus {
  readonly id: number;
}

type ExecEvent = EventBase & { kind: "vcpu_exec"; vm: number; vcpu: number };
const isExec = (ev: EventBase): ev is ExecEvent => ev.kind === "vcpu_exec";

export const comparePositions = (a: Position, b: Position): number => a.event - b.event || a.insns - b.insns;
export const positionText = (p: Position): string => (p.insns > 0 ? `#${p.event}+${p.insns}` : `#${p.event}`);

/** A hit found while going through history, with where it puts gdb. */
interface Hit {
  readonly pos: Position;
  readonly thread: number;
  readonly reason: StopReason;
}

/** Events between looks at the interrupt flag (and turns of the event loop). */
const SLICE = 64;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class TraceTarget implements GdbTarget {
  readonly description: string;
  readonly seeker: Seeker<Machine>;
  pos: Position;
  state: Machine;
  private readonly vcpus: Vcpu[];
  private readonly start: Position;

  constructor(private readonly o: TraceTargetOptions) {
    this.seeker = o.seeker;
    this.vcpus = findVcpus(o.seeker, o.vm);
    if (this.vcpus.length === 0) throw new RangeError(o.vm === undefined ? "no guest code in this trace (no vcpu_exec event): gdb needs a vCPU that runs" : `no vCPU of VM 0x${o.vm.toString(16)} runs guest code in this trace`);
    this.start = o.start ?? this.firstStop();
    // gdb cannot attach where no thread has registers (it asks for them first): refuse it here.
    const missing = this.withoutRegisters(this.start);
    if (missing !== null) throw new RangeError(missing);
    this.pos = this.start;
    this.state = stateAtPosition(this.seeker, this.pos);
    const vms = [...new Set(this.vcpus.map((v) => `vm0x${v.vm.toString(16)}`))].join(", ");
    this.description = `${o.name}: ${this.seeker.count} events, ${this.vcpus.length} vCPU${this.vcpus.length === 1 ? "" : "s"} running guest code (${vms})`;
  }

  /** Before the first instruction of the first vCPU that runs any (of `only`, when given). */
  private firstStop(only?: Vcpu): Position {
    for (let i = 0; i < this.seeker.count; i++) {
      const ev = this.seeker.event(i);
      const v = isExec(ev) ? this.vcpuOf(ev) : undefined;
      if (v !== undefined && (only === undefined || v.id === only.id) && retiredBy(this.seeker, i) > 0) return { event: i - 1, insns: 0 };
    }
    return { event: -1, insns: 0 };
  }

  /** Why gdb could not stand at `p` (no vCPU of this target exists there), or null when it can. */
  withoutRegisters(p: Position): string | null {
    const s = stateAtPosition(this.seeker, p);
    if (this.vcpus.some((v) => focusThread(s, v) !== undefined)) return null;
    return `no vCPU gdb could show exists at ${positionText(p)} (gdb needs one's registers); the first instruction is at ${positionText(this.firstStop())}, the last place with one is ${positionText(this.endPosition)}`;
  }

  threads(): readonly GdbThread[] {
    return this.vcpus.map((v) => {
      const t = focusThread(this.state, v);
      const where = t === undefined ? "not created yet" : `${t.power === "OFF" ? "off, " : ""}EL${t.cpu.el}${t.cpu.spsel === 1 ? "h" : "t"}`;
      return { id: v.id, name: `vm0x${v.vm.toString(16)} vCPU ${v.vcpu} (${where}) at ${positionText(this.pos)}` };
    });
  }

  vcpu(thread: number): Vcpu | undefined {
    return this.vcpus.find((v) => v.id === thread);
  }

  cpu(thread: number): CpuState | null {
    const v = this.vcpu(thread);
    return v === undefined ? null : (focusThread(this.state, v)?.cpu ?? null);
  }

  readMemory(thread: number, address: bigint, length: number): readonly MemorySpan[] {
    const vm = this.vcpu(thread)?.vm ?? this.vcpus[0]!.vm;
    const spans: MemorySpan[] = [];
    const push = (span: MemorySpan): void => {
      const last = spans[spans.length - 1];
      if (last?.kind === "unmapped" && span.kind === "unmapped") spans[spans.length - 1] = { kind: "unmapped", length: last.length + span.length };
      else spans.push(span);
    };
    let at = address;
    const end = address + BigInt(length);
    while (at < end) {
      // Up to the next page boundary: a page is mapped whole or not at all (4 KiB granules).
      const next = (at / BigInt(PAGE) + 1n) * BigInt(PAGE);
      const stop = next < end ? next : end;
      const n = Number(stop - at);
      const bytes = at < 1n << 48n ? readGuest(this.state, vm, Number(at), n) : null;
      push(bytes === null ? { kind: "unmapped", length: n } : { kind: "bytes", bytes });
      at = stop;
    }
    return spans;
  }

  rewind(): void {
    this.moveTo(this.start);
  }

  moveTo(p: Position): void {
    this.state = stateAtPosition(this.seeker, p);
    this.pos = p;
  }

  /**
   * The end of the history gdb walks: the last event after which one of the vCPUs still exists
   * (a VM torn down at the end leaves gdb no registers to show), else the trace's last event.
   */
  get endPosition(): Position {
    if (this.end === null) this.end = { event: this.lastAlive(), insns: 0 };
    return this.end;
  }

  private end: Position | null = null;

  private lastAlive(): number {
    const count = this.seeker.count;
    let lastExec = -1;
    for (let i = count - 1; i >= 0 && lastExec < 0; i--) if (isExec(this.seeker.event(i))) lastExec = i;
    if (lastExec < 0) return count - 1;
    let alive = lastExec;
    this.seeker.walk(lastExec, count - 1, (i, s) => {
      if (this.vcpus.some((v) => focusThread(s, v) !== undefined)) alive = i;
      return false;
    });
    return alive;
  }

  async resume(r: ResumeRequest, control: ResumeControl): Promise<Stop> {
    try {
      return await this.resumeIn(r, control);
    } catch (e) {
      // The build does not replay the trace's guest as recorded: say so and stay where gdb is.
      if (!(e instanceof ProbeDivergence)) throw e;
      return { thread: r.thread, reason: { kind: "signal", signal: 5 }, message: `hvsim: ${e.message} (hvsim replay ${this.o.name} says where this build diverges)` };
    }
  }

  private async resumeIn(r: ResumeRequest, control: ResumeControl): Promise<Stop> {
    const breakpoints = new Set(r.breakpoints.filter((b) => b.address < 1n << 48n).map((b) => Number(b.address)));
    const vm = this.vcpu(r.thread)?.vm ?? this.vcpus[0]!.vm;
    if (r.direction === "forward") {
      if (comparePositions(this.pos, this.endPosition) >= 0) {
        // Past it (monitor goto) there are no registers to show: back to the end.
        if (comparePositions(this.pos, this.endPosition) > 0) this.moveTo(this.endPosition);
        return this.historyEnd(r.thread);
      }
      return r.action === "step" ? this.step(r.thread, r.watchpoints) : this.continueForward(r.thread, vm, breakpoints, r.watchpoints, control);
    }
    return r.action === "step" ? this.reverseStep(r.thread, r.watchpoints) : this.reverseContinue(r.thread, vm, breakpoints, r.watchpoints, control);
  }

  private historyEnd(thread: number): Stop {
    const last = this.seeker.count - 1;
    const end = this.endPosition.event;
    const why = end === last ? "the trace ends here" : `the vCPUs are gone after this (the trace goes on to #${last}; hvsim log shows it)`;
    return { thread, reason: { kind: "history-end" }, message: `hvsim: ${why}, after event #${end} (${this.seeker.event(end).kind})` };
  }

  /**
   * One instruction of `thread`: the next position where it has retired one more. With
   * watchpoints set, an instruction that touches one is not taken: the stop is a watchpoint here
   * (gdb then steps over it with the watchpoints removed).
   */
  private async step(thread: number, watches: readonly Watchpoint[]): Promise<Stop> {
    const v = this.vcpu(thread)!;
    const next = nextInsnStep(this.seeker, this.pos, v, this.endPosition.event, this.state);
    if (next === null) return this.historyEnd(thread);
    if (watches.length > 0 && next.exec !== null) {
      const hit = this.probe(this.seeker.stateAt(next.exec.event - 1), next.exec.event, v, new Set(), watches, next.exec.j, next.exec.j + 1).find((h) => h.kind === "watchpoint");
      if (hit !== undefined && hit.kind === "watchpoint") return { thread, reason: { kind: "watchpoint", watch: hit.watch, address: hit.address } };
    }
    this.moveTo(next.pos);
    return { thread, reason: { kind: "step" } };
  }

  /**
   * One instruction of `thread` back: the position before the instruction that brought it here.
   * With watchpoints set, an instruction being undone that touches one stops here instead.
   */
  private async reverseStep(thread: number, watches: readonly Watchpoint[]): Promise<Stop> {
    const v = this.vcpu(thread)!;
    const prev = prevInsnStep(this.seeker, this.pos, v);
    if (prev === null) return { thread, reason: { kind: "history-start" }, message: "hvsim: no earlier instruction of this vCPU in the trace" };
    if (watches.length > 0 && prev.exec !== null) {
      const hit = this.probe(this.seeker.stateAt(prev.exec.event - 1), prev.exec.event, v, new Set(), watches, prev.exec.j, prev.exec.j + 1).find((h) => h.kind === "watchpoint");
      if (hit !== undefined && hit.kind === "watchpoint") return { thread, reason: { kind: "watchpoint", watch: hit.watch, address: hit.address } };
    }
    this.moveTo(prev.pos);
    return { thread, reason: { kind: "step" } };
  }

  private probe(before: Machine, event: number, v: Vcpu, breakpoints: ReadonlySet<number>, watches: readonly Watchpoint[], from?: number, upTo?: number): ProbeHit[] {
    const ev = this.seeker.event(event);
    const object = focusThread(before, v);
    if (object === undefined) return [];
    try {
      return this.probeAt(before, event, object.id, ev.t, breakpoints, watches, from, upTo);
    } catch (e) {
      if (e instanceof ProbeDivergence) throw new ProbeDivergence(`event #${event}: ${e.message}`);
      throw e;
    }
  }

  private probeAt(before: Machine, event: number, thread: number, t: number, breakpoints: ReadonlySet<number>, watches: readonly Watchpoint[], from?: number, upTo?: number): ProbeHit[] {
    return probeExec(before, {
      thread,
      t,
      retired: retiredBy(this.seeker, event),
      breakpoints,
      watchpoints: watches,
      ...(from === undefined ? {} : { from }),
      ...(upTo === undefined ? {} : { upTo }),
    });
  }

  /**
   * Goes forward through events `from+1..to` from the state after `from`, calling `visit` with
   * every hit in order; stops when `visit` returns true. Watch hits are placed before the access
   * (forward) or after it (`after`, backward scans).
   */
  private async scan(from: number, to: number, vm: number, breakpoints: ReadonlySet<number>, watches: readonly Watchpoint[], after: boolean, control: ResumeControl, visit: (h: Hit) => boolean): Promise<"stopped" | "done" | "interrupted"> {
    const working = mutableCopy(this.seeker.stateAt(from));
    const lastAfterExec = new Map<number, string>();
    for (let i = from + 1; i <= to; i++) {
      if ((i - from) % SLICE === 0) {
        await yieldToEventLoop();
        if (control.interrupted()) return "interrupted";
      }
      const ev = this.seeker.event(i);
      const v = isExec(ev) && ev.vm === vm ? this.vcpuOf(ev) : undefined;
      if (v !== undefined) {
        const t = focusThread(working, v);
        const r = retiredBy(this.seeker, i);
        if (t !== undefined && r > 0) {
          const mark = `${t.cpu.retired}:${readReg(t.cpu, REG_PC)}`;
          for (const h of this.probe(working, i, v, breakpoints, watches)) {
            // Where the last exec left the vCPU was a stop of its own already.
            if (h.kind === "breakpoint" && h.j === 0 && lastAfterExec.get(v.id) === mark) continue;
            const pos = h.kind === "watchpoint" && after ? (h.j + 1 < r ? { event: i - 1, insns: h.j + 1 } : { event: i, insns: 0 }) : { event: i - 1, insns: h.j };
            const reason: StopReason = h.kind === "breakpoint" ? { kind: "breakpoint", address: h.address } : { kind: "watchpoint", watch: h.watch, address: h.address };
            if (visit({ pos, thread: v.id, reason })) return "stopped";
          }
        }
      }
      this.seeker.model.apply(working, ev);
      if (v !== undefined) {
        const t = focusThread(working, v);
        if (t !== undefined) {
          const pc = readReg(t.cpu, REG_PC);
          lastAfterExec.set(v.id, `${t.cpu.retired}:${pc}`);
          if (breakpoints.has(Number(pc)) && visit({ pos: { event: i, insns: 0 }, thread: v.id, reason: { kind: "breakpoint", address: pc } })) return "stopped";
        }
      }
    }
    return "done";
  }

  private async continueForward(thread: number, vm: number, breakpoints: ReadonlySet<number>, watches: readonly Watchpoint[], control: ResumeControl): Promise<Stop> {
    const here = this.pos;
    let found: Hit | null = null;
    const result = await this.scan(here.event, this.endPosition.event, vm, breakpoints, watches, false, control, (h) => {
      const c = comparePositions(h.pos, here);
      // A breakpoint where the continue starts does not stop it; an access about to happen does.
      if (c < 0 || (c === 0 && h.reason.kind === "breakpoint")) return false;
      found = h;
      return true;
    });
    if (result === "interrupted") return { thread, reason: { kind: "interrupted" } };
    const hit = found as Hit | null;
    if (hit === null) {
      this.moveTo(this.endPosition);
      return this.historyEnd(thread);
    }
    this.moveTo(hit.pos);
    return { thread: hit.thread, reason: hit.reason };
  }

  /** Back to the last hit before here: each window of events, latest first, is scanned forward and its last hit kept. */
  private async reverseContinue(thread: number, vm: number, breakpoints: ReadonlySet<number>, watches: readonly Watchpoint[], control: ResumeControl): Promise<Stop> {
    const here = this.pos;
    const lastEvent = here.insns > 0 ? here.event + 1 : here.event;
    for (let hi = lastEvent; hi >= 0; ) {
      const lo = Math.max(0, hi - BACK_WINDOW + 1);
      let last: Hit | null = null;
      const result = await this.scan(lo - 1, hi, vm, breakpoints, watches, true, control, (h) => {
        const c = comparePositions(h.pos, here);
        if (c > 0 || (c === 0 && h.reason.kind === "breakpoint")) return true;
        last = h;
        return false;
      });
      if (result === "interrupted") return { thread, reason: { kind: "interrupted" } };
      const hit = last as Hit | null;
      if (hit !== null) {
        this.moveTo(hit.pos);
        return { thread: hit.thread, reason: hit.reason };
      }
      hi = lo - 1;
    }
    // The start of this thread's history: before its first instruction (earlier, it has no registers to show).
    const v = this.vcpu(thread);
    const first = this.firstStop(v);
    this.moveTo(first.event >= 0 || v === undefined ? first : this.firstStop());
    return { thread, reason: { kind: "history-start" }, message: `hvsim: the start of this vCPU's history (before its first instruction, at ${positionText(this.pos)})` };
  }

  private vcpuOf(ev: ExecEvent): Vcpu | undefined {
    return this.vcpus.find((v) => v.vm === ev.vm && v.vcpu === ev.vcpu);
  }

  async monitor(command: string, thread: number, _control: ResumeControl): Promise<MonitorReply> {
    return traceMonitor(this, command, thread, this.o.describe);
  }

  pcOf(thread: number): number | null {
    const cpu = this.cpu(thread);
    return cpu === null ? null : Number(readReg(cpu, REG_PC));
  }
}

/** The vCPUs that run guest code, in the order they first do (thread ids 1, 2, ...). */
function findVcpus(seeker: Seeker<Machine>, onlyVm: number | undefined): Vcpu[] {
  return codeRunningVcpus(seeker)
    .filter((f) => onlyVm === undefined || f.vm === onlyVm)
    .map((f, k) => ({ id: k + 1, vm: f.vm, vcpu: f.vcpu }));
}
