import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { VECTOR, fixture } from "../../../test/fixtures/avb/fixtures.ts";
import { verifyAvbImage, type AvbVerifyOutcome } from "./avb.ts";
import { AVB_SLOT_VERIFY_RESULT_CODES } from "./avb-result.ts";
import { diceExtend, diceRoot, encodeBcc, verifyBcc } from "./dice.ts";

const trustedPublicKey = fixture("pvmfw_key_rsa2048.avbpubkey");
const ri5 = fixture("kernel_signed_ri5.img");

/** The outcome is one of the three shapes, with a known libavb name. */
function wellFormed(r: AvbVerifyOutcome): boolean {
  if (r.ok) return r.kind === "verified" && typeof r.rollbackIndex === "bigint";
  return (r.kind === "rejected" || r.kind === "not-avb") && r.result in AVB_SLOT_VERIFY_RESULT_CODES && r.detail.length > 0;
}

/** Byte damage: a few (offset, xor mask) pairs, biased towards the metadata at the end. */
const damage = fc.array(
  fc.record({
    offset: fc.oneof(fc.integer({ min: 0, max: ri5.length - 1 }), fc.integer({ min: VECTOR.vbmetaOffset, max: ri5.length - 1 })),
    mask: fc.integer({ min: 1, max: 255 }),
  }),
  { minLength: 1, maxLength: 6 },
);

function damaged(image: Uint8Array, hits: readonly { offset: number; mask: number }[]): Uint8Array {
  const copy = image.slice();
  for (const { offset, mask } of hits) if (offset < copy.length) copy[offset] = (copy[offset] as number) ^ mask;
  return copy;
}

describe("verifyAvbImage never throws on damaged input", () => {
  it("truncation plus byte damage always gives a defined, well-formed outcome", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: ri5.length }), damage, (len, hits) => {
        const r = verifyAvbImage(damaged(ri5.subarray(0, len), hits), { trustedPublicKey });
        expect(wellFormed(r)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("any real change inside the payload is ERROR_VERIFICATION", () => {
    const payloadHit = fc.record({ offset: fc.integer({ min: 0, max: VECTOR.payloadSize - 1 }), mask: fc.integer({ min: 1, max: 255 }) });
    fc.assert(
      fc.property(fc.array(payloadHit, { minLength: 1, maxLength: 4 }), (hits) => {
        const img = damaged(ri5, hits);
        fc.pre(Buffer.compare(Buffer.from(img), Buffer.from(ri5)) !== 0); // masks may cancel out
        expect(verifyAvbImage(img, { trustedPublicKey })).toMatchObject({ ok: false, result: "ERROR_VERIFICATION" });
      }),
      { numRuns: 100 },
    );
  });

  it("random bytes of any length are never accepted", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (bytes) => {
        const r = verifyAvbImage(bytes, { trustedPublicKey });
        expect(r.ok).toBe(false);
        expect(wellFormed(r)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe("verifyBcc never throws on damaged input", () => {
  const chain = encodeBcc(
    diceExtend(diceRoot(new Uint8Array(32).fill(1)), {
      codeHash: new Uint8Array(64).fill(2),
      configValue: new Uint8Array(64).fill(3),
      authorityHash: new Uint8Array(64).fill(4),
      mode: 1,
    }).chain,
  );

  it("truncated or damaged chains give a result naming an index", () => {
    const hit = fc.record({ offset: fc.integer({ min: 0, max: chain.length - 1 }), mask: fc.integer({ min: 1, max: 255 }) });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: chain.length }), fc.array(hit, { maxLength: 4 }), (len, hits) => {
        const r = verifyBcc(damaged(chain.subarray(0, len), hits));
        expect(r.ok ? r.entries.length : r.index).toBeGreaterThanOrEqual(-1);
      }),
      { numRuns: 300 },
    );
  });
});
