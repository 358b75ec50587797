import { advanceEnvelope, buildDispatch, frozen, type CoreState, type Model, type Room } from "../core/reducer.ts";
import { registerInvariants } from "../core/invariants.ts";
import type { Outcome } from "../core/event.ts";
import { die } from "../core/errors.ts";
import { EVENT_KINDS, type HypEvent } from "./events.ts";
import { vmRooms, vmRoomsBoot, vmRoomsGenesis, type VmRoomsState } from "./rm/room.ts";
import { hypEpilogue, hypGenesis, hypRooms, type HypState } from "./hyp/rooms.ts";
import { protectedGenesis, protectedRoom, type ProtectedPlatformConfig, type ProtectedRoomState } from "./protected/room.ts";

/** The version of the model's behaviour. Bump it when an outcome for the same event changes. */
export const MODEL_VERSION = "hvsim-model/0.3.0";

/** The physical platform, modelled on Gunyah's QEMU platform (GH:config/platform/qemu.conf). */
export interface PlatformConfig {
  readonly name: string;
  /** Physical CPUs (PLATFORM_MAX_CORES on QEMU is 8). */
  readonly cpus: number;
  /** Arch timer frequency: 62.5 MHz on QEMU. */
  readonly timerFreqHz: number;
  /** RAM ranges, byte addresses, 4 KiB aligned. */
  readonly ram: readonly { readonly base: number; readonly size: number }[];
  /** RAM kept by the hypervisor-private partition (its image and heap); default: the first 16 MiB. */
  readonly hypReserved?: { readonly base: number; readonly size: number };
  /** Hardware SPIs the root VM gets hwirq caps for; default: INTIDs 32..63. */
  readonly hwirqs?: { readonly first: number; readonly count: number };
}

/** Where the RM (root VM) image lives and starts (reference §4.6); default: the 16 MiB after hypReserved, IPA = PA. */
export interface RootVmConfig {
  readonly base: number;
  readonly size: number;
  readonly ipa: number;
  readonly entry: number;
  /** X0 at power-on: the IPA of the environment block. */
  readonly envIpa: number;
}

/** What `genesis` builds the first state from; stored in every trace header. */
export interface MachineConfig {
  readonly platform: PlatformConfig;
  readonly rootVm?: RootVmConfig;
  /**
   * The RM boots the HLOS (VMID 3: all free RAM, a vCPU per CPU, its RM channel; src/model/rm/hv.ts)
   * unless this is false: a bare RM, as hypervisor-level scenarios and tests use (they build VMs
   * from the root partition's free RAM themselves).
   */
  readonly hlos?: boolean;
  /** Named model defects switched on by the scenario (src/sim/faults.ts lists them); absent: none. */
  readonly faults?: readonly string[];
  /** Protected-VM support (issue #6): the UDS and the key built into pvmfw; absent: none. */
  readonly protected?: ProtectedPlatformConfig;
}

/**
 * The whole machine: plain, serialisable data (objects, arrays, strings, integers, bigints).
 * Each room owns one slice; rooms reach other rooms' slices only through those rooms' helpers.
 */
export interface Machine extends CoreState, VmRoomsState, HypState, ProtectedRoomState {
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
  const s = {
    seq: -1,
    t: 0,
    config,
    hypercallCounts: {},
    ...vmRoomsGenesis(config),
    ...protectedGenesis(config),
  } as Machine;
  hypGenesis(s, config);
  vmRoomsBoot(s, config);
  return frozen(s);
}

// The hypervisor's rooms (hypercalls, time, memory, vCPUs, vGIC) come from hyp/rooms.ts.
// The protected room comes first so its isolation invariants are checked (and reported) first.
const rooms: readonly Room<Machine, HypEvent>[] = [protectedRoom<Machine, HypEvent>(), ...hypRooms(), ...vmRooms<Machine, HypEvent>()];

const dispatch = buildDispatch(rooms);
for (const kind of EVENT_KINDS) if (!dispatch.has(kind)) throw new Error(`event kind '${kind}' has no handler`);

/** The one recipe: the envelope rule, then the owning room's handler. */
export function apply(draft: Machine, ev: HypEvent): Outcome {
  const entry = dispatch.get(ev.kind);
  if (entry === undefined) die("TRACE_EVENT_INVALID", `event ${ev.seq} has unknown kind '${ev.kind}'`, { seq: ev.seq, kind: ev.kind });
  advanceEnvelope(draft, ev);
  const outcome = entry.handler(draft, ev);
  hypEpilogue(draft);
  return outcome;
}

export const hvModel: Model<Machine, HypEvent, MachineConfig> = {
  version: MODEL_VERSION,
  genesis,
  apply,
  invariants: registerInvariants(rooms.map((r) => r.invariants ?? [])),
  kinds: EVENT_KINDS,
};
