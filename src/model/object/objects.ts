import type { Machine } from "../machine.ts";
import type { ObjectType } from "../abi/rights.ts";
import type { HypObject, ObjectOf } from "./state.ts";

/** The object with this id, if it exists and has this type. */
export function objectAs<T extends ObjectType>(s: Machine, id: number, type: T): ObjectOf<T> | undefined {
  const o = s.objects.byId[id];
  return o !== undefined && o.type === type ? (o as ObjectOf<T>) : undefined;
}

/** Same, for ids the model itself keeps (attachments): a miss is a simulator bug. */
export function mustObject<T extends ObjectType>(s: Machine, id: number, type: T): ObjectOf<T> {
  const o = objectAs(s, id, type);
  if (o === undefined) throw new Error(`internal: object ${id} is not a live ${type}`);
  return o;
}

/** Adds an object with the next id; returns the id. */
export function addObject<T extends HypObject>(s: Machine, make: (id: number) => T): number {
  const id = s.objects.nextId;
  s.objects.nextId = id + 1;
  s.objects.byId[id] = make(id);
  s.objects.ids.push(id);
  return id;
}

/** Removes an object from the table (its type-specific teardown has been done by the caller). */
export function dropObject(s: Machine, id: number): void {
  delete s.objects.byId[id];
  const i = s.objects.ids.indexOf(id);
  if (i >= 0) s.objects.ids.splice(i, 1);
}
