/**
 * Checks a DICE chain (BCC) the way a generic verifier does (reference §4.6): each entry's COSE_Sign1
 * signature verifies under the previous subject key (the first under the root key), the issuer is the
 * previous key's CDI ID and the subject this key's, and the claims have the Open DICE types.
 * Untrusted bytes: every failure is a result naming the entry, never an exception.
 */
import { createHash, createPublicKey, verify } from "node:crypto";
import { bytesEqual, toHex } from "./avb-format.ts";
import { cborDecode, splitCborArray } from "./dice-cbor.ts";
import { COSE, CWT, KEY_USAGE_CERT_SIGN, diceCertificateId, protectedHeaderEdDsa, sigStructure } from "./dice-format.ts";

/** One verified chain entry (index ≥ 1; index 0 is the root key). Hashes are lower-case hex. */
export interface BccEntry {
  readonly index: number;
  readonly issuer: string;
  readonly subject: string;
  readonly codeHash: string;
  readonly configDescriptor: Uint8Array;
  readonly authorityHash: string;
  readonly mode: number;
  readonly subjectPublicKey: Uint8Array;
  /** Component name (-70002) from the config descriptor, when it is a CBOR map that has one. */
  readonly componentName?: string;
  readonly profileName?: string;
}

/** verifyBcc's result. `index` is the chain array position at fault; -1 means the array itself. */
export type BccVerifyResult =
  | { readonly ok: true; readonly rootPublicKey: Uint8Array; readonly entries: readonly BccEntry[] }
  | { readonly ok: false; readonly index: number; readonly reason: string };

type Fail = { readonly ok: false; readonly index: number; readonly reason: string };

function failAt(index: number, reason: string): Fail {
  return { ok: false, index, reason };
}

function isBytes(v: unknown, len?: number): v is Uint8Array {
  return v instanceof Uint8Array && (len === undefined || v.length === len);
}

/** Reads an Ed25519 COSE_Key (kty OKP, crv Ed25519, 32-byte x; alg and key_ops checked when present). */
function ed25519FromCoseKey(v: unknown): Uint8Array | string {
  if (!(v instanceof Map)) return "public key is not a COSE_Key map";
  if (v.get(COSE.KTY) !== COSE.OKP || v.get(COSE.CRV) !== COSE.ED25519) return "public key is not an Ed25519 OKP key";
  if (v.has(COSE.KEY_ALG) && v.get(COSE.KEY_ALG) !== COSE.EDDSA) return "public key's algorithm is not EdDSA";
  const ops: unknown = v.get(COSE.KEY_OPS);
  if (ops !== undefined && !(Array.isArray(ops) && (ops.length === 0 || ops.includes(COSE.OP_VERIFY)))) {
    return "public key's key_ops do not allow verify";
  }
  const x: unknown = v.get(COSE.X);
  return isBytes(x, 32) ? new Uint8Array(x) : "public key's x is not 32 bytes";
}

function ed25519Verify(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(publicKey).toString("base64url") }, format: "jwk" });
    return verify(null, data, key, signature);
  } catch {
    return false;
  }
}

/** Checks the COSE_Sign1 framing and signature of one entry; returns its claims map or a reason. */
function openSign1(bytes: Uint8Array, signer: Uint8Array): Map<unknown, unknown> | string {
  const s1 = cborDecode(bytes);
  if (!Array.isArray(s1) || s1.length !== 4) return "entry is not a 4-element COSE_Sign1 array";
  const [prot, unprot, payload, sig] = s1 as unknown[];
  if (!isBytes(prot) || !(unprot instanceof Map) || !isBytes(payload) || !isBytes(sig, 64)) {
    return "COSE_Sign1 fields have the wrong types";
  }
  if (!bytesEqual(prot, protectedHeaderEdDsa())) return "protected header is not {1: -8} (EdDSA)";
  if (!ed25519Verify(signer, sigStructure(prot, payload), sig)) return "signature does not verify under the previous entry's key";
  const claims = cborDecode(payload);
  return claims instanceof Map ? claims : "payload is not a CWT claims map";
}

function componentNameOf(descriptor: Uint8Array): string | undefined {
  const d = cborDecode(descriptor);
  const name: unknown = d instanceof Map ? d.get(-70002) : undefined;
  return typeof name === "string" ? name : undefined;
}

/** Mode is a 1-byte bstr (open-dice) or, in android.14, an int; 0..3 only. */
function modeOf(v: unknown): number | null {
  const m = isBytes(v, 1) ? (v[0] as number) : typeof v === "number" ? v : -1;
  return m >= 0 && m <= 3 ? m : null;
}

/** Type and consistency checks of the claims; returns the entry and its subject key, or a reason. */
function readClaims(c: Map<unknown, unknown>, index: number, issuerKey: Uint8Array): { entry: BccEntry; key: Uint8Array } | string {
  const iss = c.get(CWT.ISS);
  const sub = c.get(CWT.SUB);
  const code = c.get(CWT.CODE_HASH);
  const auth = c.get(CWT.AUTHORITY_HASH);
  const config = c.get(CWT.CONFIG_DESCRIPTOR);
  const mode = modeOf(c.get(CWT.MODE));
  const keyBytes = c.get(CWT.SUBJECT_PUBLIC_KEY);
  if (typeof iss !== "string" || typeof sub !== "string") return "issuer or subject is missing";
  if (!isBytes(code, 64) || !isBytes(auth, 64) || !isBytes(config)) return "code hash, authority hash or config descriptor is malformed";
  if (mode === null) return "mode is not one of 0..3";
  if (!isBytes(keyBytes)) return "subject public key is missing";
  const key = ed25519FromCoseKey(cborDecode(keyBytes));
  if (typeof key === "string") return key;
  if (iss !== diceCertificateId(issuerKey)) return "issuer is not the previous entry's CDI ID";
  if (sub !== diceCertificateId(key)) return "subject is not the CDI ID of the subject public key";
  const problem = optionalClaimsProblem(c, config);
  if (problem !== null) return problem;
  return { key, entry: entryOf(c, index, { iss, sub, code, auth, config, mode, key }) };
}

function optionalClaimsProblem(c: Map<unknown, unknown>, config: Uint8Array): string | null {
  const configHash = c.get(CWT.CONFIG_HASH);
  if (configHash !== undefined) {
    const want = createHash("sha512").update(config).digest();
    if (!isBytes(configHash) || !bytesEqual(configHash, want)) return "configuration hash is not SHA-512 of the descriptor";
  }
  const usage = c.get(CWT.KEY_USAGE);
  if (usage !== undefined && !(isBytes(usage, 1) && usage[0] === KEY_USAGE_CERT_SIGN)) return "key usage is not keyCertSign";
  const profile = c.get(CWT.PROFILE_NAME);
  return profile !== undefined && typeof profile !== "string" ? "profile name is not text" : null;
}

interface Parsed {
  iss: string;
  sub: string;
  code: Uint8Array;
  auth: Uint8Array;
  config: Uint8Array;
  mode: number;
  key: Uint8Array;
}

function entryOf(c: Map<unknown, unknown>, index: number, p: Parsed): BccEntry {
  const entry: BccEntry = {
    index,
    issuer: p.iss,
    subject: p.sub,
    codeHash: toHex(p.code),
    configDescriptor: new Uint8Array(p.config),
    authorityHash: toHex(p.auth),
    mode: p.mode,
    subjectPublicKey: p.key,
  };
  const componentName = componentNameOf(p.config);
  const profile = c.get(CWT.PROFILE_NAME);
  return {
    ...entry,
    ...(componentName === undefined ? {} : { componentName }),
    ...(typeof profile === "string" ? { profileName: profile } : {}),
  };
}

/**
 * Verifies an encoded DICE chain [COSE_Key, COSE_Sign1 …]. A chain needs the root key and at least
 * one certificate (reference §4.2). The first failing entry is named by its array index.
 */
export function verifyBcc(bytes: Uint8Array): BccVerifyResult {
  const split = splitCborArray(bytes);
  const first = split.items[0];
  if (first === undefined) return split.error === null ? failAt(-1, "the chain array is empty") : failAt(split.error.index, split.error.reason);
  const root = ed25519FromCoseKey(cborDecode(first));
  if (typeof root === "string") return failAt(0, `root: ${root}`);
  const entries: BccEntry[] = [];
  let signer = root;
  for (let i = 1; i < split.items.length; i++) {
    const claims = openSign1(split.items[i] as Uint8Array, signer);
    const read = typeof claims === "string" ? claims : readClaims(claims, i, signer);
    if (typeof read === "string") return failAt(i, read);
    entries.push(read.entry);
    signer = read.key;
  }
  if (split.error !== null) return failAt(split.error.index, split.error.reason);
  if (entries.length === 0) return failAt(-1, "a DICE chain needs at least one certificate after the root key");
  return { ok: true, rootPublicKey: root, entries };
}
