import { hvModel, type Machine, type MachineConfig } from "../model/machine.ts";
import type { EventBase } from "../core/event.ts";
import type { Model } from "../core/reducer.ts";
import type { Damage, TraceReader } from "../trace/reader.ts";
import type { TraceHeader } from "../trace/format.ts";
import { Seeker, type AnyModel, type SeekerOptions } from "./seeker.ts";
import { memoryStore, outOfRange, traceStore, type EventStore, type StoreOptions } from "./store.ts";
import "./machine-paths.ts";

/** The model a time-travel tool runs: this build's by default; tests pass a modified one. */
export type MachineModel = Model<Machine, never, MachineConfig>;

const asAny = (m: MachineModel): AnyModel<Machine> => m as unknown as AnyModel<Machine>;

/**
 * A trace as every command sees it: the header, the whole events (random access), and where the
 * file is damaged, found when it is opened (a command that reads everything, or any command on a
 * file without a usable footer index) or when a block read through the footer index turns out
 * damaged (`found`). Commands work on the whole events and report the damage with `damageLine` or
 * `damageAt` (src/trace/damage.ts), so a damaged trace reads the same to every tool.
 */
export interface OpenedTrace {
  readonly name: string;
  readonly header: TraceHeader;
  readonly reader: TraceReader;
  /** The whole events (a damaged trace: those before the damage). */
  readonly store: EventStore;
  readonly count: number;
  readonly damage: Damage | null;
  /** Damage found later, in a record read on demand through the footer index (the store's `found`). */
  readonly found: Damage | null;
  /** A seek engine over the whole events, with this build's model unless another is given. */
  seeker(options?: SeekerOptions, model?: MachineModel): Seeker<Machine>;
  /** Fails with the one out-of-range message unless `-1 <= n < count`. */
  checkIndex(n: number): number;
  close(): void;
}

export function openTrace(reader: TraceReader, o: StoreOptions = {}): OpenedTrace {
  const store = traceStore(reader, o);
  return {
    name: reader.source.name,
    header: reader.header,
    reader,
    store,
    count: store.count,
    damage: store.damage,
    get found() {
      return store.found;
    },
    seeker: (options = {}, model = hvModel as MachineModel) => new Seeker(asAny(model), model.genesis(reader.header.config as MachineConfig), store, options),
    checkIndex(n) {
      if (!(Number.isInteger(n) && n >= -1 && n < store.count)) outOfRange(n, store.count, store.damage);
      return n;
    },
    close: () => reader.close(),
  };
}

/** A seeker over a trace file (or in-memory trace bytes opened as a reader). */
export function seekerForTrace(reader: TraceReader, options: SeekerOptions = {}, model: MachineModel = hvModel as MachineModel): Seeker<Machine> {
  return openTrace(reader).seeker(options, model);
}

/** A seeker over events in memory (minimise candidates, tests). Events must be densely indexed from 0. */
export function seekerForEvents(
  config: MachineConfig,
  events: readonly EventBase[],
  options: SeekerOptions = {},
  model: MachineModel = hvModel as MachineModel,
): Seeker<Machine> {
  return new Seeker(asAny(model), model.genesis(config), memoryStore(events), options);
}
