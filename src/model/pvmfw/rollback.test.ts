import { describe, expect, it } from "vitest";
import { fixture } from "../../../test/fixtures/avb/fixtures.ts";
import { verifyAvbImage } from "./avb.ts";
import { advanceRollback, checkRollback, newRollbackStore, rollbackStoreIntact, sealRollbackStore } from "./rollback.ts";

const key = new Uint8Array(32).fill(9);
const trustedPublicKey = fixture("pvmfw_key_rsa2048.avbpubkey");

describe("rollback store", () => {
  it("starts at zero everywhere and is intact", () => {
    const s = newRollbackStore(key);
    expect(s.indices).toHaveLength(32);
    expect(s.indices.every((v) => v === 0n)).toBe(true);
    expect(rollbackStoreIntact(s, key)).toBe(true);
    expect(rollbackStoreIntact(s, new Uint8Array(32))).toBe(false);
  });

  it("refuses an image below the stored index with ERROR_ROLLBACK_INDEX", () => {
    const s = advanceRollback(newRollbackStore(key), { ok: true, rollbackIndex: 4 }, key);
    expect(checkRollback(s, { rollbackIndex: 3 })).toMatchObject({ ok: false, result: "ERROR_ROLLBACK_INDEX" });
    expect(checkRollback(s, { rollbackIndex: 4 })).toEqual({ ok: true, stored: 4n });
    expect(checkRollback(s, { rollbackIndex: 3, rollbackIndexLocation: 1 }).ok).toBe(true);
    expect(checkRollback(s, { rollbackIndex: 9, rollbackIndexLocation: 32 })).toMatchObject({ result: "ERROR_INVALID_METADATA" });
  });

  it("moves forward only after a good boot, never backwards", () => {
    const s0 = newRollbackStore(key);
    const s5 = advanceRollback(s0, { ok: true, rollbackIndex: 5n }, key);
    expect(s5.indices[0]).toBe(5n);
    expect(advanceRollback(s5, { ok: true, rollbackIndex: 3n }, key)).toBe(s5);
    expect(advanceRollback(s5, { ok: false }, key)).toBe(s5);
    expect(s0.indices[0]).toBe(0n); // the old store is untouched
    expect(rollbackStoreIntact(s5, key)).toBe(true);
  });

  it("detects edits and never re-seals a tampered store", () => {
    const s = advanceRollback(newRollbackStore(key), { ok: true, rollbackIndex: 5 }, key);
    const tampered = { ...s, indices: s.indices.map((v, i) => (i === 0 ? 0n : v)) };
    expect(rollbackStoreIntact(tampered, key)).toBe(false);
    expect(advanceRollback(tampered, { ok: true, rollbackIndex: 6 }, key)).toBe(tampered);
    expect(() => sealRollbackStore([1n], key)).toThrow(RangeError);
  });

  it("composes with verifyAvbImage: boot ri5, then ri3 is a rollback", () => {
    const s = advanceRollback(newRollbackStore(key), verifyAvbImage(fixture("kernel_signed_ri5.img"), { trustedPublicKey }), key);
    const ri3 = verifyAvbImage(fixture("kernel_signed_ri3.img"), { trustedPublicKey, storedRollbackIndex: s.indices[0] ?? 0n });
    expect(ri3).toMatchObject({ ok: false, result: "ERROR_ROLLBACK_INDEX" });
    const unverified = verifyAvbImage(fixture("kernel_signed_otherkey.img"), { trustedPublicKey });
    expect(advanceRollback(s, unverified, key)).toBe(s);
  });
});
