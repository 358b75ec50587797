/**
 * Object types and their capability rights, as Gunyah defines them (reference §4.1, §4.4; sources:
 * the `.tc` files of each interface, cross-checked against RM:include/guest_rights.h).
 * Every type also has the generic OBJECT_ACTIVATE right (0x80000000).
 */
export type ObjectType =
  | "partition"
  | "cspace"
  | "addrspace"
  | "memextent"
  | "thread"
  | "doorbell"
  | "msgqueue"
  | "vic"
  | "vpm_group"
  | "virtio_mmio"
  | "hwirq";

export const OBJECT_ACTIVATE = 0x8000_0000;

export const RIGHTS = {
  partition: { OBJECT_CREATE: 0x1, DONATE: 0x2 },
  cspace: { CAP_CREATE: 0x1, CAP_DELETE: 0x2, CAP_COPY: 0x4, ATTACH: 0x8, CAP_REVOKE: 0x10 },
  addrspace: { ATTACH: 0x1, MAP: 0x2, LOOKUP: 0x4, ADD_VMMIO_RANGE: 0x8 },
  memextent: { MAP: 0x1, DERIVE: 0x2, ATTACH: 0x4, LOOKUP: 0x8, DONATE: 0x10 },
  thread: {
    POWER: 0x1,
    AFFINITY: 0x2,
    PRIORITY: 0x4,
    TIMESLICE: 0x8,
    YIELD_TO: 0x10,
    BIND_VIRQ: 0x20,
    STATE: 0x40,
    LIFECYCLE: 0x80,
    WRITE_CONTEXT: 0x100,
    DISABLE: 0x200,
  },
  doorbell: { SEND: 0x1, RECEIVE: 0x2, BIND: 0x4 },
  msgqueue: { SEND: 0x1, RECEIVE: 0x2, BIND_SEND: 0x4, BIND_RECEIVE: 0x8 },
  vic: { BIND_SOURCE: 0x1, ATTACH_VCPU: 0x2, ATTACH_VDEVICE: 0x4 },
  vpm_group: { ATTACH_VCPU: 0x1, BIND_VIRQ: 0x2, QUERY: 0x4 },
  virtio_mmio: { BIND_BACKEND_VIRQ: 0x1, BIND_FRONTEND_VIRQ: 0x2, ASSERT_VIRQ: 0x4, CONFIG: 0x8 },
  hwirq: { BIND_VIC: 0x2 },
} as const satisfies Record<ObjectType, Record<string, number>>;

/** All rights of a type: what a master cap created with the object carries. */
export function allRights(type: ObjectType): number {
  let r = OBJECT_ACTIVATE;
  for (const v of Object.values(RIGHTS[type]) as number[]) r |= v;
  return r >>> 0;
}
