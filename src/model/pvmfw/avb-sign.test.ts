import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { VECTOR, fixture, fixturePayload, fixturePem } from "../../../test/fixtures/avb/fixtures.ts";
import { verifyAvbImage } from "./avb.ts";
import { avbPublicKeyFromPem, signAvbImage, type AvbSignRequest } from "./avb-sign.ts";
import { AVB_FOOTER_SIZE, avbKeyIsConsistent, parseAvbPublicKey } from "./avb-format.ts";

const pem = fixturePem();
const trustedPublicKey = fixture("pvmfw_key_rsa2048.avbpubkey");

/** The salt of a vector image: the hash descriptor sits at the start of the aux block. */
function vectorSalt(image: Uint8Array): Uint8Array {
  const saltAt = VECTOR.vbmetaOffset + 256 + 320 + 16 + 116 + 4; // header, auth, descriptor head, fixed part, "boot"
  return image.slice(saltAt, saltAt + 32);
}

/** One 4096-bit key for all tests (generation takes about a second). */
let key4096Pem: string | undefined;
function key4096(): string {
  key4096Pem ??= generateKeyPairSync("rsa", { modulusLength: 4096 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  return key4096Pem;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}

const base: AvbSignRequest = {
  payload: fixturePayload(),
  algorithm: "SHA256_RSA2048",
  privateKeyPem: pem,
  rollbackIndex: 5,
  partitionName: "boot",
  salt: new Uint8Array(32).fill(7),
};

describe("avbPublicKeyFromPem", () => {
  it("reproduces pvmfw_key_rsa2048.avbpubkey from the private key", () => {
    expect(same(avbPublicKeyFromPem(pem), trustedPublicKey)).toBe(true);
  });

  it("encodes a 4096-bit key with consistent n0inv and rr", () => {
    const key = parseAvbPublicKey(avbPublicKeyFromPem(key4096()));
    if (typeof key === "string") throw new Error(key);
    expect(key.keyBits).toBe(4096);
    expect(avbKeyIsConsistent(key)).toBe(true);
    expect(avbKeyIsConsistent({ ...key, n0inv: (key.n0inv + 1) >>> 0 })).toBe(false);
  });
});

describe("signAvbImage", () => {
  it("reproduces kernel_signed_ri5.img and kernel_signed_ri3.img byte for byte", () => {
    for (const [name, ri] of [["kernel_signed_ri5.img", 5], ["kernel_signed_ri3.img", 3]] as const) {
      const original = fixture(name);
      const mine = signAvbImage({ ...base, rollbackIndex: ri, salt: vectorSalt(original) });
      expect(mine.length).toBe(VECTOR.imageSize);
      expect(same(mine, original), name).toBe(true);
    }
  });

  it("is deterministic", () => {
    expect(same(signAvbImage(base), signAvbImage(base))).toBe(true);
  });

  it("makes images the verifier accepts, with the requested rollback index and properties", () => {
    const img = signAvbImage({ ...base, rollbackIndex: 2n ** 40n, properties: [["com.android.virt.cap", "remote_attest"]] });
    const r = verifyAvbImage(img, { trustedPublicKey });
    if (!r.ok) throw new Error(r.detail);
    expect(r.rollbackIndex).toBe(2n ** 40n);
    expect(r.properties).toEqual({ "com.android.virt.cap": "remote_attest" });
    expect(r.salt).toBe("07".repeat(32));
  });

  it("supports SHA512_RSA4096 with a generated key, and a sha512 payload hash", () => {
    const keyPem = key4096();
    const img = signAvbImage({ ...base, algorithm: "SHA512_RSA4096", privateKeyPem: keyPem, hashAlgorithm: "sha512", salt: new Uint8Array(64) });
    const r = verifyAvbImage(img, { trustedPublicKey: avbPublicKeyFromPem(keyPem) });
    expect(r).toMatchObject({ ok: true, algorithm: "SHA512_RSA4096", digestAlgorithm: "sha512", hashAlgorithm: "sha512" });
    expect(r.ok && r.digest.length).toBe(128);
    expect(verifyAvbImage(img, { trustedPublicKey })).toMatchObject({ result: "ERROR_PUBLIC_KEY_REJECTED" });
  });

  it("supports SHA512_RSA2048 and SHA256_RSA4096", () => {
    expect(verifyAvbImage(signAvbImage({ ...base, algorithm: "SHA512_RSA2048" }), { trustedPublicKey }).ok).toBe(true);
    const keyPem = key4096();
    const img = signAvbImage({ ...base, algorithm: "SHA256_RSA4096", privateKeyPem: keyPem });
    expect(verifyAvbImage(img, { trustedPublicKey: avbPublicKeyFromPem(keyPem) }).ok).toBe(true);
  });

  it("refuses an unsigned (NONE) image as VERIFICATION (OK_NOT_SIGNED)", () => {
    const { privateKeyPem: _unused, ...unsigned } = base;
    const img = signAvbImage({ ...unsigned, algorithm: "NONE" });
    expect(verifyAvbImage(img, { trustedPublicKey })).toMatchObject({ result: "ERROR_VERIFICATION", vbmetaResult: "OK_NOT_SIGNED" });
  });

  it("refuses an image whose hash descriptor is for another partition as INVALID_METADATA", () => {
    const img = signAvbImage({ ...base, partitionName: "initrd_normal" });
    expect(verifyAvbImage(img, { trustedPublicKey })).toMatchObject({ result: "ERROR_INVALID_METADATA" });
    expect(verifyAvbImage(img, { trustedPublicKey, partitionName: "initrd_normal" }).ok).toBe(true);
  });

  it("refuses a rollback index location of 32 or more as INVALID_METADATA", () => {
    const img = signAvbImage({ ...base, rollbackIndexLocation: 40 });
    expect(verifyAvbImage(img, { trustedPublicKey })).toMatchObject({ result: "ERROR_INVALID_METADATA" });
    const ok = verifyAvbImage(signAvbImage({ ...base, rollbackIndexLocation: 3 }), { trustedPublicKey });
    expect(ok.ok && ok.rollbackIndexLocation).toBe(3);
  });

  it("follows libavb for VERIFICATION_DISABLED: the payload is not hashed, the signature still counts", () => {
    const img = signAvbImage({ ...base, flags: 2 });
    img[0] = (img[0] as number) ^ 0xff;
    expect(verifyAvbImage(img, { trustedPublicKey })).toMatchObject({ ok: true, flags: 2 });
    expect(verifyAvbImage(signAvbImage({ ...base, flags: 2, privateKeyPem: key4096(), algorithm: "SHA256_RSA4096" }), { trustedPublicKey }))
      .toMatchObject({ result: "ERROR_PUBLIC_KEY_REJECTED" });
  });

  it("honours a fixed partition size and rejects one that is too small", () => {
    const img = signAvbImage({ ...base, partitionSize: 512 * 1024 });
    expect(img.length).toBe(512 * 1024);
    expect(verifyAvbImage(img, { trustedPublicKey }).ok).toBe(true);
    expect(() => signAvbImage({ ...base, partitionSize: 256 * 1024 })).toThrow(RangeError);
    expect(img.length - AVB_FOOTER_SIZE).toBeGreaterThan(VECTOR.payloadSize);
  });
});
