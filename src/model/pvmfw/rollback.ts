/**
 * Anti-rollback state as plain data: one u64 per AVB rollback index location (32 of them,
 * avb_slot_verify.h AVB_MAX_NUMBER_OF_ROLLBACK_INDEX_LOCATIONS), sealed with an HMAC so a host that
 * edits the stored bytes is detected (the role instance.img's AES-GCM sealing with a CDI_Seal-derived
 * key plays for pvmfw, reference §2.9; the MAC here is the model's own choice, not an AVF format).
 *
 * Semantics (libavb avb_slot_verify.c; reference §3.5 step 5): an image whose rollback index is
 * below the stored one is refused with ERROR_ROLLBACK_INDEX; the stored value only moves forward,
 * and only after a boot that verified.
 */
import { createHmac } from "node:crypto";
import { AVB_MAX_ROLLBACK_INDEX_LOCATIONS } from "./avb-format.ts";

/** The sealed store. `mac` is lower-case hex HMAC-SHA256 over a domain label and the 32 indices. */
export interface RollbackStore {
  readonly indices: readonly bigint[];
  readonly mac: string;
}

/** What a check needs from an image: its rollback index and location (0 when absent). */
export interface RollbackImage {
  readonly rollbackIndex: bigint | number;
  readonly rollbackIndexLocation?: number;
}

/** A boot's outcome as `advanceRollback` reads it; an `AvbVerifyOutcome` fits. */
export type RollbackBoot = ({ readonly ok: true } & RollbackImage) | { readonly ok: false };

/** `checkRollback`'s answer, using libavb's result names. */
export type RollbackCheck =
  | { readonly ok: true; readonly stored: bigint }
  | { readonly ok: false; readonly result: "ERROR_ROLLBACK_INDEX" | "ERROR_INVALID_METADATA"; readonly detail: string };

const DOMAIN = Buffer.from("hvsim.pvmfw.rollback.v1", "latin1");
const U64_MAX = (1n << 64n) - 1n;

function macOf(indices: readonly bigint[], key: Uint8Array): string {
  const body = Buffer.alloc(8 * indices.length);
  indices.forEach((v, i) => body.writeBigUInt64BE(v, 8 * i));
  return createHmac("sha256", key).update(DOMAIN).update(body).digest("hex");
}

function wellFormed(indices: readonly bigint[]): boolean {
  return (
    indices.length === AVB_MAX_ROLLBACK_INDEX_LOCATIONS &&
    indices.every((v) => typeof v === "bigint" && v >= 0n && v <= U64_MAX)
  );
}

/** Seals the given indices (32 u64 values) with `key`. */
export function sealRollbackStore(indices: readonly bigint[], key: Uint8Array): RollbackStore {
  if (!wellFormed(indices)) throw new RangeError(`a rollback store holds ${AVB_MAX_ROLLBACK_INDEX_LOCATIONS} u64 indices`);
  return { indices: [...indices], mac: macOf(indices, key) };
}

/** A fresh store: every location at 0 (a new device or instance). */
export function newRollbackStore(key: Uint8Array): RollbackStore {
  return sealRollbackStore(new Array<bigint>(AVB_MAX_ROLLBACK_INDEX_LOCATIONS).fill(0n), key);
}

/** True when the store is well formed and its MAC matches: nobody edited it without the key. */
export function rollbackStoreIntact(store: RollbackStore, key: Uint8Array): boolean {
  return wellFormed(store.indices) && macOf(store.indices, key) === store.mac;
}

function locationOf(image: RollbackImage): number | null {
  const loc = image.rollbackIndexLocation ?? 0;
  return Number.isInteger(loc) && loc >= 0 && loc < AVB_MAX_ROLLBACK_INDEX_LOCATIONS ? loc : null;
}

/** May this image boot? Refuses an index below the stored one (ERROR_ROLLBACK_INDEX). */
export function checkRollback(stored: RollbackStore, image: RollbackImage): RollbackCheck {
  const loc = locationOf(image);
  if (loc === null) return { ok: false, result: "ERROR_INVALID_METADATA", detail: "rollback index location is not below 32" };
  const have = stored.indices[loc] ?? 0n;
  const want = BigInt(image.rollbackIndex);
  if (want < have) {
    return { ok: false, result: "ERROR_ROLLBACK_INDEX", detail: `image rollback index ${want} is below the stored ${have} at location ${loc}` };
  }
  return { ok: true, stored: have };
}

/**
 * The store after a boot: raised to the image's index if the boot verified and the index is higher;
 * otherwise the same store. Never lowers a value, and never re-seals a store that fails its MAC
 * (that would launder a tampered store).
 */
export function advanceRollback(stored: RollbackStore, boot: RollbackBoot, key: Uint8Array): RollbackStore {
  if (!boot.ok || !rollbackStoreIntact(stored, key)) return stored;
  const loc = locationOf(boot);
  const next = BigInt(boot.rollbackIndex);
  if (loc === null || next > U64_MAX || next <= (stored.indices[loc] ?? 0n)) return stored;
  const indices = [...stored.indices];
  indices[loc] = next;
  return sealRollbackStore(indices, key);
}
