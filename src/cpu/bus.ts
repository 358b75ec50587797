/**
 * What the CPU needs from the machine around it. The CPU imports nothing from the hypervisor model:
 * the model (or the flat RAM of `hvsim cpu run`, or a test) implements this interface, so the CPU is
 * tested and measured alone.
 */

export const ACCESS_READ = 0;
export const ACCESS_WRITE = 1;
export const ACCESS_FETCH = 2;
export type AccessKind = typeof ACCESS_READ | typeof ACCESS_WRITE | typeof ACCESS_FETCH;

/** An access to an address that `CpuBus.page` did not back with RAM. */
export interface RefusedAccess {
  /** The faulting address (the byte that was refused), 64 bits. */
  readonly address: bigint;
  readonly sizeBytes: number;
  readonly access: AccessKind;
  /** The value a store would have written (zero-extended), 0n for loads and fetches. */
  readonly value: bigint;
  /**
   * The data-abort syndrome the instruction would report (ISS, Arm ARM D17.2.40 ESR_ELx for EC 0x24):
   * ISV (bit 24) says whether SAS/SSE/SRT/SF/AR describe a single register access that a hypervisor
   * can emulate; WnR (bit 6) is set for stores.
   */
  readonly iss: number;
  /** Address of the instruction. */
  readonly pc: number;
}

/** What happens to a refused access: the run stops for the caller ("exit"), or an abort is taken at EL1. */
export type RefusedAction = "exit" | "abort";

/** Instructions that trap out of EL1 when the machine wants them to, or behave architecturally. */
export type TrapKind = "hvc" | "smc" | "brk" | "wfi" | "wfe";

export interface CpuBus {
  /**
   * The 4096-byte RAM page at page-aligned address `pageAddress` for an access of this kind, or null
   * when the address is not RAM this access may reach. A page returned for a write is written in
   * place, so a caller that shares pages between states returns a private copy (copy-on-write).
   * Within one run the answer for a page must not change: the CPU remembers it.
   */
  page(pageAddress: number, access: AccessKind): Uint8Array | null;
  /** A refused access: stop the run there, or take a synchronous external abort at EL1. */
  refused(a: RefusedAccess): RefusedAction;
  /**
   * HVC, SMC, BRK, WFI and WFE: "exit" stops the run at the instruction (HVC and SMC retired, with
   * the PC after them; BRK not retired, PC at it; WFI/WFE retired), "architectural" does what the
   * architecture does with no higher exception level: HVC and SMC are UNDEFINED, BRK takes a
   * Breakpoint exception, WFI and WFE complete at once.
   */
  trap(kind: TrapKind, imm: number): "exit" | "architectural";
  /** A system register the machine implements (GIC CPU interface, timer), or undefined to let the CPU keep it. */
  readSysreg(name: string, retired: number): bigint | undefined;
  /** A write to such a register: true when the machine took it. */
  writeSysreg(name: string, value: bigint, retired: number): boolean;
  /**
   * The priority (0..255, lower is more urgent) of the most urgent interrupt pending for this PE at
   * this point of the run, or -1 for none. The CPU applies its GIC CPU interface to it (ICC_IGRPEN1
   * enables group 1, ICC_PMR masks priorities at or below the mask) and then PSTATE.I.
   */
  pendingPriority(retired: number): number;
  /** CNTVCT_EL0 after `retired` instructions. */
  counter(retired: number): bigint;
  /** Instructions after `retired` before the IRQ line may rise on its own (a timer), or Infinity. */
  quietFor(retired: number): number;
  /**
   * Called after an exception is taken to EL1 (ec is -1 for an IRQ), with VBAR_EL1; true stops the
   * run there (e.g. a bare program that installed no vectors).
   */
  exceptionTaken(ec: number, vbar: bigint): boolean;
}
