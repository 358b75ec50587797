import type { ObjectState } from "../abi/constants.ts";
import type { ObjectType } from "../abi/rights.ts";
import type { AddrspaceObject, MemextentObject } from "../memory/state.ts";
import type { ThreadObject, VpmGroupObject } from "../vcpu/state.ts";
import type { HwirqObject, VicObject } from "../vgic/state.ts";
import type { DoorbellObject, MsgqueueObject } from "../ipc/state.ts";
import type { VirtioMmioObject } from "../virtio_mmio/state.ts";

/**
 * The header every first-class object carries (GH:hyp/core/object_standard/templates/object.tc.tmpl):
 * its type, lifecycle state and the partition it was created from. `id` is the model's internal
 * object identity (never guest-visible: guests only see cap IDs).
 */
export interface ObjectHeader {
  readonly id: number;
  state: ObjectState;
  readonly partition: number;
}

export interface PartitionObject extends ObjectHeader {
  readonly type: "partition";
  readonly privileged: boolean;
}

/** A cap slot that is not NULL (GH:hyp/core/cspace_twolevel/cspace.tc `cap_data`). */
export interface Cap {
  /** The object it names; 0 once REVOKED (Gunyah clears the pointer on revoke). */
  object: number;
  readonly type: ObjectType;
  readonly rights: number;
  readonly master: boolean;
  state: "VALID" | "REVOKED";
}

export interface CspaceObject extends ObjectHeader {
  readonly type: "cspace";
  maxCaps: number;
  capCount: number;
  /** Caps in use per cap table; a table exists while its count is non-zero. */
  tableCounts: number[];
  /** Occupied slots by cap ID (integer keys: iteration order is ascending and deterministic). */
  caps: Record<number, Cap>;
}

export type { VirtioMmioObject } from "../virtio_mmio/state.ts";

export type HypObject =
  | PartitionObject
  | CspaceObject
  | AddrspaceObject
  | MemextentObject
  | ThreadObject
  | DoorbellObject
  | MsgqueueObject
  | VicObject
  | VpmGroupObject
  | VirtioMmioObject
  | HwirqObject;

export type ObjectOf<T extends ObjectType> = Extract<HypObject, { type: T }>;

/** The objects slice: every live object, in creation order. */
export interface ObjectsState {
  nextId: number;
  ids: number[];
  byId: Record<number, HypObject>;
}
