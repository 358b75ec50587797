import { ACCESS_FETCH, ACCESS_WRITE, type AccessKind, type CpuBus, type FlatRam, type RefusedAccess, type RefusedAction, type TrapKind } from "../../cpu/index.ts";

import { PAGE, pageOf } from "../watch.ts";

export { PAGE, pageOf };

/**
 * The immediate of the BRK a breakpoint shows the instruction fetch (any value works; a program's
 * own BRK with it is told apart by its address, see `DebugBus.trap`).
 */
export const BREAK_IMM = 0x4856;
const BREAK_WORD = (0xd4200000 | (BREAK_IMM << 5)) >>> 0;

/** Why the last run stopped early, as far as the debugger's bus is concerned. */
export type BusEvent =
  /** The instruction fetch met a breakpoint (the run stopped with the PC at it, nothing retired there). */
  | { readonly kind: "breakpoint" }
  /** A load or store refused before it happened: to a watched page, or a store to a page holding breakpoints. */
  | { readonly kind: "access"; readonly access: RefusedAccess }
  /** An exception was taken; `final` when the program cannot go on (no vectors installed). */
  | { readonly kind: "exception"; readonly ec: number; readonly final: boolean };

/**
 * The bus a debugged program runs on: FlatRam with what a debugger needs to see each breakpoint
 * and watchpoint exactly while code elsewhere runs at full speed.
 *
 * - Breakpoints: instruction fetches from a page that holds breakpoints read an overlay, a copy
 *   of the page with BRK #BREAK_IMM at each breakpoint, so a run stops right there before the
 *   instruction (the CPU's BRK exit). Memory itself is never written: loads from the page, gdb's
 *   reads and the history all see the real bytes, and a store to the page is refused so the
 *   debugger can let it happen and rebuild the overlay (self-modifying code stays exact).
 * - Watchpoints: loads and stores to pages that hold watchpoints are refused, reads and writes
 *   alike (the CPU's TLB shares one view per page), so the run stops before the access with its
 *   exact address and size.
 * - Every exception stops the run as it is taken, so a vector entry is a place the debugger sees.
 * - RAM is copy-on-write against the history's checkpoints (`share`, `restore`): the first store
 *   to a shared page replaces it with a private copy (the CpuBus contract), so a checkpoint costs
 *   no copying and pages never written keep their compiled code.
 */
export class DebugBus implements CpuBus {
  private breakpoints: ReadonlySet<number> = new Set();
  private breakpointPages = new Set<number>();
  private readonly overlays = new Map<number, Uint8Array>();
  watchPages: ReadonlySet<number> = new Set();
  /**
   * The page the current run fetches for real, breakpoints or not (a one-instruction run that
   * executes the instruction under a breakpoint), or -1.
   */
  realFetchPage = -1;
  /** Refuse the accesses above (off for the one-instruction run that lets a seen access happen). */
  guarding = true;
  event: BusEvent | null = null;
  private shared = new Set<number>();

  constructor(readonly ram: FlatRam) {}

  /** Breakpoint addresses for the runs to come. */
  setBreakpoints(addresses: ReadonlySet<number>): void {
    if (sameSet(addresses, this.breakpoints)) return;
    this.breakpoints = addresses;
    this.breakpointPages = new Set([...addresses].filter((a) => this.ram.contains(a)).map(pageOf));
    this.overlays.clear();
  }

  isBreakpointPage(page: number): boolean {
    return this.breakpointPages.has(page);
  }

  /** The page's bytes changed: its overlay is rebuilt at the next fetch. */
  pageWritten(page: number): void {
    this.overlays.delete(page);
  }

  /** The pages now in RAM belong to a snapshot too: each is copied before its first write. */
  share(): Map<number, Uint8Array> {
    this.shared = new Set(this.ram.pages.keys());
    return new Map(this.ram.pages);
  }

  /** RAM becomes a snapshot's pages, shared until written. */
  restore(pages: ReadonlyMap<number, Uint8Array>): void {
    this.ram.pages.clear();
    for (const [address, page] of pages) this.ram.pages.set(address, page);
    this.shared = new Set(pages.keys());
    this.overlays.clear();
  }

  private refusedByUs(address: number, access: AccessKind): boolean {
    if (!this.guarding || access === ACCESS_FETCH || !this.ram.contains(address)) return false;
    const page = pageOf(address);
    return this.watchPages.has(page) || (access === ACCESS_WRITE && this.breakpointPages.has(page));
  }

  page(pageAddress: number, access: AccessKind): Uint8Array | null {
    if (access === ACCESS_FETCH && this.breakpointPages.has(pageAddress) && pageAddress !== this.realFetchPage) return this.overlay(pageAddress);
    if (this.refusedByUs(pageAddress, access)) return null;
    if (access === ACCESS_WRITE && this.shared.has(pageAddress)) {
      this.shared.delete(pageAddress);
      const own = this.ram.pages.get(pageAddress)!.slice();
      this.ram.pages.set(pageAddress, own);
      return own;
    }
    return this.ram.page(pageAddress, access);
  }

  private overlay(pageAddress: number): Uint8Array {
    let o = this.overlays.get(pageAddress);
    if (o === undefined) {
      o = this.ram.page(pageAddress, ACCESS_FETCH)!.slice();
      const v = new DataView(o.buffer);
      for (const b of this.breakpoints) if (pageOf(b) === pageAddress && b % 4 === 0) v.setUint32(b - pageAddress, BREAK_WORD, true);
      this.overlays.set(pageAddress, o);
    }
    return o;
  }

  refused(a: RefusedAccess): RefusedAction {
    if (!this.refusedByUs(Number(a.address), a.access)) return this.ram.refused(a);
    this.event = { kind: "access", access: a };
    return "exit";
  }

  /**
   * BRK #BREAK_IMM stops the run as a breakpoint. A run that fetches for real (`realFetchPage`)
   * executes one genuine instruction, so a BRK there is the program's own, whatever its immediate.
   */
  trap(kind: TrapKind, imm: number): "exit" | "architectural" {
    if (kind === "brk" && imm === BREAK_IMM && this.realFetchPage === -1) {
      this.event = { kind: "breakpoint" };
      return "exit";
    }
    return this.ram.trap(kind, imm);
  }

  exceptionTaken(ec: number, vbar: bigint): boolean {
    this.event = { kind: "exception", ec, final: this.ram.exceptionTaken(ec, vbar) };
    return true;
  }

  // FlatRam claims no system registers: the CPU keeps them all.
  readSysreg(): bigint | undefined {
    return this.ram.readSysreg();
  }

  writeSysreg(): boolean {
    return this.ram.writeSysreg();
  }

  pendingPriority(retired: number): number {
    return this.ram.pendingPriority(retired);
  }

  counter(retired: number): bigint {
    return this.ram.counter(retired);
  }

  quietFor(retired: number): number {
    return this.ram.quietFor(retired);
  }
}

function sameSet(a: ReadonlySet<number>, b: ReadonlySet<number>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
