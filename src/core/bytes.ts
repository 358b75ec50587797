import { isDraft } from "immer";
import { forgetDigest } from "./hash.ts";

/**
 * Caches derived from a byte array's contents (the CPU's compiled code) register here, as the hash
 * memo does through `forgetDigest`: an array written in place on the fast path is forgotten by
 * each of them. Registration is at module load, in a fixed order; the caches never change results.
 */
const rewriteListeners: ((bytes: Uint8Array) => void)[] = [];
export function onRewriteInPlace(listener: (bytes: Uint8Array) => void): void {
  rewriteListeners.push(listener);
}

/**
 * Byte arrays that more than one state holds (reducer.ts `copySharingBytes`: the seeker's frozen
 * checkpoints and the working copies made from them). They are never written in place.
 */
const shared = new WeakSet<Uint8Array>();
export function shareBytes(bytes: Uint8Array): Uint8Array {
  shared.add(bytes);
  return bytes;
}

/**
 * The byte array at `container[key]`, ready to be written by the current event; a zeroed array of
 * `size` bytes is stored there first if there is none.
 *
 * On the pure path the container is an immer draft. Byte arrays are not drafted, so the array may be
 * shared with earlier states: it is copied and the copy stored (copy-on-write).
 * On the fast path the container belongs to a private mutable copy (`mutableCopy` clones every
 * array, and snapshots are cloned from it), so nothing else can see the array: it is written in place,
 * which saves a page-sized allocation and copy per write, and its remembered digest is forgotten;
 * unless the array is shared (`shareBytes`), when it is copied as on the pure path.
 * Callers must copy data into the array, never store an event's own array in the state: an array
 * reachable from an event or from two keys would be written through both.
 */
export function writableBytes(container: Record<number, Uint8Array>, key: number, size: number): Uint8Array {
  const old = container[key];
  if (old === undefined) {
    const fresh = new Uint8Array(size);
    container[key] = fresh;
    return fresh;
  }
  if (isDraft(container) || shared.has(old)) {
    const copy = old.slice();
    container[key] = copy;
    return copy;
  }
  forgetDigest(old);
  for (const forget of rewriteListeners) forget(old);
  return old;
}
