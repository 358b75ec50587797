import type { MachineConfig, Machine } from "../model/machine.ts";
import type { HypEvent } from "../model/events.ts";
import type { Outcome } from "../core/event.ts";
import type { Prng } from "./prng.ts";

/** An event as the driver proposes it: the recorder gives it its index. */
export type Proposal = HypEvent extends infer E ? (E extends HypEvent ? Omit<E, "seq"> : never) : never;

/**
 * A driver turns a scenario into events, one at a time, looking at the current state and at the
 * outcome of the event before. All its randomness comes from the named streams it is given.
 */
export interface Driver {
  /** The next event, or null when the scenario has nothing more to do. */
  next(state: Machine): Proposal | null;
  /** What the reducer said about the last event (e.g. a vcpu_run exit the VMM must handle). */
  observe?(ev: HypEvent, outcome: Outcome, state: Machine): void;
  /**
   * Every proposal `next` returns is a new object the driver keeps no hold of: the recorder gives it
   * its `seq` in place instead of copying it first (one copy less per event).
   */
  readonly freshProposals?: boolean;
  /**
   * After `next` returned null: where the actors still waiting for something are (a host step that
   * waits for an exit no VM makes, a guest step waiting for memory never lent). Empty when every
   * actor finished: then the scenario is done, otherwise it stalls.
   */
  stalled?(state: Machine): readonly string[];
  /** Where the scenario is that proposed the last event (a file's line and step), for an event the model refuses. */
  where?(): string | null;
}

/** A scenario ready to run: what the machine is, and how to drive it from a seed. */
export interface Scenario {
  readonly name: string;
  readonly description: string;
  /** Hash of the scenario's source text (or built-in definition), stored in the trace header. */
  readonly hash: string;
  readonly config: MachineConfig;
  /** Default stop conditions; the CLI can tighten them. */
  readonly maxEvents: number;
  readonly untilNs?: number;
  /**
   * Names of the invariants this scenario's injected faults are expected to break. The time-travel
   * suites (test/timetravel-*.test.ts) bisect and minimise every built-in scenario that declares one.
   */
  readonly faults?: readonly string[];
  /** The scenario file it was compiled from (shipped under scenarios/, or named by the user). */
  readonly source?: string;
  makeDriver(stream: (name: string) => Prng): Driver;
}
