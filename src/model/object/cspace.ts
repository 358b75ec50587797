import { err, ok, type Result } from "../../core/errors.ts";
import type { HvError } from "../abi/errors.ts";
import { CSPACE } from "../abi/constants.ts";
import { allRights, type ObjectType } from "../abi/rights.ts";
import type { Machine } from "../machine.ts";
import { objectAs } from "./objects.ts";
import type { Cap, CspaceObject, HypObject, ObjectOf } from "./state.ts";

/**
 * Cap IDs and cap slots of the two-level cspace (GH:hyp/core/cspace_twolevel/src/cspace_twolevel.c),
 * with the debug no-randomisation encoding (m = 1, base = 0): the cap ID is the 16-bit cap value.
 */

/** Decode an ID into its slot; IDs that do not decode, or name no slot, are ARGUMENT_INVALID. */
export function decodeCapId(capId: bigint): Result<number, HvError> {
  // With m = 1 and base = 0 the inverse maps r to itself; r must fit 32 bits and v 16 bits.
  if (capId < 0n || capId > 0xffffn) return err("ARGUMENT_INVALID");
  const v = Number(capId);
  if (v >> 8 >= CSPACE.TABLES || (v & 0xff) >= CSPACE.SLOTS_PER_TABLE) return err("ARGUMENT_INVALID");
  return ok(v);
}

/** The slot for an ID: decode errors, then CAP_NULL for an absent table or an empty slot. */
export function capSlot(cs: CspaceObject, capId: bigint): Result<Cap, HvError> {
  const d = decodeCapId(capId);
  if (!d.ok) return d;
  if ((cs.tableCounts[d.value >> 8] ?? 0) === 0) return err("CSPACE_CAP_NULL");
  const cap = cs.caps[d.value];
  return cap === undefined ? err("CSPACE_CAP_NULL") : ok(cap);
}

/** The first steps of every cap check, in Gunyah's order: an empty slot ⇒ CAP_NULL, REVOKED ⇒ CAP_REVOKED. */
function liveCap(s: Machine, cspaceId: number, capId: bigint): Result<Cap, HvError> {
  const cs = objectAs(s, cspaceId, "cspace");
  if (cs === undefined) return err("CSPACE_CAP_NULL");
  const slot = capSlot(cs, capId);
  if (!slot.ok) return slot;
  return slot.value.state === "REVOKED" ? err("CSPACE_CAP_REVOKED") : slot;
}

/**
 * The cap check in Gunyah's order (`cspace_check_cap_data` then the active check): NULL ⇒ CAP_NULL,
 * REVOKED ⇒ CAP_REVOKED, wrong type ⇒ WRONG_OBJECT_TYPE, missing rights ⇒ INSUFFICIENT_RIGHTS,
 * then (active lookups) object not ACTIVE ⇒ OBJECT_STATE.
 */
export function lookup<T extends ObjectType>(
  s: Machine,
  cspaceId: number,
  capId: bigint,
  type: T,
  rights: number,
  activeOnly = true,
): Result<ObjectOf<T>, HvError> {
  const found = liveCap(s, cspaceId, capId);
  if (!found.ok) return found;
  const cap = found.value;
  if (cap.type !== type) return err("CSPACE_WRONG_OBJECT_TYPE");
  if ((cap.rights & rights) >>> 0 !== rights >>> 0) return err("CSPACE_INSUFFICIENT_RIGHTS");
  const obj = objectAs(s, cap.object, type);
  if (obj === undefined) return err("CSPACE_CAP_NULL");
  if (activeOnly && obj.state !== "ACTIVE") return err("OBJECT_STATE");
  return ok(obj);
}

/** Lookup of any type with generic rights only (object_activate): never checks ACTIVE. */
export function lookupAny(s: Machine, cspaceId: number, capId: bigint, rights: number): Result<HypObject, HvError> {
  const found = liveCap(s, cspaceId, capId);
  if (!found.ok) return found;
  const cap = found.value;
  if ((cap.rights & rights) >>> 0 !== rights >>> 0) return err("CSPACE_INSUFFICIENT_RIGHTS");
  const obj = s.objects.byId[cap.object];
  return obj === undefined ? err("CSPACE_CAP_NULL") : ok(obj);
}

/**
 * Allocates the lowest free slot of the lowest non-full existing table, else opens the lowest
 * unused table (`cspace_allocate_cap_slot`). max_caps reached, or no table left ⇒ CSPACE_FULL.
 */
export function allocCap(cs: CspaceObject, cap: Cap): Result<bigint, HvError> {
  if (cs.capCount >= cs.maxCaps) return err("CSPACE_FULL");
  let table = -1;
  for (let t = 0; t < cs.tableCounts.length; t++) {
    const n = cs.tableCounts[t]!;
    if (n > 0 && n < CSPACE.SLOTS_PER_TABLE) {
      table = t;
      break;
    }
  }
  if (table < 0) {
    table = cs.tableCounts.indexOf(0);
    if (table < 0) table = cs.tableCounts.length;
    if (table >= CSPACE.TABLES) return err("CSPACE_FULL");
    while (cs.tableCounts.length <= table) cs.tableCounts.push(0);
  }
  let slot = 0;
  while (cs.caps[(table << 8) | slot] !== undefined) slot++;
  const id = (table << 8) | slot;
  cs.caps[id] = cap;
  cs.tableCounts[table] = cs.tableCounts[table]! + 1;
  cs.capCount += 1;
  return ok(BigInt(id));
}

/**
 * The first occupied slot, in slot order, whose cap satisfies `pred` (its cap ID), or -1. Walks
 * the open tables by number: Object.keys or for-in would make a string per slot, garbage on every
 * object deletion (garbage collection scans every cspace). `pred` may free the slot it is given.
 */
export function findCap(cs: CspaceObject, pred: (id: number, cap: Cap) => boolean): number {
  for (let t = 0; t < cs.tableCounts.length; t++) {
    let left = cs.tableCounts[t]!;
    for (let slot = 0; left > 0 && slot < CSPACE.SLOTS_PER_TABLE; slot++) {
      const id = (t << 8) | slot;
      const cap = cs.caps[id];
      if (cap === undefined) continue;
      left--;
      if (pred(id, cap)) return id;
    }
  }
  return -1;
}

/** Calls `fn` with each occupied slot's cap ID and cap, in slot order; `fn` may free that slot. */
export function forEachCap(cs: CspaceObject, fn: (id: number, cap: Cap) => void): void {
  findCap(cs, (id, cap) => {
    fn(id, cap);
    return false;
  });
}

/** Frees an occupied slot (the table closes when it becomes empty). */
export function freeCap(cs: CspaceObject, id: number): void {
  if (cs.caps[id] === undefined) return;
  delete cs.caps[id];
  const t = id >> 8;
  cs.tableCounts[t] = (cs.tableCounts[t] ?? 1) - 1;
  cs.capCount -= 1;
  while (cs.tableCounts.length > 0 && cs.tableCounts[cs.tableCounts.length - 1] === 0) cs.tableCounts.pop();
}

/** A master cap with every right of the type, as object creation gives. */
export function createMasterCap(cs: CspaceObject, object: number, type: ObjectType): Result<bigint, HvError> {
  return allocCap(cs, { object, type, rights: allRights(type), master: true, state: "VALID" });
}

/** Does any cspace still hold a VALID cap to this object? (Revoked caps no longer reference it.) */
export function objectHasCaps(s: Machine, objectId: number): boolean {
  for (const id of s.objects.ids) {
    const o = s.objects.byId[id]!;
    if (o.type === "cspace" && findCap(o, (_, c) => c.state === "VALID" && c.object === objectId) >= 0) return true;
  }
  return false;
}

/** Every cap other than the master to this object, in any cspace, becomes REVOKED (slot kept). */
export function revokeAllButMaster(s: Machine, objectId: number): void {
  for (const id of s.objects.ids) {
    const o = s.objects.byId[id]!;
    if (o.type !== "cspace") continue;
    for (const k in o.caps) {
      const c = o.caps[k]!;
      if (c.state === "VALID" && c.object === objectId && !c.master) {
        c.state = "REVOKED";
        c.object = 0;
      }
    }
  }
}

/**
 * The lookup configure-style calls use (e.g. GH:hyp/mem/memextent/src/hypercalls.c): any type with
 * OBJECT_ACTIVATE, then the type (WRONG_OBJECT_TYPE), then the object must still be INIT (OBJECT_STATE).
 */
export function lookupInit<T extends ObjectType>(s: Machine, cspaceId: number, capId: bigint, type: T): Result<ObjectOf<T>, HvError> {
  const o = lookupAny(s, cspaceId, capId, 0x8000_0000);
  if (!o.ok) return o;
  if (o.value.type !== type) return err("CSPACE_WRONG_OBJECT_TYPE");
  if (o.value.state !== "INIT") return err("OBJECT_STATE");
  return ok(o.value as ObjectOf<T>);
}
