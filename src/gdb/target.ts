import type { CpuState } from "../cpu/index.ts";

/**
 * What the gdb server debugs: a history of AArch64 processors that can be read at the current
 * position and moved through forward and backward (rr's ReplayTimeline, in the server's terms).
 * The standalone CPU (`hvsim cpu gdb`, src/gdb/cpu/) and a recorded trace (`hvsim gdb TRACE`)
 * implement it; the server (src/gdb/server.ts) never knows which.
 *
 * Everything here is read-only: a recorded history cannot be written, so the server refuses
 * register and memory writes before they reach the target.
 */
export interface GdbTarget {
  /** One line naming what is debugged, for the server's log and `monitor info`. */
  readonly description: string;

  /** The threads gdb sees (one per vCPU), in a stable order; ids are positive and fixed for the session. */
  threads(): readonly GdbThread[];

  /**
   * The processor state of `thread` at the current position, or null when the vCPU has none there
   * (not yet powered on): its registers then read as unavailable.
   */
  cpu(thread: number): CpuState | null;

  /**
   * `length` bytes from `address` as `thread` sees memory at the current position, as consecutive
   * spans that cover the request in order: bytes where memory is mapped, "unmapped" where it is not.
   */
  readMemory(thread: number, address: bigint, length: number): readonly MemorySpan[];

  /**
   * Moves through history and resolves at the next stop. A step moves `thread` by one instruction
   * (other vCPUs move as they did in the history between its instructions). The target polls
   * `control.interrupted()` at least every few tens of milliseconds of work and stops with
   * "interrupted" when it returns true.
   */
  resume(request: ResumeRequest, control: ResumeControl): Promise<Stop>;

  /**
   * `monitor COMMAND` (qRcmd): hvsim's own commands, with the thread gdb has selected (Hg); the
   * text is shown on gdb's console.
   */
  monitor(command: string, thread: number, control: ResumeControl): Promise<MonitorReply>;

  /** Back to the start of history (gdb's `kill`, before the next session). */
  rewind(): void;
}

export interface GdbThread {
  readonly id: number;
  /** Shown by `info threads` (qThreadExtraInfo), e.g. "vCPU 0 (EL1h)". */
  readonly name: string;
}

export type MemorySpan =
  | { readonly kind: "bytes"; readonly bytes: Uint8Array }
  | { readonly kind: "unmapped"; readonly length: number };

export type WatchKind = "write" | "read" | "access";

/** A software breakpoint (Z0) or hardware breakpoint (Z1): both stop before the instruction at `address` runs. */
export interface Breakpoint {
  readonly address: bigint;
}

/** A watchpoint (Z2 write, Z3 read, Z4 access) over `length` bytes from `address`. */
export interface Watchpoint {
  readonly kind: WatchKind;
  readonly address: bigint;
  readonly length: number;
}

export interface ResumeRequest {
  readonly direction: "forward" | "reverse";
  /** "step": one instruction of `thread`; "continue": until a breakpoint, a watchpoint or an end of history. */
  readonly action: "step" | "continue";
  readonly thread: number;
  /** Evaluated by the target as it executes (memory is never patched); a breakpoint where a continue starts does not stop it. */
  readonly breakpoints: readonly Breakpoint[];
  readonly watchpoints: readonly Watchpoint[];
}

export interface ResumeControl {
  interrupted(): boolean;
}

/**
 * Why the target stopped, in the terms gdb's stop replies carry.
 *
 * Watchpoints follow AArch64's rule (gdb's `have_nonsteppable_watchpoint`): the stop is reported
 * before the access takes effect in the direction of travel, and gdb steps over the instruction
 * itself with the watchpoints removed. Going forward that is the position before the accessing
 * instruction; going backward, the position after it.
 */
export type StopReason =
  /** A step finished. */
  | { readonly kind: "step" }
  | { readonly kind: "breakpoint"; readonly address: bigint }
  /** `address`: the watched byte the access touched (inside the watchpoint's range). */
  | { readonly kind: "watchpoint"; readonly watch: WatchKind; readonly address: bigint }
  /** Backward execution reached the start of history (gdb: "No more reverse-execution history"). */
  | { readonly kind: "history-start" }
  /** Forward execution reached the end of history (the end of a trace; a program that cannot go on). */
  | { readonly kind: "history-end" }
  | { readonly kind: "interrupted" }
  /** The guest stopped in a way gdb shows as a signal (GDB's numbering: 4 ILL, 5 TRAP, 10 BUS, 11 SEGV). */
  | { readonly kind: "signal"; readonly signal: number };

export interface Stop {
  readonly thread: number;
  readonly reason: StopReason;
  /** A line for gdb's console (sent as `O` output before the stop reply): what happened, in hvsim's words. */
  readonly message?: string;
}

export interface MonitorReply {
  readonly output: string;
  /** True when the command moved the current position (gdb's register cache is then stale). */
  readonly moved?: boolean;
}
