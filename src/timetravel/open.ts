import { hvModel, type Machine, type MachineConfig } from "../model/machine.ts";
import type { EventBase } from "../core/event.ts";
import type { Model } from "../core/reducer.ts";
import type { TraceReader } from "../trace/reader.ts";
import { Seeker, type AnyModel, type SeekerOptions } from "./seeker.ts";
import { memoryStore, traceStore } from "./store.ts";

/** The model a time-travel tool runs: this build's by default; tests pass a modified one. */
export type MachineModel = Model<Machine, never, MachineConfig>;

const asAny = (m: MachineModel): AnyModel<Machine> => m as unknown as AnyModel<Machine>;

/** A seeker over a trace file (or in-memory trace bytes opened as a reader). */
export function seekerForTrace(reader: TraceReader, options: SeekerOptions = {}, model: MachineModel = hvModel as MachineModel): Seeker<Machine> {
  const genesis = model.genesis(reader.header.config as MachineConfig);
  return new Seeker(asAny(model), genesis, traceStore(reader), options);
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
