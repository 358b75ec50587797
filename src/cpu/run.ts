import type { CpuBus, RefusedAccess } from "./bus.ts";
import { blockAt } from "./blocks.ts";
import type { Block } from "./codecache.ts";
import { Core, EXIT_ACCESS, EXIT_BRK, EXIT_EXCEPTION, EXIT_HVC, EXIT_NONE, EXIT_SMC, EXIT_WFE, EXIT_WFI } from "./core.ts";
import type { CpuState } from "./state.ts";

/** Why a run ended. */
export type StopReason =
  | { readonly kind: "budget" }
  | { readonly kind: "hvc" | "smc" | "brk"; readonly imm: number }
  | { readonly kind: "wfi" | "wfe" }
  | { readonly kind: "access"; readonly access: RefusedAccess }
  | { readonly kind: "exception"; readonly ec: number }
  | { readonly kind: "stalled"; readonly ec: number };

export interface RunResult {
  readonly state: CpuState;
  /** Instructions retired by this run. */
  readonly retired: number;
  readonly stop: StopReason;
}

export interface RunOptions {
  /**
   * false runs the reference path: every instruction decoded and compiled alone, every access
   * through the bus with no TLB. The default (fast) path runs cached blocks over a TLB; the two
   * must agree exactly (a property test checks it).
   */
  readonly blocks?: boolean;
}

/**
 * Exceptions taken in a row with no instruction retiring before the run gives up (a vector that
 * faults again, for ever): the architecture would spin; a tool should say so.
 */
const STALL_MAX = 64;

/** Numbers runs, so block links made in one run are not trusted in another (see `Block.next`). */
let runSerial = 0;

/**
 * Runs the CPU for at most `budget` instructions, or until an exit the bus asked for (HVC, SMC,
 * BRK, WFI, a refused access) or an exception it wanted to see. Interrupts are taken only at
 * instruction boundaries the run reaches: at its start, after an instruction that may have
 * unmasked one or raised the line, and where `bus.quietFor` said the line might rise; so stopping
 * and resuming at any instruction count gives the same execution (what record/replay needs).
 */
export function run(state: CpuState, bus: CpuBus, budget: number, options: RunOptions = {}): RunResult {
  const fast = options.blocks !== false;
  const c = new Core(state, bus, fast);
  const start = c.retired;
  const end = start + budget;
  let deadline = c.retired;
  let stalls = 0;
  const serial = ++runSerial;
  let prev: Block | null = null;
  while (c.retired < end && c.exit === EXIT_NONE) {
    if (c.retired >= deadline) c.check = 1;
    if (c.check !== 0) {
      deadline = c.retired + bus.quietFor(c.retired);
      if (c.takeInterrupt()) {
        prev = null;
        continue;
      }
    }
    if (c.il !== 0) {
      prev = null;
      c.illegalState(c.pc);
      if (++stalls > STALL_MAX) break;
      continue;
    }
    const limit = Math.min(end, deadline) - c.retired;
    let b: Block;
    if (prev !== null && prev.nextRun === serial && prev.nextPc === c.pc && prev.next!.valid && prev.next!.n <= limit) {
      b = prev.next!;
    } else {
      const page = c.fetchPage(c.pc);
      if (page === null) {
        prev = null;
        if (++stalls > STALL_MAX) break;
        continue;
      }
      b = blockAt(c, page, c.pc, !fast);
      // A budget that ends inside the block runs its instructions one at a time (never linked).
      if (b.n > limit) b = blockAt(c, page, c.pc, true);
      else if (prev !== null) {
        prev.next = b;
        prev.nextPc = c.pc;
        prev.nextRun = serial;
      }
    }
    prev = b;
    const k = b.fn(c);
    c.retired += k;
    if (k === 0) {
      if (++stalls > STALL_MAX) break;
    } else {
      stalls = 0;
    }
  }
  const retired = c.retired - start;
  return { state: c.save(), retired, stop: stopOf(c, stalls > STALL_MAX) };
}

function stopOf(c: Core, stalled: boolean): StopReason {
  if (stalled) return { kind: "stalled", ec: Number((c.sysGet("esr_el1") >> 26n) & 0x3fn) };
  switch (c.exit) {
    case EXIT_HVC:
      return { kind: "hvc", imm: c.exitImm };
    case EXIT_SMC:
      return { kind: "smc", imm: c.exitImm };
    case EXIT_BRK:
      return { kind: "brk", imm: c.exitImm };
    case EXIT_WFI:
      return { kind: "wfi" };
    case EXIT_WFE:
      return { kind: "wfe" };
    case EXIT_ACCESS:
      return { kind: "access", access: c.exitAccess! };
    case EXIT_EXCEPTION:
      return { kind: "exception", ec: c.exitEc };
    default:
      return { kind: "budget" };
  }
}
