/**
 * What the host and guest programs of a scenario file share while it runs: per VM, the host's
 * handle on it, how many times it was started, and the parcels passed between host and guest.
 * Driver-side bookkeeping only (the machine state stays the truth: waits read it).
 */
import type { Prng } from "../prng.ts";
import type { GivenParcel, HostVm } from "../lib/host.ts";
import type { VmPlan } from "../lib/vm-plan.ts";
import type { GuestStep, VmSpec } from "./scenario-schema.ts";

export interface VmRuntime {
  readonly spec: VmSpec;
  readonly plan: VmPlan;
  readonly host: HostVm;
  /** The guest image crosvm loads at each `create`, when the VM runs code instead of `guest:` steps. */
  readonly image: Uint8Array | undefined;
  /** Successful STARTs so far: boot n of the guest runs while generation is n. */
  generation: number;
  /** Parcels the host gave and the guest has not accepted yet (oldest first). */
  readonly inbox: GivenParcel[];
  /** Parcels the guest accepted and still holds, with where the RM mapped them. */
  readonly accepted: { readonly parcel: GivenParcel; readonly ipa: number }[];
  /** Handles the guest released, for the host's reclaim to wait on. */
  readonly released: number[];
  /** Parcels the host gave and has not reclaimed. */
  readonly given: GivenParcel[];
  rpcSeq: number;
}

/** Host memory for parcels: fixed slots, so reclaimed memory is reused. */
export interface ParcelPool {
  readonly slotBytes: number;
  readonly free: number[];
}

export interface Streams {
  readonly data: Prng;
  readonly device: Prng;
  readonly irq: Prng;
}

export function newRuntime(spec: VmSpec, plan: VmPlan, image?: Uint8Array): VmRuntime {
  return { spec, plan, host: { fd: 0, vmid: 0 }, image, generation: 0, inbox: [], accepted: [], released: [], given: [], rpcSeq: 0 };
}

/** RPC sequence numbers are 16-bit and never 0 on our side. */
export function nextRpcSeq(holder: { rpcSeq: number }): number {
  holder.rpcSeq = (holder.rpcSeq % 0xffff) + 1;
  return holder.rpcSeq;
}

export type { GuestStep };
