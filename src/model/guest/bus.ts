import { writableBytes } from "../../core/bytes.ts";
import { ACCESS_FETCH, ACCESS_WRITE, type AccessKind, type CpuBus, type RefusedAccess, type TrapKind } from "../../cpu/index.ts";
import type { Machine } from "../machine.ts";
import { ACCESS_BIT, s2Lookup } from "../memory/stage2.ts";
import type { AddrspaceObject } from "../memory/state.ts";
import { PAGE, setLabel } from "../rm/content.ts";
import type { ThreadObject } from "../vcpu/state.ts";
import { counterAt, programTimer } from "../vgic/timer.ts";
import { acknowledge, endOfInterrupt, highestPending } from "../vgic/virq.ts";

/** Read-only zeroes for guest pages never written (reads must not create state). */
const ZERO_PAGE = new Uint8Array(PAGE);

/**
 * The machine as a vCPU's CPU sees it during one `vcpu_exec`: guest memory through the VM's
 * stage-2 into the page store (real bytes, written in place on the fast path), the GIC CPU
 * interface system registers through the vGIC, the virtual timer and counter through the timer
 * room, and every trap (HVC, SMC, WFI, a refused access) as an exit the exec handler resolves.
 * It writes the machine only through those rooms' helpers.
 */
export class GuestBus implements CpuBus {
  /** Pages the guest wrote in this run (labelled as the guest's data when the run ends). */
  private readonly written = new Set<number>();

  constructor(
    private readonly s: Machine,
    private readonly t: ThreadObject,
    private readonly as: AddrspaceObject,
    /** Virtual time of the run's first instruction, and the vCPU's instruction count there. */
    private readonly startNs: number,
    private readonly startRetired: number,
  ) {}

  private nsAt(retired: number): number {
    return this.startNs + (retired - this.startRetired);
  }

  page(pageAddress: number, access: AccessKind): Uint8Array | null {
    const r = s2Lookup(this.as, pageAddress);
    const right = access === ACCESS_WRITE ? ACCESS_BIT.write : access === ACCESS_FETCH ? ACCESS_BIT.exec : ACCESS_BIT.read;
    // A page is backed only if the whole page lies in one mapping with the right (4 KiB granules).
    if (r === undefined || (r.access & right) === 0 || pageAddress + PAGE > r.ipa + r.size) return null;
    const pa = r.pa + (pageAddress - r.ipa);
    const n = Math.floor(pa / PAGE);
    if (access !== ACCESS_WRITE) return this.s.content.pages[n] ?? ZERO_PAGE;
    this.written.add(n);
    return writableBytes(this.s.content.pages, n, PAGE);
  }

  refused(_a: RefusedAccess): "exit" {
    // Every stage-2 miss leaves the guest: the exec handler resolves it as Gunyah's fault path does.
    return "exit";
  }

  trap(kind: TrapKind, _imm: number): "exit" | "architectural" {
    // HVC/SMC trap to EL2 (HCR_EL2.TSC), WFI/WFE too (TWI/TWE); BRK stays with the guest's EL1.
    return kind === "brk" ? "architectural" : "exit";
  }

  readSysreg(name: string, retired: number): bigint | undefined {
    switch (name) {
      case "cntvct_el0":
        return counterAt(this.s, this.nsAt(retired));
      case "icc_iar1_el1":
        this.clock(retired);
        return BigInt(acknowledge(this.s, this.t));
      default:
        return undefined;
    }
  }

  writeSysreg(name: string, value: bigint, retired: number): boolean {
    switch (name) {
      case "icc_eoir1_el1":
      case "icc_dir_el1":
        this.clock(retired);
        endOfInterrupt(this.s, this.t, Number(value & 0xffffffn));
        return true;
      case "cntv_ctl_el0":
      case "cntv_cval_el0":
      case "cntv_tval_el0":
        this.clock(retired);
        if (name === "cntv_ctl_el0") this.t.vtimer.ctl = Number(value & 3n) | (this.t.vtimer.ctl & 4);
        else if (name === "cntv_cval_el0") this.t.vtimer.cval = BigInt.asUintN(64, value);
        else this.t.vtimer.cval = BigInt.asUintN(64, counterAt(this.s, this.nsAt(retired)) + BigInt.asIntN(32, value));
        programTimer(this.s, this.t);
        return false;
      default:
        return false;
    }
  }

  /** The machine's clock follows the vCPU: room helpers that read `s.t` see this instruction's time. */
  private clock(retired: number): void {
    this.s.t = Math.max(this.s.t, this.nsAt(retired));
  }

  pendingPriority(retired: number): number {
    this.clock(retired);
    this.fireTimerIfDue();
    return highestPending(this.s, this.t)?.priority ?? -1;
  }

  /** The vCPU's own timer, when its compare value has passed: PPI 27 rises at this instruction. */
  private fireTimerIfDue(): void {
    const v = this.t.vtimer;
    if (v.dueNs >= 0 && v.dueNs <= this.s.t) programTimer(this.s, this.t);
  }

  counter(retired: number): bigint {
    return counterAt(this.s, this.nsAt(retired));
  }

  quietFor(retired: number): number {
    const due = this.t.vtimer.dueNs;
    if (due < 0) return Infinity;
    return Math.max(0, due - this.nsAt(retired));
  }

  exceptionTaken(): boolean {
    return false;
  }

  /** Labels the pages the guest wrote as its own data (the content room's leak checks follow writes). */
  finish(): void {
    for (const n of this.written) setLabel(this.s, n * PAGE, PAGE, `vm${this.t.vm}`);
  }
}
