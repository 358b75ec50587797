/**
 * The protected-VM room (issue #6): one entry point for machine.ts — its state slice and genesis
 * (the bootloader's work: DICE handover for pvmfw, sealed rollback store), its event kinds and
 * handlers, and the isolation invariants (registered first so a report names the isolation
 * property that broke).
 */
import type { Room } from "../../core/reducer.ts";
import type { EventBase, Outcome } from "../../core/event.ts";
import type { Invariant } from "../../core/invariants.ts";
import { pvmfwGenesis, type ProtectedPlatformConfig } from "../pvmfw/boot.ts";
import type { PvmState } from "./state.ts";
import { onHostRead, onPvmfwBoot, onPvmLoadImage, onPvTime } from "./handlers.ts";
import type { Machine } from "../machine.ts";
import { protectedInvariants } from "./invariants.ts";

export type { ProtectedEvent } from "./events.ts";
export { PROTECTED_KINDS } from "./events.ts";
export type { ProtectedPlatformConfig } from "../pvmfw/boot.ts";

export interface ProtectedRoomState {
  pvm: PvmState;
}

export function protectedGenesis(config: { readonly protected?: ProtectedPlatformConfig }): ProtectedRoomState {
  return {
    pvm: {
      platform: config.protected === undefined ? null : pvmfwGenesis(config.protected),
      firmware: null,
      milestone: false,
      vms: { ids: [], byId: {} },
      hostRead: null,
      iotlb: [],
      lastDma: null,
      lastIrqfd: null,
    },
  };
}

export function protectedRoom<S extends ProtectedRoomState, E extends EventBase>(): Room<S, E> {
  const h = <T>(f: (s: Machine, ev: T) => Outcome) => f as unknown as (s: S, ev: never) => Outcome;
  return {
    name: "protected",
    subscribes: { pvm_load_image: h(onPvmLoadImage), pvmfw_boot: h(onPvmfwBoot), host_read: h(onHostRead), pv_time: h(onPvTime) } as unknown as Room<S, E>["subscribes"],
    invariants: protectedInvariants as unknown as readonly Invariant<S>[],
  };
}
