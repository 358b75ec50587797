/**
 * DICE constants and primitives shared by the chain builder (`dice.ts`) and verifier
 * (`dice-verify.ts`): claim labels, COSE constants, open-dice's KDF salts, key and ID derivation,
 * COSE_Key and Sig_structure encodings. Sources: reference §4; google/open-dice src/dice.c and
 * src/cbor_cert_op.c; RFC 9052/9053 (COSE), RFC 8392 (CWT), RFC 8410 (Ed25519 PKCS#8).
 */
import { createHash, createPrivateKey, createPublicKey, hkdfSync, type KeyObject } from "node:crypto";
import { canonicalMap, cborEncode } from "./dice-cbor.ts";

/** DICE modes (reference §4.1; open-dice DiceMode). */
export const DICE_MODE = { NOT_CONFIGURED: 0, NORMAL: 1, DEBUG: 2, MAINTENANCE: 3 } as const;
/** One of the four DICE mode values. */
export type DiceMode = (typeof DICE_MODE)[keyof typeof DICE_MODE];

/**
 * CWT claim labels (RFC 8392 for iss/sub; Open Profile for DICE for the rest, as in open-dice
 * src/cbor_cert_op.c EncodeCwt; profileName from AVF's Android profile, reference §4.3).
 */
export const CWT = {
  ISS: 1,
  SUB: 2,
  CODE_HASH: -4670545,
  CODE_DESCRIPTOR: -4670546,
  CONFIG_HASH: -4670547,
  CONFIG_DESCRIPTOR: -4670548,
  AUTHORITY_HASH: -4670549,
  AUTHORITY_DESCRIPTOR: -4670550,
  MODE: -4670551,
  SUBJECT_PUBLIC_KEY: -4670552,
  KEY_USAGE: -4670553,
  PROFILE_NAME: -4670554,
} as const;

/** Configuration descriptor keys used by AVF (reference §4.4; open-dice docs/android.md). */
export const CONFIG_KEY = {
  COMPONENT_NAME: -70002,
  COMPONENT_VERSION: -70003,
  RESETTABLE: -70004,
  SECURITY_VERSION: -70005,
  RKP_VM_MARKER: -70006,
  INSTANCE_HASH: -71003,
} as const;

/** COSE constants (RFC 9052/9053): header alg label, EdDSA, OKP key type, Ed25519 curve, verify op. */
export const COSE = { ALG: 1, EDDSA: -8, KTY: 1, KEY_ALG: 3, KEY_OPS: 4, CRV: -1, X: -2, OKP: 1, ED25519: 6, OP_VERIFY: 2 } as const;
/** keyUsage = keyCertSign (RFC 5280 bit 5), as a one-byte little-endian bitfield. */
export const KEY_USAGE_CERT_SIGN = 0x20;

/** open-dice src/dice.c kAsymSalt. */
const ASYM_SALT = Buffer.from(
  "63b6a04d2c077fc10f639f21da793844356cc2b0b441b3a77124035c03f8e1be" +
    "6035d31f282821a7450a02222ab1b3cff1679b05ab1ca5d1affb789ccd2b0b3b",
  "hex",
);
/** open-dice src/dice.c kIdSalt. */
const ID_SALT = Buffer.from(
  "dbdbaebc8020da9ff0dd5a24c83aa5a54286dfc263031e329b4da148430659fe" +
    "62cdb5b7e1e00fc680306711eb444af77209359496fcff1db9520ba51c7b29ea",
  "hex",
);
/** PKCS#8 DER prefix of an Ed25519 private key (RFC 8410 §7): the 32-byte seed follows. */
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/** HKDF-SHA512 (the AVF DICE KDF, reference §4.1). */
export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string, length: number): Uint8Array {
  return new Uint8Array(hkdfSync("sha512", ikm, salt, Buffer.from(info, "latin1"), length));
}

/** SHA-512 over the concatenation of the parts (the AVF DICE hash). */
export function sha512(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha512");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** The Ed25519 private key for a 32-byte seed. */
export function ed25519PrivateKey(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
}

/** The raw 32-byte public key of a 32-byte seed. */
export function ed25519PublicFromSeed(seed: Uint8Array): Uint8Array {
  const jwk = createPublicKey(ed25519PrivateKey(seed)).export({ format: "jwk" });
  return new Uint8Array(Buffer.from(String(jwk.x), "base64url"));
}

/** DiceDeriveCdiPrivateKey: the key-pair seed of a CDI_Attest. */
export function diceKeySeed(cdiAttest: Uint8Array): Uint8Array {
  return hkdf(cdiAttest, ASYM_SALT, "Key Pair", 32);
}

/** DiceDeriveCdiCertificateId: 20 bytes from the public key, top bit cleared, as lower-case hex. */
export function diceCertificateId(publicKey: Uint8Array): string {
  const id = hkdf(publicKey, ID_SALT, "ID", 20);
  id[0] = (id[0] as number) & 0x7f;
  return Buffer.from(id).toString("hex");
}

/** COSE_Key map for an Ed25519 public key (open-dice cbor_cert_op.c EncodePublicKey). */
export function coseKeyEd25519(publicKey: Uint8Array): Map<number, unknown> {
  return canonicalMap([
    [COSE.KTY, COSE.OKP],
    [COSE.KEY_ALG, COSE.EDDSA],
    [COSE.KEY_OPS, [COSE.OP_VERIFY]],
    [COSE.CRV, COSE.ED25519],
    [COSE.X, publicKey],
  ]);
}

/** The protected header {1: -8} (alg EdDSA). */
export function protectedHeaderEdDsa(): Uint8Array {
  return cborEncode(canonicalMap([[COSE.ALG, COSE.EDDSA]]));
}

/** Sig_structure for COSE_Sign1 (RFC 9052 §4.4): ["Signature1", protected, external_aad = h'', payload]. */
export function sigStructure(protectedHeader: Uint8Array, payload: Uint8Array): Uint8Array {
  return cborEncode(["Signature1", protectedHeader, new Uint8Array(0), payload]);
}

