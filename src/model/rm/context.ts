/**
 * What an RM request handler works with: the machine slices it touches, the calling VM, and the
 * notifications it sends (collected into the event's outcome, in send order).
 */
import { type RmError, type RmMessageName, type VmStatus, VM_STATE_EDGES } from "../abi/rm.ts";
import type { ContentState } from "./content.ts";
import type { Machine } from "../machine.ts";
import type { RmState, RmVm, RmChannel } from "./state.ts";
import type { SmmuState } from "../smmu/state.ts";
import type { VmmState } from "../vmm/state.ts";
import type { VirtioState } from "../virtio/state.ts";
import { packetCount } from "./rpc.ts";

/** The slices the RM, VMM, virtio and SMMU rooms share; `Machine` extends this. */
export interface VmRoomsState {
  rm: RmState;
  content: ContentState;
  smmu: SmmuState;
  vmm: VmmState;
  virtio: VirtioState;
}

export interface RmNotification {
  readonly to: number;
  readonly msg: RmMessageName;
  readonly payload: Uint8Array;
}

export interface RmCtx {
  readonly s: Machine;
  readonly caller: number;
  readonly notes: RmNotification[];
}

export interface RmReply {
  readonly err: RmError;
  readonly data?: Uint8Array;
}
export const reply = (err: RmError, data?: Uint8Array): RmReply => (data === undefined ? { err } : { err, data });

export type RequestHandler = (ctx: RmCtx, payload: Uint8Array) => RmReply;

export function channel(s: VmRoomsState, vmid: number): RmChannel {
  return (s.rm.channels[vmid] ??= { requests: 0, packetsIn: 0, packetsOut: 0, notifications: 0 });
}

/** Sends a notification: one global counter for its seq (RM:src/rpc/rm-rpc.c), fragmented like any message. */
export function notify(ctx: RmCtx, to: number, msg: RmMessageName, payload: Uint8Array): void {
  const seq = ctx.s.rm.notifySeq;
  ctx.s.rm.notifySeq = (seq + 1) & 0xffff;
  const ch = channel(ctx.s, to);
  ch.notifications += 1;
  ch.packetsOut += packetCount(payload.length);
  ctx.notes.push({ to, msg, payload });
}

/** The allowed next states of each state: checked for every VM after every event of a fuzz run, so no string is built per check. */
const edgesFrom = new Map<VmStatus, Set<VmStatus>>();
for (const [a, b] of VM_STATE_EDGES) (edgesFrom.get(a) ?? edgesFrom.set(a, new Set()).get(a)!).add(b);
export const edgeAllowed = (from: VmStatus, to: VmStatus): boolean => edgesFrom.get(from)?.has(to) === true;

/**
 * Moves a VM along an allowed edge. Handlers check the state first and answer VM_STATE; reaching
 * here with a disallowed edge is a simulator bug, caught by the invariant rm.vm_state_edges too.
 */
export function setStatus(vm: RmVm, to: VmStatus): void {
  if (!edgeAllowed(vm.status, to)) throw new Error(`RM model bug: VM ${vm.vmid} ${vm.status} -> ${to} is not an RM edge`);
  vm.prevStatus = vm.status;
  vm.status = to;
}
