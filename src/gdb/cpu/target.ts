import { disassemble, type CpuState, type FlatRam } from "../../cpu/index.ts";
import type { GdbTarget, GdbThread, MemorySpan, MonitorReply, ResumeControl, ResumeRequest, Stop } from "../target.ts";
import { CpuHistory, START, comparePositions, positionText, type AdvanceResult, type Hit, type HistoryOptions, type Position } from "./history.ts";

/**
 * A gdb target over the standalone CPU (`hvsim cpu gdb IMAGE`): one processor, one thread, flat
 * RAM, and a history that grows as the program runs and can be walked backward. The program is
 * the same one `hvsim cpu run` runs: it starts at EL1h with the MMU off and ends at `brk #0`, an
 * exception with no vectors installed, or a WFI nothing can wake; that is the end of its history.
 */
export interface CpuTargetOptions {
  /** What is debugged, for the log (e.g. the image's file name). */
  readonly name: string;
  readonly initial: CpuState;
  /** RAM with the program loaded; the target owns it from here on. */
  readonly ram: FlatRam;
  /** The RAM's extent, for memory reads (everything else reads as unmapped). */
  readonly ramBase: number;
  readonly ramBytes: number;
  readonly history?: HistoryOptions;
}

const THREAD = 1;

export class CpuTarget implements GdbTarget {
  readonly description: string;
  private readonly history: CpuHistory;

  constructor(private readonly o: CpuTargetOptions) {
    this.description = `${o.name} on the standalone CPU (flat RAM 0x${o.ramBase.toString(16)}..0x${(o.ramBase + o.ramBytes).toString(16)})`;
    this.history = new CpuHistory(o.initial, o.ram, o.history);
  }

  threads(): readonly GdbThread[] {
    const s = this.history.state;
    return [{ id: THREAD, name: `CPU 0 (EL${s.el}${s.el === 1 && s.spsel === 1 ? "h" : "t"}, instruction ${positionText(this.history.pos)})` }];
  }

  cpu(thread: number): CpuState | null {
    return thread === THREAD ? this.history.state : null;
  }

  readMemory(_thread: number, address: bigint, length: number): readonly MemorySpan[] {
    const base = BigInt(this.o.ramBase);
    const end = base + BigInt(this.o.ramBytes);
    const spans: MemorySpan[] = [];
    let at = address;
    const stop = address + BigInt(length);
    while (at < stop) {
      if (at < base || at >= end) {
        const next = at < base && base < stop ? base : stop;
        spans.push({ kind: "unmapped", length: Number(next - at) });
        at = next;
      } else {
        const next = end < stop ? end : stop;
        spans.push({ kind: "bytes", bytes: this.o.ram.read(Number(at), Number(next - at)) });
        at = next;
      }
    }
    return spans;
  }

  rewind(): void {
    this.history.rewind();
  }

  async resume(r: ResumeRequest, control: ResumeControl): Promise<Stop> {
    const breakpoints = new Set(r.breakpoints.filter((b) => b.address < 1n << 52n).map((b) => Number(b.address)));
    const h = this.history;
    if (r.direction === "forward") {
      if (h.end !== null && comparePositions(h.pos, h.end.pos) >= 0) return this.stop({ kind: "history-end" }, `hvsim: the history ends here: ${h.end.message} (instruction ${positionText(h.end.pos)})`);
      const result = await h.advance(r.action === "step" ? { steps: 1, watchpoints: r.watchpoints, control } : { breakpoints, skipBreakpointAt: h.pos, watchpoints: r.watchpoints, control });
      return this.stopOf(result);
    }
    if (r.action === "step") return this.reverseStep(r, control);
    return this.reverseContinue(breakpoints, r, control);
  }

  private stop(reason: Stop["reason"], message?: string): Stop {
    return message === undefined ? { thread: THREAD, reason } : { thread: THREAD, reason, message };
  }

  private stopOf(result: AdvanceResult): Stop {
    switch (result.kind) {
      case "hit":
        return this.stopAt(result.hit);
      case "end": {
        const end = this.history.end!;
        return this.stop({ kind: "signal", signal: end.signal }, `hvsim: ${end.message} (instruction ${positionText(end.pos)})`);
      }
      case "interrupted":
        return this.stop({ kind: "interrupted" });
      default:
        return this.stop({ kind: "step" });
    }
  }

  private stopAt(hit: Hit): Stop {
    return hit.kind === "breakpoint" ? this.stop({ kind: "breakpoint", address: BigInt(hit.address) }) : this.stop({ kind: "watchpoint", watch: hit.watch, address: hit.address });
  }

  /**
   * One step back. With watchpoints set, the instruction being undone is first run once to see
   * whether it touches one: if it does, the stop is a watchpoint here (gdb then steps back over
   * the instruction itself with the watchpoints removed).
   */
  private async reverseStep(r: ResumeRequest, control: ResumeControl): Promise<Stop> {
    const h = this.history;
    const here = h.pos;
    const before = h.predecessor(here);
    if (before === null) return this.stop({ kind: "history-start" });
    await h.seek(before, control);
    if (r.watchpoints.length > 0) {
      const probe = await h.advance({ steps: 1, watchpoints: r.watchpoints, control });
      if (probe.kind === "hit") {
        await h.seek(here, control);
        return this.stopAt({ ...probe.hit, pos: here });
      }
      await h.seek(before, control);
    }
    return this.stop({ kind: "step" });
  }

  /**
   * Back to the last breakpoint or watchpoint hit before here: each interval between checkpoints,
   * latest first, is replayed forward recording hits, and the last one found is where to stop.
   */
  private async reverseContinue(breakpoints: ReadonlySet<number>, r: ResumeRequest, control: ResumeControl): Promise<Stop> {
    const h = this.history;
    let upTo: Position = h.pos;
    for (const from of h.checkpointsBefore(upTo)) {
      if (control.interrupted()) {
        await h.seek(upTo);
        return this.stop({ kind: "interrupted" });
      }
      await h.seek(from);
      let last: Hit | null = null;
      const scan = await h.advance({
        limit: upTo,
        breakpoints,
        watchpoints: r.watchpoints,
        watchAfter: true,
        onHit: (hit) => {
          last = hit;
          return false;
        },
        control,
      });
      if (scan.kind === "interrupted") {
        await h.seek(upTo);
        return this.stop({ kind: "interrupted" });
      }
      const found = last as Hit | null;
      if (found !== null) {
        await h.seek(found.pos);
        return this.stopAt(found);
      }
      upTo = from;
    }
    await h.seek(START);
    return this.stop({ kind: "history-start" });
  }

  async monitor(command: string, _thread: number, control: ResumeControl): Promise<MonitorReply> {
    const [verb = "", ...args] = command.split(/\s+/).filter((w) => w !== "");
    const h = this.history;
    switch (verb) {
      case "":
      case "help":
        return { output: MONITOR_HELP };
      case "where":
        return { output: this.where() };
      case "history": {
        const end = h.end === null ? "the program has not ended yet (continue runs it further)" : `it ends at instruction ${positionText(h.end.pos)}: ${h.end.message}`;
        return { output: `recorded: instructions 0..${positionText(h.frontier)}; ${end}\ncheckpoints: ${h.checkpointCount}, every ${h.checkpointInterval} instructions` };
      }
      case "goto": {
        const n = args.length === 1 && /^\d+$/.test(args[0]!) ? Number(args[0]) : NaN;
        if (!Number.isSafeInteger(n)) return { output: "usage: monitor goto N (an instruction count; see monitor where)" };
        const target: Position = { count: n, entries: 0 };
        if (comparePositions(target, h.frontier) <= 0) await h.seek(target, control);
        else {
          await h.seek(h.frontier, control);
          await h.advance({ limit: target, control });
        }
        return { output: this.where(), moved: true };
      }
      case "info":
        return { output: this.description };
      default:
        return { output: `unknown monitor command '${verb}'\n${MONITOR_HELP}` };
    }
  }

  private where(): string {
    const h = this.history;
    const pc = h.pc();
    const word = new DataView(this.o.ram.read(pc, 4).buffer).getUint32(0, true);
    const atEnd = h.end !== null && comparePositions(h.pos, h.end.pos) >= 0 ? ` (the end of history: ${h.end.message})` : "";
    return `instruction ${positionText(h.pos)} of ${positionText(h.frontier)} recorded; pc 0x${pc.toString(16)}: ${disassemble(word, pc)}${atEnd}`;
  }
}

const MONITOR_HELP = [
  "hvsim monitor commands (standalone CPU):",
  "  monitor where      the current position (instructions retired) and the next instruction",
  "  monitor history    how much history is recorded, and how the program ended",
  "  monitor goto N     go to the position after N instructions (forward or backward)",
  "  monitor info       what is being debugged",
].join("\n");
