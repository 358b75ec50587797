/**
 * An AVB signer laying images out as `avbtool add_hash_footer --dynamic_partition_size` does
 * (AOSP external/avb avbtool.py: _generate_vbmeta_blob, add_hash_footer), so scenarios and tests
 * can sign their own kernels. Deterministic: the salt is an input (avbtool would read /dev/urandom)
 * and RSA PKCS#1 v1.5 signing has no randomness.
 *
 * Layout (checked byte for byte against shared/avb-vectors/kernel_signed_ri5.img):
 *   payload ‖ zeros to a 4 KiB boundary ‖ vbmeta ‖ zeros ‖ 64-byte footer ending the partition,
 * where vbmeta = header(256) ‖ auth block (hash, signature; padded to 64) ‖ aux block (descriptors,
 * public key, key metadata; padded to 64), and the partition size is
 * roundup(payload + 64 KiB (MAX_VBMETA_SIZE) + 4 KiB (MAX_FOOTER_SIZE), 4 KiB).
 * Programmer errors (bad key, wrong sizes) throw: this is a tool, not a guest-facing parser.
 */
import { constants, createHash, createPublicKey, privateEncrypt } from "node:crypto";
import {
  AVB_FOOTER_SIZE,
  avbAlgorithmByName,
  concatBytes,
  encodeAvbPublicKey,
  encodeFooter,
  encodeHashDescriptor,
  encodePropertyDescriptor,
  encodeVbmetaHeader,
  pkcs1Prefix,
  releaseStringField,
  roundUp,
  type AvbAlgorithm,
  type AvbAlgorithmName,
} from "./avb-format.ts";

/** avbtool's image block size and metadata reservations (avbtool.py MAX_VBMETA_SIZE, MAX_FOOTER_SIZE). */
const BLOCK_SIZE = 4096;
const MAX_VBMETA_SIZE = 64 * 1024;
const MAX_FOOTER_SIZE = 4096;
/** avbtool.py AVB_VERSION_* of the release the vectors were made with. */
const DEFAULT_RELEASE_STRING = "avbtool 1.3.0";

/** What to sign; mirrors the avbtool add_hash_footer options that matter here. */
export interface AvbSignRequest {
  readonly payload: Uint8Array;
  readonly algorithm: AvbAlgorithmName;
  /** PKCS#8 or PKCS#1 PEM of the RSA private key; not needed for NONE. */
  readonly privateKeyPem?: string;
  readonly rollbackIndex: bigint | number;
  readonly partitionName: string;
  /** The hash descriptor salt (avbtool --salt); avbtool's default is random, so it is required here. */
  readonly salt: Uint8Array;
  /** The payload hash (avbtool --hash_algorithm, default sha256). */
  readonly hashAlgorithm?: "sha256" | "sha512";
  /** Fixed partition size (avbtool --partition_size); default is --dynamic_partition_size. */
  readonly partitionSize?: number;
  readonly rollbackIndexLocation?: number;
  /** vbmeta flags (avbtool --flags). */
  readonly flags?: number;
  /** Property descriptors (avbtool --prop key:value), e.g. ["com.android.virt.cap", "remote_attest"]. */
  readonly properties?: readonly (readonly [string, string])[];
  readonly releaseString?: string;
}

/** Signs `payload` and returns the whole partition image, footer included. */
export function signAvbImage(req: AvbSignRequest): Uint8Array {
  const partitionSize = req.partitionSize ?? roundUp(req.payload.length + MAX_VBMETA_SIZE + MAX_FOOTER_SIZE, BLOCK_SIZE);
  if (partitionSize % BLOCK_SIZE !== 0) throw new RangeError("partition size must be a multiple of 4096");
  if (req.payload.length > partitionSize - MAX_VBMETA_SIZE - MAX_FOOTER_SIZE) {
    throw new RangeError("payload does not fit the partition with room for vbmeta and footer");
  }
  const vbmeta = makeVbmetaImage(req, [hashDescriptorFor(req)]);
  const vbmetaOffset = roundUp(req.payload.length, BLOCK_SIZE);
  const out = new Uint8Array(partitionSize);
  out.set(req.payload, 0);
  out.set(vbmeta, vbmetaOffset);
  out.set(encodeFooter(req.payload.length, vbmetaOffset, vbmeta.length), partitionSize - AVB_FOOTER_SIZE);
  return out;
}

function hashDescriptorFor(req: AvbSignRequest): Uint8Array {
  const hashAlgorithm = req.hashAlgorithm ?? "sha256";
  const digest = createHash(hashAlgorithm).update(req.salt).update(req.payload).digest();
  return encodeHashDescriptor({
    imageSize: req.payload.length,
    hashAlgorithm,
    partitionName: req.partitionName,
    salt: req.salt,
    digest,
    flags: 0,
  });
}

/**
 * Builds a vbmeta image (avbtool _generate_vbmeta_blob): the given descriptors first, then the
 * property descriptors, then the public key in the auxiliary block; hash then signature in the
 * authentication block.
 */
export function makeVbmetaImage(req: AvbSignRequest, descriptors: readonly Uint8Array[]): Uint8Array {
  const algorithm = avbAlgorithmByName(req.algorithm);
  const props = (req.properties ?? []).map(([k, v]) => encodePropertyDescriptor(k, Buffer.from(v, "utf-8")));
  const encodedDescriptors = concatBytes([...descriptors, ...props]);
  const key = algorithm.hash === null ? new Uint8Array(0) : avbPublicKeyFromPem(requirePem(req));
  if (key.length !== 0 && key.length !== 8 + algorithm.keyBits / 4) throw new RangeError(`key is the wrong size for ${algorithm.name}`);
  const auxSize = roundUp(encodedDescriptors.length + key.length, 64);
  const authSize = roundUp(algorithm.hashSize + algorithm.signatureSize, 64);
  const header = encodeVbmetaHeader({
    requiredLibavbVersionMajor: 1,
    // avbtool bumps the required minor to 2 when a rollback index location is used (libavb 1.2
    // added the field) (unsure: from avbtool.py memory; the vectors only use location 0).
    requiredLibavbVersionMinor: (req.rollbackIndexLocation ?? 0) > 0 ? 2 : 0,
    authenticationDataBlockSize: BigInt(authSize),
    auxiliaryDataBlockSize: BigInt(auxSize),
    algorithmType: algorithm.type,
    hashOffset: 0n,
    hashSize: BigInt(algorithm.hashSize),
    signatureOffset: BigInt(algorithm.hashSize),
    signatureSize: BigInt(algorithm.signatureSize),
    publicKeyOffset: BigInt(encodedDescriptors.length),
    publicKeySize: BigInt(key.length),
    publicKeyMetadataOffset: BigInt(encodedDescriptors.length + key.length),
    publicKeyMetadataSize: 0n,
    descriptorsOffset: 0n,
    descriptorsSize: BigInt(encodedDescriptors.length),
    rollbackIndex: BigInt(req.rollbackIndex),
    flags: req.flags ?? 0,
    rollbackIndexLocation: req.rollbackIndexLocation ?? 0,
    releaseString: releaseStringField(req.releaseString ?? DEFAULT_RELEASE_STRING),
  });
  const aux = new Uint8Array(auxSize);
  aux.set(encodedDescriptors, 0);
  aux.set(key, encodedDescriptors.length);
  const auth = new Uint8Array(authSize);
  if (algorithm.hash !== null) authBlockInto(auth, algorithm, header, aux, requirePem(req));
  return concatBytes([header, auth, aux]);
}

/** Hash over header ‖ aux at offset 0, then the raw RSA signature of prefix ‖ hash (avbtool raw_sign). */
function authBlockInto(auth: Uint8Array, algorithm: AvbAlgorithm, header: Uint8Array, aux: Uint8Array, pem: string): void {
  const hash = createHash(algorithm.hash as string).update(header).update(aux).digest();
  const sig = privateEncrypt({ key: pem, padding: constants.RSA_NO_PADDING }, concatBytes([pkcs1Prefix(algorithm), hash]));
  auth.set(hash, 0);
  auth.set(sig, algorithm.hashSize);
}

function requirePem(req: AvbSignRequest): string {
  if (req.privateKeyPem === undefined) throw new TypeError(`algorithm ${req.algorithm} needs privateKeyPem`);
  return req.privateKeyPem;
}

/**
 * The .avbpubkey bytes for an RSA key given as PEM (private or public), as
 * `avbtool extract_public_key` writes them (AvbRSAPublicKeyHeader, n, rr).
 */
export function avbPublicKeyFromPem(pem: string): Uint8Array {
  const pub = createPublicKey(pem);
  const bits = pub.asymmetricKeyDetails?.modulusLength;
  if (pub.asymmetricKeyType !== "rsa" || bits === undefined) throw new TypeError("AVB keys must be RSA");
  const jwk = pub.export({ format: "jwk" });
  if (jwk.e !== "AQAB") throw new RangeError("AVB requires the public exponent 65537");
  const n = Buffer.from(String(jwk.n), "base64url");
  const modulus = new Uint8Array(bits / 8);
  modulus.set(n, modulus.length - n.length);
  return encodeAvbPublicKey(modulus);
}
