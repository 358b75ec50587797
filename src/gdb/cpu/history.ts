import { ACCESS_WRITE, REG_PC, exceptionName, readReg, run, type CpuState, type FlatRam } from "../../cpu/index.ts";
import type { ResumeControl, Watchpoint, WatchKind } from "../target.ts";
import { pageOf, pagesOfWatchpoints, watchHit } from "../watch.ts";
import { DebugBus } from "./bus.ts";

/**
 * The history of one program on the standalone CPU, made as it runs and revisited at will: rr's
 * ReplayTimeline in miniature. Every position execution passes through can be returned to,
 * exactly, because the CPU is deterministic and stops at exact instruction counts: going back is
 * restoring the nearest earlier checkpoint (CPU state plus copy-on-write RAM) and running forward
 * to the position.
 *
 * A position is (instructions retired, exceptions taken since): the vector entry of an exception
 * is a place of its own, as a single step on hardware stops there. An SVC retires and takes its
 * exception in one step, so its vector entry has entries 0.
 */
export interface Position {
  readonly count: number;
  readonly entries: number;
}

export const START: Position = { count: 0, entries: 0 };

export const comparePositions = (a: Position, b: Position): number => a.count - b.count || a.entries - b.entries;
export const positionText = (p: Position): string => (p.entries === 0 ? `${p.count}` : `${p.count}+${p.entries}`);

/** Why the program cannot go on: the end of its history. */
export interface HistoryEnd {
  readonly pos: Position;
  /** GDB's signal number for the stop (5 TRAP for brk #0 and WFI). */
  readonly signal: number;
  readonly message: string;
}

export type Hit =
  | { readonly kind: "breakpoint"; readonly pos: Position; readonly address: number }
  | { readonly kind: "watchpoint"; readonly pos: Position; readonly watch: WatchKind; readonly address: bigint };

export type AdvanceResult =
  | { readonly kind: "limit" | "steps" | "end" | "interrupted" }
  | { readonly kind: "hit"; readonly hit: Hit };

export interface AdvanceOptions {
  /** Stop on reaching this position. */
  readonly limit?: Position;
  /** Stop after this many steps. */
  readonly steps?: number;
  /** Breakpoint addresses; a breakpoint at `skipBreakpointAt` (where a continue starts) does not count. */
  readonly breakpoints?: ReadonlySet<number>;
  readonly skipBreakpointAt?: Position;
  readonly watchpoints?: readonly Watchpoint[];
  /**
   * Place watchpoint hits after the accessing instruction (backward scans) rather than before it
   * (forward execution, where gdb steps over the instruction itself).
   */
  readonly watchAfter?: boolean;
  /** A hit: true stops there; false records it and goes on (scans). */
  readonly onHit?: (hit: Hit) => boolean;
  readonly control?: ResumeControl;
}

/** GDB's signal numbers (gdb/signals.def), the ones a stopped program is shown with. */
const SIGNAL = { ILL: 4, TRAP: 5, BUS: 10, SEGV: 11, SYS: 12 } as const;

const EC_SVC = 0x15;
const EC_IABORT_LOWER = 0x20;
const EC_IABORT_SAME = 0x21;
const SIGNAL_OF_EC: Readonly<Record<number, number>> = {
  0x00: SIGNAL.ILL,
  0x0e: SIGNAL.ILL,
  0x15: SIGNAL.SYS,
  0x20: SIGNAL.SEGV,
  0x21: SIGNAL.SEGV,
  0x22: SIGNAL.BUS,
  0x24: SIGNAL.SEGV,
  0x25: SIGNAL.SEGV,
  0x26: SIGNAL.BUS,
  0x3c: SIGNAL.TRAP,
};

/** Instructions between checkpoints at first; the interval doubles whenever CHECKPOINTS_MAX is reached. */
const CHECKPOINT_INTERVAL = 1 << 20;
const CHECKPOINTS_MAX = 128;
/** Instructions between looks at the interrupt flag (and turns of the event loop). */
const SLICE = 1 << 18;
/** Exceptions in a row without an instruction retiring before the program counts as stuck. */
const STALL_MAX = 64;

export interface HistoryOptions {
  /** Instructions between checkpoints at first (default 2^20). */
  readonly checkpointInterval?: number;
  /** Checkpoints kept; when full, every other one goes and the interval doubles (default 128). */
  readonly checkpointsMax?: number;
}

interface Snapshot {
  readonly pos: Position;
  readonly state: CpuState;
  readonly pages: ReadonlyMap<number, Uint8Array>;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class CpuHistory {
  state: CpuState;
  pos: Position = START;
  /** The farthest position executed: everything up to it can be revisited. */
  frontier: Position = START;
  end: HistoryEnd | null = null;
  readonly bus: DebugBus;
  private readonly checkpoints: Snapshot[] = [];
  private interval: number;
  private readonly checkpointsMax: number;
  /** Exceptions taken at an instruction count without retiring (only counts that had some). */
  private readonly entriesAt = new Map<number, number>();

  constructor(initial: CpuState, ram: FlatRam, options: HistoryOptions = {}) {
    this.interval = options.checkpointInterval ?? CHECKPOINT_INTERVAL;
    this.checkpointsMax = options.checkpointsMax ?? CHECKPOINTS_MAX;
    this.state = initial;
    this.bus = new DebugBus(ram);
    this.checkpoints.push({ pos: START, state: initial, pages: this.bus.share() });
  }

  pc(): number {
    return Number(readReg(this.state, REG_PC));
  }

  get checkpointCount(): number {
    return this.checkpoints.length;
  }

  get checkpointInterval(): number {
    return this.interval;
  }

  /** The position one step before `p` (null at the start). */
  predecessor(p: Position): Position | null {
    if (p.entries > 0) return { count: p.count, entries: p.entries - 1 };
    if (p.count === 0) return null;
    return { count: p.count - 1, entries: this.entriesAt.get(p.count - 1) ?? 0 };
  }

  /** Goes to `target`, which must lie within the history (at most the frontier). */
  async seek(target: Position, control?: ResumeControl): Promise<void> {
    const ahead = comparePositions(target, this.pos) >= 0 && target.count - this.pos.count <= this.interval;
    if (!ahead) this.restore(target);
    await this.advance({ limit: target, control });
  }

  /** Back to the start (no replay needed: it is the first checkpoint). */
  rewind(): void {
    this.restore(START);
  }

  private restore(target: Position): void {
    let i = this.checkpoints.length - 1;
    while (i > 0 && comparePositions(this.checkpoints[i]!.pos, target) > 0) i--;
    const cp = this.checkpoints[i]!;
    this.state = cp.state;
    this.pos = cp.pos;
    this.bus.restore(cp.pages);
  }

  /** The checkpoints at or before `p`, latest first: where backward scans start, one interval at a time. */
  checkpointsBefore(p: Position): readonly Position[] {
    return this.checkpoints
      .filter((c) => comparePositions(c.pos, p) < 0)
      .map((c) => c.pos)
      .reverse();
  }

  /**
   * Executes forward from the current position until a limit, a number of steps, a hit that
   * stops, the end of history, or an interrupt. Positions beyond the frontier extend the history.
   */
  async advance(o: AdvanceOptions): Promise<AdvanceResult> {
    // A breakpoint outside RAM never hits: no instruction is fetched there (the fetch aborts and the
    // exception entry is the next place), as a software breakpoint cannot be written there either.
    const breakpoints = new Set([...(o.breakpoints ?? [])].filter((a) => this.bus.ram.contains(a)));
    const watches = o.watchpoints ?? [];
    this.bus.setBreakpoints(breakpoints);
    this.bus.watchPages = pagesOfWatchpoints(watches);
    let skip = o.skipBreakpointAt ?? null;
    let steps = 0;
    let sliceLeft = SLICE;
    for (;;) {
      if (o.limit !== undefined && comparePositions(this.pos, o.limit) >= 0) return { kind: "limit" };
      if (o.steps !== undefined && steps >= o.steps) return { kind: "steps" };
      if (this.end !== null && comparePositions(this.pos, this.end.pos) >= 0) return { kind: "end" };
      const pc = this.pc();
      let real = false;
      if (breakpoints.has(pc)) {
        if (skip === null || comparePositions(skip, this.pos) !== 0) {
          const hit: Hit = { kind: "breakpoint", pos: this.pos, address: pc };
          if (o.onHit?.(hit) !== false) return { kind: "hit", hit };
        }
        // Going on from a breakpoint: its own instruction runs for real, alone.
        real = true;
        skip = null;
      }
      if (sliceLeft <= 0) {
        sliceLeft = SLICE;
        await yieldToEventLoop();
        if (o.control?.interrupted()) return { kind: "interrupted" };
      }
      let budget = real ? 1 : Math.min(sliceLeft, this.checkpointBudget());
      if (o.limit !== undefined) budget = Math.min(budget, Math.max(1, o.limit.count - this.pos.count));
      if (o.steps !== undefined) budget = Math.min(budget, o.steps - steps);
      const before = this.pos;
      this.execute(budget, real ? pageOf(pc) : -1, true);
      sliceLeft -= Math.max(1, this.pos.count - before.count);
      steps += this.stepsBetween(before, this.pos);
      const event = this.bus.event;
      // The program's own BRK with the breakpoint immediate, where no breakpoint is: run it for real.
      if (event?.kind === "breakpoint" && !breakpoints.has(this.pc())) {
        const at = this.pos;
        this.execute(1, pageOf(this.pc()), true);
        steps += this.stepsBetween(at, this.pos);
        continue;
      }
      if (event?.kind !== "access") continue;
      const hit = watchHit(watches, event.access);
      if (hit !== null && o.watchAfter !== true) {
        const h: Hit = { kind: "watchpoint", pos: this.pos, ...hit };
        if (o.onHit?.(h) !== false) return { kind: "hit", hit: h };
      }
      // Let the access happen, watched or not, and go on.
      const at = this.pos;
      this.execute(1, pageOf(this.pc()), false);
      if (event.access.access === ACCESS_WRITE) this.bus.pageWritten(pageOf(Number(event.access.address)));
      steps += this.stepsBetween(at, this.pos);
      if (hit !== null && o.watchAfter === true && this.pos.count > at.count) {
        const h: Hit = { kind: "watchpoint", pos: this.pos, ...hit };
        if (o.onHit?.(h) !== false) return { kind: "hit", hit: h };
      }
    }
  }

  /** Steps from `a` to `b` when b follows a: each retired instruction and each exception entry is one. */
  private stepsBetween(a: Position, b: Position): number {
    if (b.count === a.count) return b.entries - a.entries;
    return b.count - a.count + b.entries;
  }

  /** Instructions before the next checkpoint is due, when running beyond the frontier. */
  private checkpointBudget(): number {
    if (comparePositions(this.pos, this.frontier) < 0) return Infinity;
    return (Math.floor(this.pos.count / this.interval) + 1) * this.interval - this.pos.count;
  }

  /** One run of at most `budget` instructions; moves the position and notes what stopped it. */
  private execute(budget: number, realFetchPage: number, guarding: boolean): void {
    const bus = this.bus;
    bus.event = null;
    bus.realFetchPage = realFetchPage;
    bus.guarding = guarding;
    const from = this.pos;
    const r = run(this.state, bus, budget);
    this.state = r.state;
    const count = from.count + r.retired;
    const event = bus.event as DebugBus["event"];
    if (event?.kind === "exception") {
      const inside = r.retired > 0 && (r.retired === budget || this.takenByInstruction(event.ec));
      if (event.final) return this.finish(inside ? this.predecessor({ count, entries: 0 })! : { count, entries: r.retired > 0 ? 0 : from.entries }, this.exceptionEnd(event.ec));
      this.moveTo(inside ? { count, entries: 0 } : { count, entries: r.retired > 0 ? 1 : from.entries + 1 });
      if (!inside) this.entriesAt.set(count, Math.max(this.entriesAt.get(count) ?? 0, this.pos.entries));
      if (this.pos.entries > STALL_MAX) this.finish(this.pos, { signal: SIGNAL_OF_EC[event.ec] ?? SIGNAL.ILL, message: `an exception loop: ${exceptionName(event.ec)} again and again with no instruction completing` });
      return;
    }
    const here: Position = { count, entries: r.retired > 0 ? 0 : from.entries };
    if (event?.kind === "breakpoint") return this.moveTo(here);
    if (event === null && r.stop.kind === "brk") return this.finish(here, { signal: SIGNAL.TRAP, message: `the program ended at brk #${r.stop.imm}` });
    if (event === null && (r.stop.kind === "wfi" || r.stop.kind === "wfe")) return this.finish(here, { signal: SIGNAL.TRAP, message: `${r.stop.kind}: nothing can wake the CPU here (no interrupt controller), so the program ends` });
    // Other exits a bus may ask for (HVC/SMC with a hypervisor, a refused access): the program stops there.
    if (event === null && r.stop.kind !== "budget") return this.finish(here, { signal: SIGNAL.TRAP, message: `the program stopped at ${r.stop.kind}${"imm" in r.stop ? ` #${r.stop.imm}` : ""}, which the standalone CPU cannot go past` });
    this.moveTo(here);
  }

  /**
   * Whether an exception that followed retired instructions was taken by the last of them (its
   * vector entry is then the position after it) rather than at the boundary after it (a position
   * of its own). The CPU takes two kinds inside a retiring instruction: SVC, and the instruction
   * abort of a branch beyond the 48-bit address space (taken at the branch, so the exact 64-bit
   * target reaches ELR and FAR: see Core.setPc64). A run whose budget ended with the instruction
   * needs no rule: a boundary exception would have waited for the next run.
   */
  private takenByInstruction(ec: number): boolean {
    return ec === EC_SVC || ((ec === EC_IABORT_LOWER || ec === EC_IABORT_SAME) && this.state.sys.far_el1 >= 1n << 48n);
  }

  private moveTo(p: Position): void {
    this.pos = p;
    if (comparePositions(p, this.frontier) <= 0) return;
    this.frontier = p;
    if (p.entries === 0 && p.count % this.interval === 0 && p.count > this.checkpoints[this.checkpoints.length - 1]!.pos.count) this.addCheckpoint();
  }

  private addCheckpoint(): void {
    this.checkpoints.push({ pos: this.pos, state: this.state, pages: this.bus.share() });
    if (this.checkpoints.length <= this.checkpointsMax) return;
    this.interval *= 2;
    const kept = this.checkpoints.filter((c, i) => i === 0 || c.pos.count % this.interval === 0);
    this.checkpoints.splice(0, this.checkpoints.length, ...kept);
  }

  private exceptionEnd(ec: number): Omit<HistoryEnd, "pos"> {
    const s = this.state.sys;
    const hex = (v: bigint): string => `0x${v.toString(16)}`;
    return {
      signal: SIGNAL_OF_EC[ec] ?? SIGNAL.ILL,
      message: `${exceptionName(ec)} at ${hex(s.elr_el1)} (ESR_EL1 ${hex(s.esr_el1)}, FAR_EL1 ${hex(s.far_el1)}) with no exception vectors installed (VBAR_EL1 is 0): the program ends here`,
    };
  }

  /**
   * The program stopped for good: the history ends at `pos`, the position before the step that
   * could not be taken. The CPU state has moved past it (an exception was entered), so it is
   * recomputed from the last checkpoint.
   */
  private finish(pos: Position, why: Omit<HistoryEnd, "pos">): void {
    this.end = { pos, ...why };
    if (comparePositions(pos, this.frontier) > 0) this.frontier = pos;
    if (comparePositions(pos, this.pos) !== 0 || this.state.retired !== pos.count) {
      this.restore(pos);
      this.runPlainTo(pos);
    } else {
      this.pos = pos;
    }
  }

  /** Runs to `target` with nothing watched (within known history; used after a restore). */
  private runPlainTo(target: Position): void {
    this.bus.setBreakpoints(new Set());
    while (comparePositions(this.pos, target) < 0) this.execute(Math.max(1, target.count - this.pos.count), -1, false);
  }
}
