import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  FIXTURE_FILES,
  VECTOR,
  fixture,
  fixturePayload,
  haveSharedVectors,
  sharedVectorsDir,
} from "../../../test/fixtures/avb/fixtures.ts";
import { verifyAvbImage, type AvbVerifyOutcome } from "./avb.ts";
import { AVB_SLOT_VERIFY_RESULT_CODES, avbCliName, avbSlotVerifyResultCName } from "./avb-result.ts";

const trustedPublicKey = fixture("pvmfw_key_rsa2048.avbpubkey");
const ri5 = fixture("kernel_signed_ri5.img");
const ri3 = fixture("kernel_signed_ri3.img");

function flipped(image: Uint8Array, offset: number, mask = 0x01): Uint8Array {
  const copy = image.slice();
  copy[offset] = (copy[offset] as number) ^ mask;
  return copy;
}

function verify(image: Uint8Array, storedRollbackIndex?: number): AvbVerifyOutcome {
  return verifyAvbImage(image, storedRollbackIndex === undefined ? { trustedPublicKey } : { trustedPublicKey, storedRollbackIndex });
}

/** Offsets inside the ri5 vbmeta (header 256, auth block 320 = hash 32 + signature 256 + padding, aux 768). */
const V = VECTOR.vbmetaOffset;
const AUTH = V + 256;
const AUX = AUTH + 320;

// SHA-256 of the files in shared/avb-vectors (made by AOSP's avbtool), taken when they were copied
// into test/fixtures/avb: the fixtures must stay byte-identical copies of the real vectors.
const VECTOR_SHA256: Readonly<Record<string, string>> = {
  "kernel_signed_ri5.img": "8d82f8a977e228fca1dfa446f1fe34afc16408f2bd88d4e0f8f64b8549536bc6",
  "kernel_signed_ri3.img": "3a16eb9846c416c4b72676ce3cd9f60f430553be4c6dd477cd9c6f218418c618",
  "kernel_signed_otherkey.img": "1f5878842c3de8f1194ab8d97aeb624adfde5200880bed45754450c38ff12738",
  "pvmfw_key_rsa2048.avbpubkey": "b1a575d52d515a6c3cccac71e28c32968dba8967edb291b981e0aba34c4fbe52",
  "pvmfw_key_rsa2048.pem": "d587d84fb1fd4fca2d5255b654b93e6069e9a76cc7b138e4385929bcf5d3c2df",
};
const KERNEL_BIN_SHA256 = "3153bdb5a779cf6b1c6abdf322a1e8f8c339b6efd979b79e4f381f8208bdb16c";
const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

describe("fixtures", () => {
  it("are byte-identical copies of shared/avb-vectors (by their recorded SHA-256)", () => {
    for (const name of FIXTURE_FILES) expect(sha256(fixture(name)), name).toBe(VECTOR_SHA256[name]);
    expect(sha256(fixturePayload())).toBe(KERNEL_BIN_SHA256);
  });
  it.runIf(haveSharedVectors())("match shared/avb-vectors itself when it is beside the clone", () => {
    for (const name of FIXTURE_FILES) expect(sha256(readFileSync(path.join(sharedVectorsDir, name))), name).toBe(VECTOR_SHA256[name]);
  });
});

describe("verifyAvbImage on the real avbtool vectors", () => {
  it("verifies kernel_signed_ri5.img with rollback index 5", () => {
    const r = verify(ri5);
    if (!r.ok) throw new Error(r.detail);
    const vbmeta = ri5.subarray(V, V + VECTOR.vbmetaSize);
    expect(r).toMatchObject({
      kind: "verified",
      result: "OK",
      partitionName: "boot",
      algorithm: "SHA256_RSA2048",
      rollbackIndex: 5n,
      rollbackIndexLocation: 0,
      imageSize: VECTOR.payloadSize,
      hashAlgorithm: "sha256",
      digestAlgorithm: "sha256",
      releaseString: "avbtool 1.3.0",
      vbmetaOffset: V,
      vbmetaSize: VECTOR.vbmetaSize,
      flags: 0,
      properties: {},
    });
    expect(r.digest).toBe(createHash("sha256").update(vbmeta).digest("hex"));
    const salt = Buffer.from(r.salt, "hex");
    expect(salt).toHaveLength(32);
    expect(r.hashDigest).toBe(createHash("sha256").update(salt).update(fixturePayload()).digest("hex"));
    expect(Buffer.compare(Buffer.from(r.publicKey), Buffer.from(trustedPublicKey))).toBe(0);
    expect(r.hashDescriptors).toHaveLength(1);
  });

  it("verifies kernel_signed_ri3.img with rollback index 3", () => {
    const r = verify(ri3);
    expect(r.ok && r.rollbackIndex).toBe(3n);
  });

  it("refuses kernel_signed_otherkey.img as PUBLIC_KEY_REJECTED", () => {
    const r = verify(fixture("kernel_signed_otherkey.img"));
    expect(r).toMatchObject({ ok: false, kind: "rejected", result: "ERROR_PUBLIC_KEY_REJECTED", cliName: "PUBLIC_KEY_REJECTED" });
  });

  it.each([0, 1, 4096, 99_999, 199_999])("refuses a flipped payload byte at %i as VERIFICATION (hash mismatch)", (off) => {
    const r = verify(flipped(ri5, off));
    expect(r).toMatchObject({ ok: false, result: "ERROR_VERIFICATION", cliName: "VERIFICATION" });
    expect(r.ok || r.detail).toMatch(/hash of 'boot' does not match/);
  });

  it("refuses a flipped byte of the signed vbmeta data as VERIFICATION, naming the hash mismatch", () => {
    for (const off of [V + 176, AUX + 130, AUX + 300]) {
      const r = verify(flipped(ri5, off));
      expect(r).toMatchObject({ ok: false, result: "ERROR_VERIFICATION", vbmetaResult: "HASH_MISMATCH" });
    }
  });

  it("refuses a flipped signature byte as VERIFICATION, naming the signature", () => {
    const r = verify(flipped(ri5, AUTH + 32 + 100));
    expect(r).toMatchObject({ ok: false, result: "ERROR_VERIFICATION", vbmetaResult: "SIGNATURE_MISMATCH" });
    expect(r.ok || r.detail).toMatch(/signature does not verify/);
  });

  it("refuses every single-byte change of the vbmeta except in the unsigned auth-block padding", () => {
    for (let off = V; off < V + VECTOR.vbmetaSize; off++) {
      const inAuthPadding = off >= AUTH + 288 && off < AUX;
      expect(verify(flipped(ri5, off, 0x80)).ok, `offset ${off}`).toBe(inAuthPadding);
    }
  });

  it("honours the stored rollback index", () => {
    expect(verify(ri3, 4)).toMatchObject({ ok: false, result: "ERROR_ROLLBACK_INDEX", cliName: "ROLLBACK_INDEX" });
    expect(verify(ri3, 3).ok).toBe(true);
    expect(verify(ri5, 5).ok).toBe(true);
    expect(verify(ri5, 6)).toMatchObject({ ok: false, result: "ERROR_ROLLBACK_INDEX" });
  });

  it("checks the rollback index before the payload hash, as libavb does", () => {
    expect(verify(flipped(ri3, 10), 4)).toMatchObject({ result: "ERROR_ROLLBACK_INDEX" });
  });
});

describe("inputs that are not (good) AVB images", () => {
  it("calls 1 KiB of zeros not an AVB image", () => {
    expect(verify(new Uint8Array(1024))).toMatchObject({ ok: false, kind: "not-avb", cliName: "NOT_AVB_IMAGE", result: "ERROR_IO" });
  });

  it("calls empty input and large garbage not an AVB image", () => {
    expect(verify(new Uint8Array(0))).toMatchObject({ kind: "not-avb", result: "ERROR_IO" });
    expect(verify(new Uint8Array(100_000).fill(0x5a))).toMatchObject({ kind: "not-avb", result: "ERROR_INVALID_METADATA" });
    expect(verify(fixturePayload())).toMatchObject({ kind: "not-avb" });
  });

  it("reports a footer that points outside the image as ERROR_IO", () => {
    const bad = ri5.slice();
    new DataView(bad.buffer).setBigUint64(bad.length - 64 + 20, BigInt(bad.length), false);
    expect(verify(bad)).toMatchObject({ kind: "rejected", result: "ERROR_IO" });
  });

  it("falls back to offset 0 when the footer's vbmeta size is absurd, giving INVALID_METADATA (as pvmfw's own test expects)", () => {
    expect(verify(flipped(ri5, ri5.length - 64 + 30, 0xff))).toMatchObject({ kind: "rejected", result: "ERROR_INVALID_METADATA" });
  });

  it("refuses a vbmeta that needs a newer libavb as UNSUPPORTED_VERSION", () => {
    const bad = ri5.slice();
    new DataView(bad.buffer).setUint32(V + 8, 4, false);
    expect(verify(bad)).toMatchObject({ result: "ERROR_UNSUPPORTED_VERSION", vbmetaResult: "UNSUPPORTED_VERSION" });
  });

  it("refuses malformed block sizes as INVALID_METADATA", () => {
    const bad = ri5.slice();
    new DataView(bad.buffer).setBigUint64(V + 20, 1n << 62n, false);
    expect(verify(bad)).toMatchObject({ result: "ERROR_INVALID_METADATA", vbmetaResult: "INVALID_VBMETA_HEADER" });
  });
});

describe("result names", () => {
  it("uses libavb's spelling and maps to the CLI's short names", () => {
    expect(AVB_SLOT_VERIFY_RESULT_CODES.ERROR_PUBLIC_KEY_REJECTED).toBe(5);
    expect(avbSlotVerifyResultCName("ERROR_VERIFICATION")).toBe("AVB_SLOT_VERIFY_RESULT_ERROR_VERIFICATION");
    expect(avbCliName("ERROR_INVALID_METADATA")).toBe("INVALID_METADATA");
    expect(avbCliName("OK")).toBe("OK");
  });
});
