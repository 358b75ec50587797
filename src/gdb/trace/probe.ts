import { produce } from "immer";
import { ACCESS_FETCH, REG_PC, readReg, run, type AccessKind, type CpuBus, type RefusedAccess, type RefusedAction, type TrapKind } from "../../cpu/index.ts";
import type { Machine } from "../../model/machine.ts";
import { GuestBus } from "../../model/guest/bus.ts";
import type { AddrspaceObject } from "../../model/memory/state.ts";
import type { ThreadObject } from "../../model/vcpu/state.ts";
import type { Watchpoint, WatchKind } from "../target.ts";
import { pageOf, pagesOfWatchpoints, watchHit } from "../watch.ts";
import { BREAK_IMM } from "../cpu/bus.ts";

const BREAK_WORD = (0xd4200000 | (BREAK_IMM << 5)) >>> 0;

/**
 * What the guest did inside one recorded `vcpu_exec`, instruction by instruction, as far as gdb's
 * breakpoints and watchpoints care: the event's run is done again on a throwaway immer draft of
 * the state before it (the trace's state is never touched), on a bus that wraps the guest's own
 * (src/model/guest/bus.ts): instruction fetches from a page holding breakpoints read a copy with
 * BRK #BREAK_IMM at each (as the CPU target's bus does: a compiled block ends there), and loads
 * and stores to pages holding watchpoints are refused, so each run stops right before the
 * instruction or access a debugger must see; that one instruction then runs for real and the rest at full
 * speed. The CPU stops at exact instruction counts and a run split in pieces equals the whole
 * run (the CPU's split-run property), so instruction j here is instruction j of the recording.
 */

export type ProbeHit =
  /** Before instruction `j` (0-based) of the event, with the PC at a breakpoint. */
  | { readonly kind: "breakpoint"; readonly j: number; readonly address: bigint }
  /** Instruction `j` accesses the watched byte `address`. */
  | { readonly kind: "watchpoint"; readonly j: number; readonly watch: WatchKind; readonly address: bigint };

export interface ProbeRequest {
  readonly thread: number;
  /** Virtual time of the event (the bus's clock starts there, as the recorded run's did). */
  readonly t: number;
  /** Instructions the recorded run retired. */
  readonly retired: number;
  readonly breakpoints: ReadonlySet<number>;
  readonly watchpoints: readonly Watchpoint[];
  /** Look at instructions from..upTo-1 only (the run still starts at 0: the state is the event's). */
  readonly from?: number;
  readonly upTo?: number;
}

/** The run stopped where the recording did not: this build does not replay the trace's guest the same. */
export class ProbeDivergence extends Error {}

const ABANDON = Symbol("probe done");

/** Runs the recorded exec again over `before` (left as it was) and returns its hits in order. */
export function probeExec(before: Machine, r: ProbeRequest): ProbeHit[] {
  const hits: ProbeHit[] = [];
  const bpPages = new Set([...r.breakpoints].map(pageOf));
  const watchPages = pagesOfWatchpoints(r.watchpoints);
  if (bpPages.size === 0 && watchPages.size === 0) return hits;
  const from = r.from ?? 0;
  const upTo = Math.min(r.upTo ?? r.retired, r.retired);
  try {
    produce(before, (d: Machine) => {
      const t = d.objects.byId[r.thread] as ThreadObject;
      const as = d.objects.byId[t.addrspace] as AddrspaceObject;
      const bus = new ProbeBus(new GuestBus(d, t, as, r.t, t.cpu.retired), r.breakpoints, bpPages, watchPages);
      let j = 0;
      let realFetch = -1;
      while (j < upTo) {
        // After a breakpoint, its instruction alone runs from the real page; then the overlay is
        // back, so the next time the loop comes round to it stops again.
        const budget = realFetch === -1 ? upTo - j : 1;
        bus.arm(true, realFetch);
        realFetch = -1;
        const res = run(t.cpu, bus, budget);
        t.cpu = res.state;
        j += res.retired;
        const seen = bus.seen;
        if (seen === null) {
          if (budget === 1 && res.retired === 1) continue;
          if (j < upTo) throw new ProbeDivergence(`the guest stopped after ${j} of the ${r.retired} instructions the trace recorded (${res.stop.kind})`);
          break;
        }
        if (seen === "break") {
          // At a breakpoint, or the guest's own BRK with the same immediate: either way it runs for real next.
          const pc = Number(readReg(t.cpu, REG_PC));
          if (r.breakpoints.has(pc) && j >= from) hits.push({ kind: "breakpoint", j, address: BigInt(pc) });
          realFetch = pageOf(pc);
          continue;
        }
        const hit = watchHit(r.watchpoints, seen);
        if (hit !== null && j >= from) hits.push({ kind: "watchpoint", j, ...hit });
        // Let the access happen, watched or not: this one instruction runs unguarded.
        bus.arm(false, pageOf(Number(readReg(t.cpu, REG_PC))));
        const one = run(t.cpu, bus, 1);
        t.cpu = one.state;
        j += one.retired;
      }
      throw ABANDON;
    });
  } catch (e) {
    if (e !== ABANDON) throw e;
  }
  return hits;
}

/** The guest's bus with the refusals above; everything else goes to it unchanged. */
class ProbeBus implements CpuBus {
  /** What stopped the last run early: a watched access, or a breakpoint's BRK. */
  seen: RefusedAccess | "break" | null = null;
  private guard = true;
  private realFetchPage = -1;
  private readonly refusedHere = new Set<number>();

  constructor(
    private readonly inner: CpuBus,
    private readonly breakpoints: ReadonlySet<number>,
    private readonly bpPages: ReadonlySet<number>,
    private readonly watchPages: ReadonlySet<number>,
  ) {}

  /** Before each run (a run's answers for a page must not change within it). */
  arm(guard: boolean, realFetchPage: number): void {
    this.guard = guard;
    this.realFetchPage = realFetchPage;
    this.seen = null;
    this.refusedHere.clear();
  }

  page(pageAddress: number, access: AccessKind): Uint8Array | null {
    if (access === ACCESS_FETCH) {
      const real = this.inner.page(pageAddress, access);
      if (real === null || !this.bpPages.has(pageAddress) || pageAddress === this.realFetchPage) return real;
      const overlay = real.slice();
      const v = new DataView(overlay.buffer);
      for (const b of this.breakpoints) if (pageOf(b) === pageAddress) v.setUint32(b - pageAddress, BREAK_WORD, true);
      return overlay;
    }
    if (this.guard && this.watchPages.has(pageAddress)) {
      this.refusedHere.add(pageAddress);
      return null;
    }
    return this.inner.page(pageAddress, access);
  }

  refused(a: RefusedAccess): RefusedAction {
    if (a.access !== ACCESS_FETCH && this.refusedHere.has(pageOf(Number(BigInt.asUintN(52, a.address))))) {
      this.seen = a;
      return "exit";
    }
    return this.inner.refused(a);
  }

  trap(kind: TrapKind, imm: number): "exit" | "architectural" {
    if (kind === "brk" && imm === BREAK_IMM && this.realFetchPage === -1 && this.bpPages.size > 0) {
      this.seen = "break";
      return "exit";
    }
    return this.inner.trap(kind, imm);
  }
  readSysreg(name: string, retired: number): bigint | undefined {
    return this.inner.readSysreg(name, retired);
  }
  writeSysreg(name: string, value: bigint, retired: number): boolean {
    return this.inner.writeSysreg(name, value, retired);
  }
  pendingPriority(retired: number): number {
    return this.inner.pendingPriority(retired);
  }
  counter(retired: number): bigint {
    return this.inner.counter(retired);
  }
  quietFor(retired: number): number {
    return this.inner.quietFor(retired);
  }
  exceptionTaken(ec: number, vbar: bigint): boolean {
    return this.inner.exceptionTaken(ec, vbar);
  }
}
