/**
 * pvmfw's AVB check of a kernel image, as avb_slot_verify() performs it for pvmfw
 * (reference §2.8 and §3.5; libavb/avb_slot_verify.c load_and_verify_vbmeta and
 * load_and_verify_hash_partition). Pure: the image is a byte array, nothing is read from disk.
 *
 * Order of checks, as libavb does them: find the vbmeta (footer) → verify the vbmeta image
 * (structure, hash, signature) → the embedded key must equal the trusted key → rollback index →
 * descriptors (hash of the payload) → rollback index location. The first failure wins.
 */
import { createHash } from "node:crypto";
import {
  AVB_DESCRIPTOR_TAG,
  AVB_FOOTER_VERSION_MAJOR,
  AVB_MAX_ROLLBACK_INDEX_LOCATIONS,
  AVB_VBMETA_FLAG_VERIFICATION_DISABLED,
  AVB_VBMETA_MAGIC,
  AVB_VBMETA_MAX_SIZE,
  bytesEqual,
  cString,
  hasMagic,
  parseFooter,
  parseHashDescriptor,
  parsePropertyDescriptor,
  small,
  splitDescriptors,
  toHex,
  utf8OrNull,
  type AvbAlgorithmName,
  type AvbFooter,
  type HashDescriptor,
} from "./avb-format.ts";
import {
  AVB_NOT_AN_IMAGE,
  avbCliName,
  slotResultForVbmeta,
  type AvbSlotVerifyResult,
  type AvbVBMetaVerifyResult,
} from "./avb-result.ts";
import { verifyVbmetaImage, type VbmetaBlocks } from "./avb-vbmeta.ts";

/** What the verifier is told: the key built into pvmfw and the stored anti-rollback state. */
export interface AvbVerifyOptions {
  /** The trusted key in .avbpubkey format; the embedded key must be byte-identical (reference §2.8). */
  readonly trustedPublicKey: Uint8Array;
  /** Stored rollback index for the image's location; absent = 0 (pvmfw's read_rollback_index returns 0). */
  readonly storedRollbackIndex?: bigint | number;
  /** The partition whose hash descriptor covers this image; pvmfw calls the kernel `boot`. */
  readonly partitionName?: string;
}

/** A hash descriptor as reported in a verified result. */
export interface AvbHashDescriptorInfo {
  readonly partitionName: string;
  readonly imageSize: number;
  readonly hashAlgorithm: string;
  readonly salt: string;
  readonly digest: string;
  readonly flags: number;
}

/** The image verified. Hex strings are lower case. */
export interface AvbVerified {
  readonly ok: true;
  readonly kind: "verified";
  readonly result: "OK";
  readonly partitionName: string;
  readonly algorithm: AvbAlgorithmName;
  readonly rollbackIndex: bigint;
  readonly rollbackIndexLocation: number;
  /** libavb's vbmeta digest (avb_slot_verify_data_calculate_vbmeta_digest): hash of header ‖ auth ‖ aux. */
  readonly digest: string;
  /** The hash used for `digest`: the algorithm's own hash (sha256 for NONE, which never verifies). */
  readonly digestAlgorithm: "sha256" | "sha512";
  /** The hash descriptor's image_size: how many leading bytes of the image are the payload. */
  readonly imageSize: number;
  readonly hashAlgorithm: string;
  /** The payload digest from the hash descriptor (equal to the recomputed one). */
  readonly hashDigest: string;
  readonly salt: string;
  /** The embedded public key (equal to the trusted key). */
  readonly publicKey: Uint8Array;
  readonly flags: number;
  readonly releaseString: string;
  readonly vbmetaOffset: number;
  readonly vbmetaSize: number;
  /** Every hash descriptor in the vbmeta (e.g. initrd_normal/initrd_debug included from another image). */
  readonly hashDescriptors: readonly AvbHashDescriptorInfo[];
  /** Property descriptors, values decoded as UTF-8 (e.g. com.android.virt.cap). */
  readonly properties: Readonly<Record<string, string>>;
}

/** An AVB image that pvmfw refuses; `result` is libavb's name, `cliName` the short one. */
export interface AvbRejected {
  readonly ok: false;
  readonly kind: "rejected";
  readonly result: Exclude<AvbSlotVerifyResult, "OK">;
  readonly cliName: string;
  /** libavb's vbmeta-level result when the vbmeta check decided (e.g. SIGNATURE_MISMATCH). */
  readonly vbmetaResult?: AvbVBMetaVerifyResult;
  readonly detail: string;
}

/** Not an AVB image at all: no footer and no vbmeta. `result` is what libavb would have returned. */
export interface AvbNotAnImage {
  readonly ok: false;
  readonly kind: "not-avb";
  readonly result: "ERROR_IO" | "ERROR_INVALID_METADATA";
  readonly cliName: typeof AVB_NOT_AN_IMAGE;
  readonly detail: string;
}

/** Every outcome of `verifyAvbImage`. */
export type AvbVerifyOutcome = AvbVerified | AvbRejected | AvbNotAnImage;

function reject(result: Exclude<AvbSlotVerifyResult, "OK">, detail: string, vbmetaResult?: AvbVBMetaVerifyResult): AvbRejected {
  const r = { ok: false as const, kind: "rejected" as const, result, cliName: avbCliName(result), detail };
  return vbmetaResult === undefined ? r : { ...r, vbmetaResult };
}

/**
 * Verifies an AVB-footed image (as `avbtool add_hash_footer` writes it) against the trusted key.
 * Never throws for any image bytes: every malformed input is an outcome.
 */
export function verifyAvbImage(image: Uint8Array, opts: AvbVerifyOptions): AvbVerifyOutcome {
  const where = locateVbmeta(image);
  if ("kind" in where) return where;
  const check = verifyVbmetaImage(image.subarray(where.offset, where.offset + where.size));
  const slot = slotResultForVbmeta(check.result);
  if (slot !== "OK") return reject(slot, check.detail, check.result);
  const blocks = check.blocks as VbmetaBlocks; // present whenever the vbmeta result is OK
  if (!bytesEqual(blocks.publicKey, opts.trustedPublicKey)) {
    return reject("ERROR_PUBLIC_KEY_REJECTED", "the key that signed the vbmeta is not the trusted key");
  }
  const stored = BigInt(opts.storedRollbackIndex ?? 0);
  if (blocks.header.rollbackIndex < stored) {
    return reject("ERROR_ROLLBACK_INDEX", `image rollback index ${blocks.header.rollbackIndex} is below the stored ${stored}`);
  }
  return checkDescriptors(image, blocks, where, opts.partitionName ?? "boot");
}

/** Where the vbmeta lives: from a valid footer, else offset 0 with the maximum size (libavb's fallback). */
interface VbmetaLocation {
  readonly offset: number;
  readonly size: number;
  readonly footer: AvbFooter | null;
}

function locateVbmeta(image: Uint8Array): VbmetaLocation | AvbNotAnImage | AvbRejected {
  const footer = parseFooter(image);
  if (footer === null && !hasMagic(image, 0, AVB_VBMETA_MAGIC)) return notAnImage(image);
  const usable = footer !== null && footer.versionMajor <= AVB_FOOTER_VERSION_MAJOR && footer.vbmetaSize <= BigInt(AVB_VBMETA_MAX_SIZE);
  const offset = usable ? footer.vbmetaOffset : 0n;
  const size = usable ? footer.vbmetaSize : BigInt(AVB_VBMETA_MAX_SIZE);
  if (offset + size > BigInt(image.length)) {
    // pvmfw's read_from_partition refuses a range outside the image: AVB_IO_RESULT_ERROR_RANGE_OUTSIDE_PARTITION.
    return reject("ERROR_IO", `vbmeta range [${offset}, ${offset + size}) lies outside the ${image.length}-byte image`);
  }
  return { offset: small(offset), size: small(size), footer: usable ? footer : null };
}

function notAnImage(image: Uint8Array): AvbNotAnImage {
  // libavb would read 64 KiB at offset 0: an I/O error on a shorter image, else a bad vbmeta magic.
  const tooShort = image.length < AVB_VBMETA_MAX_SIZE;
  return {
    ok: false,
    kind: "not-avb",
    result: tooShort ? "ERROR_IO" : "ERROR_INVALID_METADATA",
    cliName: AVB_NOT_AN_IMAGE,
    detail: `not an AVB image: no "AVBf" footer at the end and no "AVB0" vbmeta at the start (${image.length} bytes)`,
  };
}

/** Everything the descriptor walk collects. */
interface Collected {
  readonly hashes: { readonly desc: HashDescriptor; readonly name: string }[];
  readonly properties: Record<string, string>;
}

function collectDescriptors(blocks: VbmetaBlocks): Collected | AvbRejected {
  const h = blocks.header;
  if (h.descriptorsOffset + h.descriptorsSize > BigInt(blocks.aux.length)) {
    return reject("ERROR_INVALID_METADATA", "descriptors are not inside the auxiliary block");
  }
  const start = small(h.descriptorsOffset);
  const raw = splitDescriptors(blocks.aux.subarray(start, start + small(h.descriptorsSize)));
  if (typeof raw === "string") return reject("ERROR_INVALID_METADATA", raw);
  const out: Collected = { hashes: [], properties: {} };
  for (const d of raw) {
    const problem = collectOne(d.tag, d.body, out);
    if (problem !== null) return problem;
  }
  return out;
}

function collectOne(tag: bigint, body: Uint8Array, out: Collected): AvbRejected | null {
  if (tag === AVB_DESCRIPTOR_TAG.HASH) {
    const desc = parseHashDescriptor(body);
    if (typeof desc === "string") return reject("ERROR_INVALID_METADATA", desc);
    const name = utf8OrNull(desc.partitionNameBytes);
    if (name === null) return reject("ERROR_INVALID_METADATA", "hash descriptor's partition name is not valid UTF-8");
    out.hashes.push({ desc, name });
  } else if (tag === AVB_DESCRIPTOR_TAG.PROPERTY) {
    const p = parsePropertyDescriptor(body);
    if (typeof p === "string") return reject("ERROR_INVALID_METADATA", p);
    out.properties[p.key] = Buffer.from(p.value).toString("utf-8");
  } else if (tag === AVB_DESCRIPTOR_TAG.CHAIN_PARTITION) {
    // libavb would load the chained partition; a pVM has no partition but boot/initrd (reference §2.8).
    return reject("ERROR_IO", "a chain partition descriptor names a partition that does not exist in a pVM");
  }
  return null; // hashtree, kernel cmdline and unknown tags are not checked at boot (avb_slot_verify.c)
}

function checkDescriptors(image: Uint8Array, blocks: VbmetaBlocks, where: VbmetaLocation, partition: string): AvbVerifyOutcome {
  const collected = collectDescriptors(blocks);
  if ("kind" in collected) return collected;
  const mine = collected.hashes.filter((x) => x.name === partition);
  // With VERIFICATION_DISABLED set in a signed top-level vbmeta, libavb loads the partition without
  // hashing it and reports OK (avb_slot_verify.c); only the trusted key can sign such an image.
  const skip = (blocks.header.flags & AVB_VBMETA_FLAG_VERIFICATION_DISABLED) !== 0;
  if (mine.length !== 1) {
    const why = mine.length === 0 ? "no hash descriptor" : "more than one hash descriptor";
    return reject("ERROR_INVALID_METADATA", `the vbmeta has ${why} for partition '${partition}' (pvmfw requires exactly one)`);
  }
  const only = mine[0] as { desc: HashDescriptor; name: string };
  if (!skip) {
    const bad = checkPayloadHash(image, only.desc, partition);
    if (bad !== null) return bad;
  }
  if (blocks.header.rollbackIndexLocation >= AVB_MAX_ROLLBACK_INDEX_LOCATIONS) {
    return reject("ERROR_INVALID_METADATA", `rollback index location ${blocks.header.rollbackIndexLocation} is not below 32`);
  }
  return verified(blocks, where, only.desc, partition, collected);
}

/** load_and_verify_hash_partition(): H(salt ‖ first image_size bytes) must equal the descriptor's digest. */
function checkPayloadHash(image: Uint8Array, d: HashDescriptor, partition: string): AvbRejected | null {
  if (d.imageSize > BigInt(image.length)) {
    return reject("ERROR_IO", `hash descriptor covers ${d.imageSize} bytes but '${partition}' has only ${image.length}`);
  }
  if (d.hashAlgorithm !== "sha256" && d.hashAlgorithm !== "sha512") {
    return reject("ERROR_INVALID_METADATA", `unsupported hash algorithm '${d.hashAlgorithm ?? "(unterminated)"}'`);
  }
  if (d.digest.length === 0) {
    // A persistent digest needs read_persistent_value, which pvmfw does not provide (reference §2.8).
    return reject("ERROR_INVALID_METADATA", `'${partition}' asks for a persistent digest, which pvmfw does not support`);
  }
  const digest = createHash(d.hashAlgorithm).update(d.salt).update(image.subarray(0, small(d.imageSize))).digest();
  if (digest.length !== d.digest.length) return reject("ERROR_INVALID_METADATA", "digest in the hash descriptor has the wrong size");
  if (!bytesEqual(digest, d.digest)) {
    return reject("ERROR_VERIFICATION", `hash of '${partition}' does not match the digest in its hash descriptor`);
  }
  return null;
}

function hashInfo(d: HashDescriptor, name: string): AvbHashDescriptorInfo {
  return {
    partitionName: name,
    imageSize: Number(d.imageSize),
    hashAlgorithm: d.hashAlgorithm ?? "",
    salt: toHex(d.salt),
    digest: toHex(d.digest),
    flags: d.flags,
  };
}

function verified(blocks: VbmetaBlocks, where: VbmetaLocation, d: HashDescriptor, partition: string, c: Collected): AvbVerified {
  const h = blocks.header;
  const digestAlgorithm = blocks.algorithm.hash ?? "sha256";
  return {
    ok: true,
    kind: "verified",
    result: "OK",
    partitionName: partition,
    algorithm: blocks.algorithm.name,
    rollbackIndex: h.rollbackIndex,
    rollbackIndexLocation: h.rollbackIndexLocation,
    digest: createHash(digestAlgorithm).update(blocks.image).digest("hex"),
    digestAlgorithm,
    imageSize: small(d.imageSize),
    hashAlgorithm: d.hashAlgorithm ?? "",
    hashDigest: toHex(d.digest),
    salt: toHex(d.salt),
    publicKey: blocks.publicKey.slice(),
    flags: h.flags,
    releaseString: cString(h.releaseString) ?? "",
    vbmetaOffset: where.offset,
    vbmetaSize: blocks.image.length,
    hashDescriptors: c.hashes.map((x) => hashInfo(x.desc, x.name)),
    properties: { ...c.properties },
  };
}
