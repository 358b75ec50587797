/**
 * Shrinking a failing swarm seed to the few events that matter (the time-travel room's ddmin,
 * src/timetravel/minimize.ts): the condition is the invariant the run broke. The result is a
 * plain event list the caller writes as a trace (`writeShrunkTrace`) and prints.
 */
import type { EventBase } from "../../core/event.ts";
import type { Invariant } from "../../core/invariants.ts";
import { hvModel, type Machine, type MachineConfig } from "../../model/machine.ts";
import { findInvariant, invariantCondition, type Condition } from "../../timetravel/condition.ts";
import { isHvsimError } from "../../core/errors.ts";
import { mutableCopy } from "../../core/reducer.ts";
import type { HypEvent } from "../../model/events.ts";
import { minimize, type MinimizeResult } from "../../timetravel/minimize.ts";
import type { AnyModel } from "../../timetravel/seeker.ts";
import { writeTraceFromEvents } from "../../trace/rewrite.ts";
import type { ByteSink } from "../../trace/source.ts";
import type { Scenario } from "../scenario.ts";

/** The shrunk run: its events re-indexed from 0, their indices in the failing run, the replays spent. */
export type Shrunk = Omit<MinimizeResult, "firstFailure">;

export const SHRINK_BUDGET = 3_000;

export function shrinkViolation(config: MachineConfig, events: readonly EventBase[], invariant: string, invariants: readonly Invariant<Machine>[], budget = SHRINK_BUDGET): Shrunk | null {
  const cond = invariantCondition(findInvariant(invariants, invariant));
  const genesis = hvModel.genesis(config);
  const first = failsAt(genesis, events, cond);
  if (first < 0) return null;
  // `budget` bounds every replay of the shrink, this first one included.
  const groups = dropGroups(genesis, events.slice(0, first + 1).map((_, i) => i), events, cond, budget - 1);
  const spent = 1 + groups.replays;
  const units = dropUnits(genesis, groups.kept, events, cond, Math.min(Math.floor(budget / 2), budget - spent));
  const pre = { kept: units.kept, replays: spent + units.replays };
  const left = budget - pre.replays;
  const shrunkSoFar = (exhausted: boolean): Shrunk => ({ events: pre.kept.map((k, seq) => ({ ...events[k]!, seq })), kept: pre.kept, originalCount: events.length, replays: pre.replays, budgetExhausted: exhausted });
  if (left < 1) return shrunkSoFar(true);
  const r = minimize(hvModel as unknown as AnyModel<Machine>, genesis, pre.kept.map((i) => events[i]!), cond, { budget: left });
  if (r === null) return null;
  return { events: r.events, kept: r.kept.map((k) => pre.kept[k]!), originalCount: events.length, replays: pre.replays + r.replays, budgetExhausted: r.budgetExhausted };
}

/**
 * The events that only happen together: a guest's MMIO access forwarded to the VMM is the stage-2
 * fault, crosvm's VCPU_RUN that collects it, its bus, and the VCPU_RUN that resumes; removing one
 * of them alone leaves an impossible trace, so ddmin would spend most replays on such candidates.
 */
function unitsOf(kept: readonly number[], events: readonly EventBase[]): number[][] {
  const units: number[][] = [];
  let mmioVm: number | null = null;
  for (const i of kept) {
    const ev = events[i]! as EventBase & { vm?: number; op?: string; fd?: number };
    const follows = mmioVm !== null && ev.vm === mmioVm && (ev.kind === "vmm_mmio" || (ev.kind === "vmm_ioctl" && ev.op === "VCPU_RUN" && ev.fd === undefined));
    if (follows) units.at(-1)!.push(i);
    else units.push([i]);
    if (!follows) mmioVm = ev.kind === "stage2_fault" ? (ev.vm ?? null) : null;
  }
  return units;
}

/**
 * Removes units one at a time, latest first, keeping each removal that still fails (at most
 * `budget` replays). Going leftwards, the events before the unit tried are always the starting
 * list's own (a removal only changes what follows it), so each candidate starts from a checkpoint
 * of that prefix instead of from genesis: the same verdicts as a full replay, without replaying
 * the prefix every time (most of a shrink's cost before this).
 */
function dropUnits(genesis: Machine, start: readonly number[], events: readonly EventBase[], cond: Condition<Machine>, budget: number): { kept: number[]; replays: number } {
  let units = unitsOf(start, events);
  const prefix = prefixCheckpoints(genesis, start.map((i) => events[i]!));
  let replays = 0;
  for (let u = units.length - 2; u >= 0 && replays < budget; u--) {
    const before = units.slice(0, u).flat();
    const rest = units.slice(u + 1).flat();
    replays += 1;
    const at = prefix.failsAt(before.length, rest.map((i) => events[i]!), cond);
    if (at >= 0) units = unitsOf([...before, ...rest].slice(0, at + 1), events);
    if (u > units.length - 1) u = units.length - 1;
  }
  return { kept: units.flat(), replays };
}

/** Every CHECKPOINT_EVERY events of the prefix, a copy of the state before that event. */
const CHECKPOINT_EVERY = 16;

/**
 * Checkpoints of one event list's replay (`prefix`), and `failsAt(n, tail)`: where the condition
 * first holds when the list's first n events are followed by `tail` (re-indexed as `failsAt`
 * does), or -1. The first n events are known not to meet the condition (the list first fails at
 * its end), so only the tail is tested.
 */
function prefixCheckpoints(genesis: Machine, prefix: readonly EventBase[]): { failsAt: (n: number, tail: readonly EventBase[], cond: Condition<Machine>) => number } {
  const marks: Machine[] = [];
  const s = mutableCopy(genesis);
  for (let seq = 0; seq < prefix.length; seq++) {
    if (seq % CHECKPOINT_EVERY === 0) marks.push(mutableCopy(s));
    hvModel.apply(s, { ...prefix[seq]!, seq } as HypEvent);
  }
  return {
    failsAt(n, tail, cond) {
      const from = Math.floor(n / CHECKPOINT_EVERY);
      const t = mutableCopy(marks[from]!);
      for (let seq = from * CHECKPOINT_EVERY; seq < n; seq++) hvModel.apply(t, { ...prefix[seq]!, seq } as HypEvent);
      for (let j = 0; j < tail.length; j++) {
        try {
          hvModel.apply(t, { ...tail[j]!, seq: n + j } as HypEvent);
        } catch (e) {
          if (isHvsimError(e)) return -1;
          throw e;
        }
        if (cond.test(t)) return n + j;
      }
      return -1;
    },
  };
}

/**
 * Before ddmin: whole groups of events that a swarm failure rarely needs, removed at once when the
 * failure stays (every event of one kind, every event naming one VM). A world's unrelated VMs and
 * actors go in a few replays, where ddmin over their interleaved events would need hundreds.
 */
function dropGroups(genesis: Machine, start: readonly number[], events: readonly EventBase[], cond: Condition<Machine>, budget: number): { kept: number[]; replays: number } {
  let kept = [...start];
  let replays = 0;
  const groups = new Map<string, (ev: EventBase) => boolean>();
  for (const i of kept) {
    const ev = events[i]! as EventBase & { vm?: number };
    groups.set(`kind ${ev.kind}`, (e) => e.kind === ev.kind);
    if (typeof ev.vm === "number") groups.set(`vm ${ev.vm}`, (e) => (e as { vm?: number }).vm === ev.vm);
  }
  for (const inGroup of groups.values()) {
    if (replays >= budget) break;
    const without = kept.filter((i) => !inGroup(events[i]!));
    if (without.length === kept.length || without.length === 0) continue;
    replays += 1;
    const at = failsAt(genesis, without.map((i) => events[i]!), cond);
    if (at >= 0) kept = without.slice(0, at + 1);
  }
  return { kept, replays };
}

/** Replays `events` (re-indexed) on the fast path: the index where the condition first holds, or -1 (an impossible event: -1). */
function failsAt(genesis: Machine, events: readonly EventBase[], cond: Condition<Machine>): number {
  const s = mutableCopy(genesis);
  for (let seq = 0; seq < events.length; seq++) {
    try {
      hvModel.apply(s, { ...events[seq]!, seq } as HypEvent);
    } catch (e) {
      if (isHvsimError(e)) return -1;
      throw e;
    }
    if (cond.test(s)) return seq;
  }
  return -1;
}

/** Writes the shrunk events as a trace of the same scenario and seed. */
export function writeShrunkTrace(sink: ByteSink, scenario: Scenario, seed: number, shrunk: Shrunk, invariant: string): void {
  writeTraceFromEvents(
    sink,
    {
      modelVersion: hvModel.version,
      scenario: { name: scenario.name, hash: scenario.hash },
      seed,
      config: scenario.config,
      generator: `hvsim fuzz --swarm: shrunk from ${shrunk.originalCount} to ${shrunk.events.length} events (invariant ${invariant} breaks)`,
    },
    shrunk.events.map((ev) => ({ ev })),
  );
}
