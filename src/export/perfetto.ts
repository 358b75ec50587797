import type { EventBase, Outcome } from "../core/event.ts";
import { formatHypercall } from "../model/abi/hypercalls.ts";
import { disassemble } from "../cpu/index.ts";
import { toJsonValue } from "../core/json.ts";
import { eventPlace, ownedBytes, physicalCpus, vcpuRuns, type VcpuRun } from "./timeline.ts";

/**
 * Chrome JSON trace event format, as Perfetto (ui.perfetto.dev) and chrome://tracing load it:
 * `{"traceEvents": [...]}` with "M" metadata naming processes and threads, "X" complete slices
 * (ts + dur), "i" instants and "C" counters; `ts` in microseconds (virtual ns / 1000, fractional).
 *
 * Layout: pid 1 "hypervisor" with one thread per physical CPU (tid = cpu + 1; slices name the vCPU
 * running there) and tid 0 for machine-wide events; one process per VM (pid 1000 + vmid) with one
 * thread per vCPU (tid = vcpu + 1; run-state slices, and the vCPU's own events as instants) and
 * tid 0 for VM-wide events; counters of owned memory on pid 1, and of each vCPU's stolen time
 * (Gunyah's accounting, GH:hyp/vm/arm_pv_time) on its VM's process ("vCPU N stolen ns").
 */
export interface ChromeEvent {
  readonly name: string;
  readonly ph: "X" | "i" | "C" | "M";
  readonly pid: number;
  readonly tid: number;
  readonly ts?: number;
  readonly dur?: number;
  readonly cat?: string;
  readonly s?: "t" | "p" | "g";
  readonly args?: Record<string, unknown>;
}

export const HYP_PID = 1;
export const vmPid = (vm: number): number => 1000 + vm;
const us = (ns: number): number => ns / 1000;

/**
 * The name of an event's instant: the hypercall's Gunyah name; for guest code, the exit and the PC
 * of the instruction it stopped at (`guest exit stage2_fault @0x80001160`); else the kind.
 */
export function instantName(ev: EventBase, outcome?: Outcome): string {
  const call = (ev as unknown as { call?: unknown }).call;
  if (ev.kind === "hypercall" && typeof call === "number") return formatHypercall(call);
  if (ev.kind === "vcpu_exec" && outcome !== undefined && typeof outcome.pc === "number") {
    const exit = (outcome.exit as { kind?: string } | undefined)?.kind ?? "exit";
    return `guest exit ${exit} @0x${outcome.pc.toString(16)}`;
  }
  return ev.kind;
}

/** What the args of a guest exit add: the PC in hex and the instruction there, as the log shows it. */
function guestArgs(ev: EventBase, outcome: Outcome): Record<string, unknown> {
  if (ev.kind !== "vcpu_exec" || typeof outcome.pc !== "number") return {};
  const insn = typeof outcome.insn === "number" ? disassemble(outcome.insn, outcome.pc).replace("\t", " ") : null;
  return { pc: `0x${outcome.pc.toString(16)}`, ...(insn === null ? {} : { insn }) };
}

interface OpenSlice {
  readonly name: string;
  readonly start: number;
}

/**
 * Builds the events incrementally while a replay walks the trace: `event` after each applied event
 * with the state then, `finish` at the end. Emits through `out` in an order where every track's
 * slices are in start order (a slice is emitted when it closes, and slices on one track never
 * overlap).
 */
export class PerfettoBuilder {
  private readonly named = new Set<string>();
  private readonly open = new Map<string, OpenSlice>();
  private lastCounters = "";
  private readonly lastStolen = new Map<string, number>();
  private lastT = 0;

  /** `onlyVm`: draw only that VM's vCPU tracks (and the physical CPUs while they run it). */
  constructor(
    private readonly out: (e: ChromeEvent) => void,
    private readonly onlyVm?: number,
  ) {
    this.out({ name: "process_name", ph: "M", pid: HYP_PID, tid: 0, args: { name: "hypervisor" } });
    this.thread(HYP_PID, 0, "machine events");
  }

  /** Names the physical CPU tracks (from the genesis state). */
  start(state: unknown): void {
    for (let cpu = 0; cpu < physicalCpus(state); cpu++) this.thread(HYP_PID, cpu + 1, `pCPU ${cpu}`);
  }

  /** After each applied event; `show` false keeps the state's tracks going without the event's instant (outside a `--vm` window). */
  event(ev: EventBase, outcome: Outcome, state: unknown, show = true): void {
    this.lastT = ev.t;
    if (show) {
      const place = eventPlace(ev);
      const [pid, tid] = this.trackOf(place.vm, place.vcpu, place.cpu);
      const { seq, t: _t, kind, ...fields } = ev as EventBase & Record<string, unknown>;
      this.out({ name: instantName(ev, outcome), ph: "i", s: "t", cat: kind, pid, tid, ts: us(ev.t), args: { seq, ...(toJsonValue({ ...fields, outcome }) as Record<string, unknown>), ...guestArgs(ev, outcome) } });
    }
    for (const run of vcpuRuns(state)) if (this.onlyVm === undefined || run.vm === this.onlyVm) this.runState(run, ev.t);
    this.counters(state, ev.t);
  }

  /** Closes every open slice at the last event's time. */
  finish(): void {
    for (const key of [...this.open.keys()]) this.close(key, this.lastT);
  }

  private trackOf(vm: number | null, vcpu: number | null, cpu: number | null): [number, number] {
    if (vm !== null) {
      this.process(vm);
      if (vcpu !== null) this.thread(vmPid(vm), vcpu + 1, `vCPU ${vcpu}`);
      else this.thread(vmPid(vm), 0, "VM events");
      return [vmPid(vm), vcpu === null ? 0 : vcpu + 1];
    }
    if (cpu !== null) {
      this.thread(HYP_PID, cpu + 1, `pCPU ${cpu}`);
      return [HYP_PID, cpu + 1];
    }
    return [HYP_PID, 0];
  }

  private runState(run: VcpuRun, t: number): void {
    this.process(run.vm);
    this.thread(vmPid(run.vm), run.vcpu + 1, `vCPU ${run.vcpu}`);
    this.slice(`${vmPid(run.vm)}:${run.vcpu + 1}`, run.state === "off" ? null : run.state, t);
    this.stolen(run, t);
    // A physical CPU track shows which vCPU runs there: keyed by CPU, so its slices never overlap.
    const here = run.cpu === null ? null : `${HYP_PID}:${run.cpu + 1}`;
    this.closeRunningElsewhere(run, here, t);
    if (run.cpu === null || here === null) return;
    this.thread(HYP_PID, run.cpu + 1, `pCPU ${run.cpu}`);
    this.slice(here, `vm${run.vm}/vcpu${run.vcpu}`, t);
  }

  /** A vCPU that stopped running, or moved, ends its slice on the physical CPUs it left. */
  private closeRunningElsewhere(run: VcpuRun, except: string | null, t: number): void {
    const name = `vm${run.vm}/vcpu${run.vcpu}`;
    for (const [key, s] of [...this.open]) if (key !== except && key.startsWith(`${HYP_PID}:`) && s.name === name) this.close(key, t);
  }

  /** Keeps one open slice per track: a new name closes the old slice and opens another (null: none). */
  private slice(key: string, name: string | null, t: number): void {
    const cur = this.open.get(key);
    if (cur !== undefined && cur.name === name) return;
    if (cur !== undefined) this.close(key, t);
    if (name !== null) this.open.set(key, { name, start: t });
  }

  private close(key: string, t: number): void {
    const s = this.open.get(key)!;
    this.open.delete(key);
    const [pid, tid] = key.split(":").map(Number) as [number, number];
    this.out({ name: s.name, ph: "X", cat: pid === HYP_PID ? "pcpu" : "vcpu", pid, tid, ts: us(s.start), dur: us(t - s.start) });
  }

  /** The vCPU's stolen-time counter, emitted when it changed (it grows only while the vCPU is held back). */
  private stolen(run: VcpuRun, t: number): void {
    if (run.stolenNs === null) return;
    const key = `${run.vm}:${run.vcpu}`;
    const last = this.lastStolen.get(key);
    if (last === run.stolenNs || (last === undefined && run.stolenNs === 0)) return;
    this.lastStolen.set(key, run.stolenNs);
    this.out({ name: `vCPU ${run.vcpu} stolen ns`, ph: "C", pid: vmPid(run.vm), tid: 0, ts: us(t), args: { stolen_ns: run.stolenNs } });
  }

  private counters(state: unknown, t: number): void {
    const owned = ownedBytes(state);
    const key = JSON.stringify(owned);
    if (key === this.lastCounters || key === "{}") return;
    this.lastCounters = key;
    this.out({ name: "owned bytes", ph: "C", pid: HYP_PID, tid: 0, ts: us(t), args: owned });
  }

  private process(vm: number): void {
    const key = `p${vm}`;
    if (this.named.has(key)) return;
    this.named.add(key);
    this.out({ name: "process_name", ph: "M", pid: vmPid(vm), tid: 0, args: { name: vm === 255 ? "VM 255 (RM)" : `VM ${vm}` } });
  }

  private thread(pid: number, tid: number, name: string): void {
    const key = `t${pid}:${tid}`;
    if (this.named.has(key)) return;
    this.named.add(key);
    this.out({ name: "thread_name", ph: "M", pid, tid, args: { name } });
  }
}
