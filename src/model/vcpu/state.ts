import type { CpuState } from "../../cpu/index.ts";
import type { ThreadState } from "../abi/constants.ts";
import type { ObjectHeader } from "../object/state.ts";
import type { IrqState, VirqBinding } from "../vgic/state.ts";

/**
 * vCPUs (threads of vCPU kind) and the FPRR scheduler (reference §6; GH:hyp/vm/vcpu,
 * GH:hyp/core/scheduler_fprr, GH:hyp/vm/vcpu_run).
 */

/** A forwarded MMIO access waiting for the proxy VMM (reference §5.4 step 2). */
export interface VmmioPending {
  ipa: number;
  sizeBytes: number;
  write: boolean;
  value: bigint;
  /** The data-abort syndrome (ESR ISS): destination register, size and extension of a read. */
  iss: number;
  /** Has a vcpu_run already returned this exit to the proxy? */
  reported: boolean;
  /** A translation fault in a demand-paged range: reported as PAGE_FAULT, resumed by re-executing it (issue 17). */
  demand?: boolean;
}

/**
 * Run/stolen/idle time in integer ns since activation (reference §6.6, GH:hyp/vm/arm_pv_time):
 * "run" while it executes; "idle" while it is in a block it put itself into (WFI, PSCI suspend,
 * powered off, a VMMIO access, a fault; before its first start) or inside its own directed yield;
 * "stolen" otherwise, i.e. whenever it could be running but is not, including a proxy-scheduled
 * vCPU waiting for its host's next vcpu_run (arm_pv_time.c:123-183). `since` is when the current
 * status began; it is accrued on each status change.
 */
export interface Accounting {
  activatedAt: number;
  since: number;
  status: "run" | "stolen" | "idle";
  runNs: number;
  stolenNs: number;
  idleNs: number;
}

/** The virtual arch timer (CNTV_CVAL_EL0 / CNTV_CTL_EL0) and when, in ns, it fires. */
export interface VirtualTimer {
  cval: bigint;
  ctl: number;
  /** Virtual time at which CNTVCT reaches cval; -1 when disarmed (disabled or masked). */
  dueNs: number;
}

export interface ThreadObject extends ObjectHeader {
  readonly type: "thread";
  // Attachments (0 = none).
  cspace: number;
  addrspace: number;
  vic: number;
  vicIndex: number;
  vpm: number;
  vpmIndex: number;
  options: bigint;
  priority: number;
  timesliceNs: number;
  /**
   * What is left of its timeslice (scheduler_active_timeslice): a thread preempted by a higher
   * priority one keeps it; an expired slice, or a thread that blocked and woke, starts full again
   * (GH:hyp/core/scheduler_fprr/src/scheduler_fprr.c:101-120, 747-791).
   */
  sliceLeftNs: number;
  /** Physical CPU index, or CPU_INDEX_INVALID (never runs). */
  affinity: number;
  threadState: ThreadState;
  /** VMID and vCPU index once active (how events name it). */
  vm: number;
  index: number;
  power: "OFF" | "ON";
  everPoweredOn: boolean;
  /** Block reasons (GH:hyp/vm/vcpu/vcpu.tc): WFI, PSCI suspend, fault, a pending VMMIO access. */
  wfi: boolean;
  /** PSCI CPU_SUSPEND power_state + 1, or 0 when not suspended. */
  suspend: number;
  fault: boolean;
  /**
   * vcpu_halted raised its halt VIRQ (a forced power-off, a fault): what the RM's vCPU-halt handler
   * answers (GH:hyp/vm/vcpu/aarch64/src/aarch64_init.c:516-531).
   */
  halted: boolean;
  /**
   * A power-down PSCI CPU_SUSPEND: where the vCPU warm-resets when it wakes (entry point and X0),
   * GH:hyp/vm/psci/src/psci_common.c:337-344 and aarch64_init.c:496-511; null otherwise.
   */
  warmReset: { pc: bigint; context: bigint } | null;
  vmmio: VmmioPending | null;
  /** vcpu_run_scheduled: runs only inside a proxy's vcpu_run. */
  proxy: boolean;
  /** A proxy's vcpu_run let it run; cleared when it blocks or the proxy's slice ends. */
  entered: boolean;
  /** The state the last vcpu_run returned (its resume data applies to the next call). */
  lastRunState: number;
  /** PSCI SYSTEM_RESET(2) requested: reported once by vcpu_run as PSCI_SYSTEM_RESET. */
  reset: { type: bigint; cookie: bigint } | null;
  /** The AArch64 register context: the CPU's own state (src/cpu), also for scripted guests. */
  cpu: CpuState;
  vtimer: VirtualTimer;
  /** Redistributor state and the private IRQs (SGI/PPI 0-31), touched ones only. */
  gicr: { waker: number; irqs: Record<number, IrqState> };
  haltVirq: VirqBinding | null;
  wakeupVirq: VirqBinding | null;
  acct: Accounting;
  /** prng_get_entropy rate-limit window. */
  prng: { windowStart: number; calls: number };
}

export interface VpmGroupObject extends ObjectHeader {
  readonly type: "vpm_group";
  /** vpm_group_option_flags: bit0 no_aggregation (GH:hyp/interfaces/vpm/vpm.tc). */
  flags: number;
  /** Activated member threads by PSCI index (psci_cpus; 0 = empty). */
  vcpus: number[];
  /** psci_online_count: members powered on (GH:hyp/vm/psci/src/psci_common.c:1222-1275). */
  online: number;
  virq: VirqBinding | null;
}

/** Per physical CPU: the FPRR current thread, the FIFO of ready ones, the slice end and a directed yield. */
export interface CpuSched {
  current: number;
  ready: number[];
  sliceEndNs: number;
  /** The thread the current one directed-yields to (vcpu_run), 0 if none. */
  yieldTo: number;
}

export interface SchedState {
  cpus: CpuSched[];
  /** Set by handlers that change runnability; the machine reschedules once per event. */
  dirty: boolean;
  /** Active threads, in activation order (what the scheduler and the timers walk). */
  threads: number[];
}

/** VMID → its addrspace and its vCPUs by index (thread ids; 0 = none). */
export interface VmEntry {
  addrspace: number;
  vcpus: number[];
}
