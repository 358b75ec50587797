import { CSPACE_MAX_CAPS } from "../abi/constants.ts";
import { OBJECT_ACTIVATE, RIGHTS } from "../abi/rights.ts";
import type { Machine } from "../machine.ts";
import { OK, arg32, fail, okWith, type Caller, type HypercallTable, type HvReturn } from "../hyp/calls.ts";
import { addObject, dropObject } from "./objects.ts";
import { allocCap, capSlot, createMasterCap, freeCap, lookup, lookupAny, lookupInit, revokeAllButMaster } from "./cspace.ts";
import { newObject, type CreatableType } from "./create.ts";
import { activateObject, collectGarbage } from "./lifecycle.ts";

/**
 * Object creation, activation and capability hypercalls (reference §2.1-2.3;
 * GH:hyp/core/partition_standard/templates/hypercalls.c.tmpl, GH:hyp/core/object_standard/src/hypercalls.c,
 * GH:hyp/core/cspace_twolevel/src/hypercalls.c).
 */

/** partition_create_X(partition, cspace): PARTITION.OBJECT_CREATE, then CSPACE.CAP_CREATE, then a master cap. */
function create(type: CreatableType) {
  return (s: Machine, c: Caller, a: readonly bigint[]): HvReturn => {
    const p = lookup(s, c.cspace, a[0] ?? 0n, "partition", RIGHTS.partition.OBJECT_CREATE);
    if (!p.ok) return fail(p.error);
    const cs = lookup(s, c.cspace, a[1] ?? 0n, "cspace", RIGHTS.cspace.CAP_CREATE);
    if (!cs.ok) return fail(cs.error);
    const id = addObject(s, (oid) => newObject(type, oid, p.value.id));
    const cap = createMasterCap(cs.value, id, type);
    if (!cap.ok) {
      dropObject(s, id);
      return fail(cap.error);
    }
    return okWith(cap.value);
  };
}

/** INIT → ACTIVE, or FAILED (terminal) with the first type handler's error. */
function activate(s: Machine, cspaceId: number, cap: bigint): HvReturn {
  const o = lookupAny(s, cspaceId, cap, OBJECT_ACTIVATE);
  if (!o.ok) return fail(o.error);
  if (o.value.state !== "INIT") return fail("OBJECT_STATE");
  const e = activateObject(s, o.value);
  o.value.state = e === null ? "ACTIVE" : "FAILED";
  return e === null ? OK : fail(e);
}

function cspaceDeleteCapFrom(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const cs = lookup(s, c.cspace, a[0] ?? 0n, "cspace", RIGHTS.cspace.CAP_DELETE);
  if (!cs.ok) return fail(cs.error);
  const slot = capSlot(cs.value, a[1] ?? 0n);
  if (!slot.ok) return fail(slot.error);
  const object = slot.value.state === "VALID" ? slot.value.object : 0;
  freeCap(cs.value, Number(a[1] ?? 0n));
  if (object !== 0) collectGarbage(s, [object]);
  return OK;
}

/** New rights = old & mask (0 ⇒ INSUFFICIENT_RIGHTS); the copy is never a master cap. */
function cspaceCopyCapFrom(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const src = lookup(s, c.cspace, a[0] ?? 0n, "cspace", RIGHTS.cspace.CAP_COPY);
  if (!src.ok) return fail(src.error);
  const dst = lookup(s, c.cspace, a[2] ?? 0n, "cspace", RIGHTS.cspace.CAP_CREATE);
  if (!dst.ok) return fail(dst.error);
  // The destination slot is allocated before the source is looked up, so a full destination wins
  // (GH:hyp/core/cspace_twolevel/src/cspace_twolevel.c:643-656); the slot is freed on any later error.
  const made = allocCap(dst.value, { object: 0, type: "cspace", rights: 0, master: false, state: "VALID" });
  if (!made.ok) return fail(made.error);
  const id = Number(made.value);
  const slot = capSlot(src.value, a[1] ?? 0n);
  const bad = !slot.ok ? slot.error : slot.value.state === "REVOKED" ? "CSPACE_CAP_REVOKED" : (slot.value.rights & arg32(a, 3)) >>> 0 === 0 ? "CSPACE_INSUFFICIENT_RIGHTS" : null;
  if (bad !== null || !slot.ok) {
    freeCap(dst.value, id);
    return fail(bad ?? "CSPACE_CAP_NULL");
  }
  dst.value.caps[id] = { object: slot.value.object, type: slot.value.type, rights: (slot.value.rights & arg32(a, 3)) >>> 0, master: false, state: "VALID" };
  return okWith(made.value);
}

/** CAP_REVOKE on the cspace; the cap must be the master; every other cap to the object becomes REVOKED. */
function cspaceRevokeCapsFrom(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const cs = lookup(s, c.cspace, a[0] ?? 0n, "cspace", RIGHTS.cspace.CAP_REVOKE);
  if (!cs.ok) return fail(cs.error);
  const slot = capSlot(cs.value, a[1] ?? 0n);
  if (!slot.ok) return fail(slot.error);
  if (slot.value.state === "REVOKED") return fail("CSPACE_CAP_REVOKED");
  if (!slot.value.master) return fail("CSPACE_INSUFFICIENT_RIGHTS");
  revokeAllButMaster(s, slot.value.object);
  return OK;
}

function cspaceConfigure(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const cs = lookupInit(s, c.cspace, a[0] ?? 0n, "cspace");
  if (!cs.ok) return fail(cs.error);
  const max = arg32(a, 1);
  if (max > CSPACE_MAX_CAPS) return fail("ARGUMENT_INVALID");
  cs.value.maxCaps = max;
  return OK;
}

export const objectHypercalls: HypercallTable = {
  partition_create_cspace: create("cspace"),
  partition_create_addrspace: create("addrspace"),
  partition_create_memextent: create("memextent"),
  partition_create_thread: create("thread"),
  partition_create_doorbell: create("doorbell"),
  partition_create_msgqueue: create("msgqueue"),
  partition_create_vic: create("vic"),
  partition_create_vpm_group: create("vpm_group"),
  partition_create_virtio_mmio: create("virtio_mmio"),
  object_activate: (s, c, a) => activate(s, c.cspace, a[0] ?? 0n),
  object_activate_from(s, c, a) {
    const cs = lookup(s, c.cspace, a[0] ?? 0n, "cspace", RIGHTS.cspace.CAP_CREATE);
    if (!cs.ok) return fail(cs.error);
    return activate(s, cs.value.id, a[1] ?? 0n);
  },
  cspace_delete_cap_from: cspaceDeleteCapFrom,
  cspace_copy_cap_from: cspaceCopyCapFrom,
  cspace_revoke_caps_from: cspaceRevokeCapsFrom,
  cspace_configure: cspaceConfigure,
};
