import { advanceEnvelope, buildDispatch, frozen, type CoreState, type Model, type Room } from "../core/reducer.ts";
import { registerInvariants } from "../core/invariants.ts";
import type { Outcome } from "../core/event.ts";
import { die } from "../core/errors.ts";
import { EVENT_KINDS, type HypEvent } from "./events.ts";
import { buildHypercallTable, makeOnHypercall } from "./hyp/dispatch.ts";
import { identifyHypercalls } from "./hyp/identify.ts";
import { makeOnTimerTick } from "./time/handlers.ts";

/** The version of the model's behaviour. Bump it when an outcome for the same event changes. */
export const MODEL_VERSION = "hvsim-model/0.1.0";

/** The physical platform, modelled on Gunyah's QEMU platform (GH:config/platform/qemu.conf). */
export interface PlatformConfig {
  readonly name: string;
  /** Physical CPUs (PLATFORM_MAX_CORES on QEMU is 8). */
  readonly cpus: number;
  /** Arch timer frequency: 62.5 MHz on QEMU. */
  readonly timerFreqHz: number;
  /** RAM ranges, byte addresses, 4 KiB aligned. */
  readonly ram: readonly { readonly base: number; readonly size: number }[];
}

/** What `genesis` builds the first state from; stored in every trace header. */
export interface MachineConfig {
  readonly platform: PlatformConfig;
}

/**
 * The whole machine: plain, serialisable data (objects, arrays, strings, integers, bigints).
 * Each room owns one slice; rooms reach other rooms' slices only through those rooms' helpers.
 */
export interface Machine extends CoreState {
  readonly config: MachineConfig;
  /** Per hypercall name, how often it was called (handy for `info`, and a cheap witness). */
  hypercallCounts: Record<string, number>;
}

export const DEFAULT_PLATFORM: PlatformConfig = {
  name: "qemu-virt",
  cpus: 4,
  timerFreqHz: 62_500_000,
  ram: [{ base: 0x8000_0000, size: 0x4000_0000 }],
};

export function genesis(config: MachineConfig): Machine {
  return frozen({
    seq: -1,
    t: 0,
    config,
    hypercallCounts: {},
  });
}

const hypercallTable = buildHypercallTable([identifyHypercalls]);
const onHypercall = makeOnHypercall(hypercallTable);

const rooms: readonly Room<Machine, HypEvent>[] = [
  {
    name: "hyp",
    subscribes: {
      hypercall: (s, ev) => {
        const outcome = onHypercall(s, ev);
        countHypercall(s, ev.call);
        return outcome;
      },
    },
  },
  { name: "time", subscribes: { timer_tick: makeOnTimerTick([]) } },
];

function countHypercall(s: Machine, call: number): void {
  const key = `0x${call.toString(16).padStart(2, "0")}`;
  s.hypercallCounts[key] = (s.hypercallCounts[key] ?? 0) + 1;
}

const dispatch = buildDispatch(rooms);
for (const kind of EVENT_KINDS) if (!dispatch.has(kind)) throw new Error(`event kind '${kind}' has no handler`);

/** The one recipe: the envelope rule, then the owning room's handler. */
export function apply(draft: Machine, ev: HypEvent): Outcome {
  const entry = dispatch.get(ev.kind);
  if (entry === undefined) die("TRACE_EVENT_INVALID", `event ${ev.seq} has unknown kind '${ev.kind}'`, { seq: ev.seq, kind: ev.kind });
  advanceEnvelope(draft, ev);
  return entry.handler(draft, ev);
}

export const hvModel: Model<Machine, HypEvent, MachineConfig> = {
  version: MODEL_VERSION,
  genesis,
  apply,
  invariants: registerInvariants(rooms.map((r) => r.invariants ?? [])),
  kinds: EVENT_KINDS,
};
