/**
 * avb_vbmeta_image_verify() of libavb 1.3.0, step for step (libavb/avb_vbmeta_image.c; reference
 * §3.5 step 2): structural checks on the header, then the hash over header ‖ auxiliary block, then
 * the RSA PKCS#1 v1.5 signature over that stored hash with the key embedded in the auxiliary block.
 */
import { constants, createHash, createPublicKey, publicDecrypt } from "node:crypto";
import {
  AVB_ALGORITHMS,
  AVB_RELEASE_STRING_SIZE,
  AVB_VBMETA_HEADER_SIZE,
  AVB_VBMETA_MAGIC,
  LIBAVB_VERSION_MAJOR,
  LIBAVB_VERSION_MINOR,
  avbKeyIsConsistent,
  bytesEqual,
  concatBytes,
  hasMagic,
  parseAvbPublicKey,
  parseVbmetaHeader,
  pkcs1Prefix,
  small,
  type AvbAlgorithm,
  type AvbRsaPublicKey,
  type VbmetaHeader,
} from "./avb-format.ts";
import type { AvbVBMetaVerifyResult } from "./avb-result.ts";

/** The blocks of a structurally valid vbmeta image. */
export interface VbmetaBlocks {
  readonly header: VbmetaHeader;
  readonly algorithm: AvbAlgorithm;
  /** Header ‖ authentication block ‖ auxiliary block: what libavb keeps and digests. */
  readonly image: Uint8Array;
  readonly auth: Uint8Array;
  readonly aux: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** The outcome of verifying one vbmeta image. `blocks` is present once the structure checked out. */
export interface VbmetaCheck {
  readonly result: AvbVBMetaVerifyResult;
  readonly detail: string;
  readonly blocks?: VbmetaBlocks;
}

function fail(result: AvbVBMetaVerifyResult, detail: string, blocks?: VbmetaBlocks): VbmetaCheck {
  return blocks === undefined ? { result, detail } : { result, detail, blocks };
}

/** `off + size <= limit` without overflow: the operands are u64 bigints. */
function fits(off: bigint, size: bigint, limit: bigint): boolean {
  return off + size <= limit;
}

/** Header checks before any block is touched; returns an error detail or null. */
function headerProblem(h: VbmetaHeader, length: number): string | null {
  if (h.releaseString[AVB_RELEASE_STRING_SIZE - 1] !== 0) return "release string is not NUL-terminated";
  if (h.authenticationDataBlockSize % 64n !== 0n || h.auxiliaryDataBlockSize % 64n !== 0n) {
    return "authentication or auxiliary block size is not a multiple of 64";
  }
  const total = BigInt(AVB_VBMETA_HEADER_SIZE) + h.authenticationDataBlockSize + h.auxiliaryDataBlockSize;
  if (total > BigInt(length)) return "header and blocks add up to more than the vbmeta data";
  if (!fits(h.hashOffset, h.hashSize, h.authenticationDataBlockSize)) return "hash is not entirely in the authentication block";
  if (!fits(h.signatureOffset, h.signatureSize, h.authenticationDataBlockSize)) {
    return "signature is not entirely in the authentication block";
  }
  if (!fits(h.publicKeyOffset, h.publicKeySize, h.auxiliaryDataBlockSize)) return "public key is not entirely in the auxiliary block";
  if (!fits(h.publicKeyMetadataOffset, h.publicKeyMetadataSize, h.auxiliaryDataBlockSize)) {
    return "public key metadata is not entirely in the auxiliary block";
  }
  if (h.algorithmType >= AVB_ALGORITHMS.length) return `unknown algorithm type ${h.algorithmType}`;
  return null;
}

/** Cuts the blocks out; only called after `headerProblem` found every range inside `data`. */
function cutBlocks(data: Uint8Array, h: VbmetaHeader, algorithm: AvbAlgorithm): VbmetaBlocks {
  const authAt = AVB_VBMETA_HEADER_SIZE;
  const auxAt = authAt + small(h.authenticationDataBlockSize);
  const end = auxAt + small(h.auxiliaryDataBlockSize);
  const aux = data.subarray(auxAt, end);
  const keyAt = small(h.publicKeyOffset);
  return {
    header: h,
    algorithm,
    image: data.subarray(0, end),
    auth: data.subarray(authAt, auxAt),
    aux,
    publicKey: aux.subarray(keyAt, keyAt + small(h.publicKeySize)),
  };
}

/** Verifies one vbmeta image held in `data` (which may carry trailing bytes past the blocks). */
export function verifyVbmetaImage(data: Uint8Array): VbmetaCheck {
  if (!hasMagic(data, 0, AVB_VBMETA_MAGIC)) return fail("INVALID_VBMETA_HEADER", 'vbmeta magic "AVB0" is missing');
  if (data.length < AVB_VBMETA_HEADER_SIZE) return fail("INVALID_VBMETA_HEADER", "vbmeta is shorter than its 256-byte header");
  const h = parseVbmetaHeader(data);
  if (h.requiredLibavbVersionMajor !== LIBAVB_VERSION_MAJOR || h.requiredLibavbVersionMinor > LIBAVB_VERSION_MINOR) {
    const v = `${h.requiredLibavbVersionMajor}.${h.requiredLibavbVersionMinor}`;
    return fail("UNSUPPORTED_VERSION", `vbmeta requires libavb ${v}, newer than the modelled 1.${LIBAVB_VERSION_MINOR}`);
  }
  const problem = headerProblem(h, data.length);
  if (problem !== null) return fail("INVALID_VBMETA_HEADER", problem);
  const algorithm = AVB_ALGORITHMS[h.algorithmType] as AvbAlgorithm;
  const blocks = cutBlocks(data, h, algorithm);
  if (algorithm.hash === null) return fail("OK_NOT_SIGNED", "vbmeta is not signed (algorithm NONE)", blocks);
  if (h.hashSize !== BigInt(algorithm.hashSize)) return fail("INVALID_VBMETA_HEADER", "embedded hash size does not match the algorithm");
  return checkHashAndSignature(blocks);
}

/** Hash over header ‖ aux must equal the stored hash, then the signature must cover that hash. */
function checkHashAndSignature(blocks: VbmetaBlocks): VbmetaCheck {
  const { header: h, algorithm, auth, aux } = blocks;
  const computed = createHash(algorithm.hash as string)
    .update(blocks.image.subarray(0, AVB_VBMETA_HEADER_SIZE))
    .update(aux)
    .digest();
  const stored = auth.subarray(small(h.hashOffset), small(h.hashOffset) + algorithm.hashSize);
  if (!bytesEqual(computed, stored)) {
    return fail("HASH_MISMATCH", "the hash of the vbmeta header and auxiliary block does not match the stored hash", blocks);
  }
  const sig = auth.subarray(small(h.signatureOffset), small(h.signatureOffset + h.signatureSize));
  const why = rsaVerify(blocks.publicKey, sig, stored, algorithm);
  if (why !== null) return fail("SIGNATURE_MISMATCH", `the vbmeta signature does not verify: ${why}`, blocks);
  return fail("OK", "vbmeta signature verified", blocks);
}

/**
 * avb_rsa_verify(): parse the key, check sizes, then s^65537 mod n must equal the PKCS#1 v1.5 block
 * (prefix ‖ hash) byte for byte. Returns null on success or the reason it failed.
 */
export function rsaVerify(keyBytes: Uint8Array, sig: Uint8Array, hash: Uint8Array, algorithm: AvbAlgorithm): string | null {
  const key = parseAvbPublicKey(keyBytes);
  if (typeof key === "string") return key;
  if (sig.length !== key.keyBits / 8) return "signature length does not match the key length";
  if (algorithm.signatureSize !== sig.length) return "key size does not match the algorithm";
  if (!avbKeyIsConsistent(key)) return "public key's n0inv or rr does not match its modulus";
  const em = rsaPublicRaw(key, sig);
  if (em === null) return "RSA operation failed (signature not below the modulus)";
  return bytesEqual(em, concatBytes([pkcs1Prefix(algorithm), hash])) ? null : "padding or hash check failed";
}

/** Raw RSA public operation s^e mod n with e = 65537 (reference §3.3), or null if OpenSSL refuses the input. */
function rsaPublicRaw(key: AvbRsaPublicKey, sig: Uint8Array): Uint8Array | null {
  try {
    const pub = createPublicKey({ key: { kty: "RSA", n: base64url(stripZeros(key.modulus)), e: "AQAB" }, format: "jwk" });
    return publicDecrypt({ key: pub, padding: constants.RSA_NO_PADDING }, sig);
  } catch {
    return null;
  }
}

function stripZeros(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

/** Base64url without padding, as JWK wants it. */
export function base64url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64url");
}
