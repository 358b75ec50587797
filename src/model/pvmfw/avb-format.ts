/**
 * The AVB on-disk formats: footer, vbmeta header, descriptors, public key, PKCS#1 v1.5 prefixes.
 * Parsing and encoding only, no policy (that is `avb.ts`). All integers are big-endian.
 *
 * Sources: reference avf-protected-vm.md §3 ([AVB] libavb 1.3.0), and the libavb headers
 * `libavb/avb_footer.h`, `avb_vbmeta_image.h`, `avb_descriptor.h`, `avb_hash_descriptor.h`,
 * `avb_property_descriptor.h`, `avb_crypto.h` (AvbRSAPublicKeyHeader) of AOSP `external/avb`.
 * Every reader here is bounded by the buffer it is given: a bad length yields an error string,
 * never an exception.
 */

/** Footer size and magic (avb_footer.h: AVB_FOOTER_SIZE, AVB_FOOTER_MAGIC). */
export const AVB_FOOTER_SIZE = 64;
/** The footer magic. */
export const AVB_FOOTER_MAGIC = "AVBf";
/** Footer version avbtool writes and libavb reads (avb_footer.h: AVB_FOOTER_VERSION_MAJOR/MINOR). */
export const AVB_FOOTER_VERSION_MAJOR = 1;
/** Footer minor version avbtool writes. */
export const AVB_FOOTER_VERSION_MINOR = 0;
/** vbmeta magic and fixed header size (avb_vbmeta_image.h: AVB_MAGIC, sizeof(AvbVBMetaImageHeader)). */
export const AVB_VBMETA_MAGIC = "AVB0";
/** sizeof(AvbVBMetaImageHeader). */
export const AVB_VBMETA_HEADER_SIZE = 256;
/** AVB_RELEASE_STRING_SIZE: the release string field, NUL included. */
export const AVB_RELEASE_STRING_SIZE = 48;
/** avb_slot_verify.c VBMETA_MAX_SIZE: a footer claiming a larger vbmeta is ignored. */
export const AVB_VBMETA_MAX_SIZE = 64 * 1024;
/** The libavb version modelled (reference §3: libavb 1.3.0; avb_version.h). */
export const LIBAVB_VERSION_MAJOR = 1;
/** libavb minor version modelled: images requiring a newer minor are UNSUPPORTED_VERSION. */
export const LIBAVB_VERSION_MINOR = 3;
/** avb_slot_verify.h AVB_MAX_NUMBER_OF_ROLLBACK_INDEX_LOCATIONS. */
export const AVB_MAX_ROLLBACK_INDEX_LOCATIONS = 32;
/** AvbVBMetaImageFlags (avb_vbmeta_image.h). */
export const AVB_VBMETA_FLAG_HASHTREE_DISABLED = 1;
/** Flag bit 1: libavb skips descriptor checks for such an image. */
export const AVB_VBMETA_FLAG_VERIFICATION_DISABLED = 2;
/** AvbDescriptorTag (avb_descriptor.h). */
export const AVB_DESCRIPTOR_TAG = { PROPERTY: 0n, HASHTREE: 1n, HASH: 2n, KERNEL_CMDLINE: 3n, CHAIN_PARTITION: 4n } as const;
/** sizeof(AvbDescriptor) = tag + num_bytes_following. */
const DESCRIPTOR_HEADER_SIZE = 16;
/** sizeof(AvbHashDescriptor) - sizeof(AvbDescriptor): image_size, hash_algorithm[32], 4 x u32, reserved[60]. */
const HASH_DESCRIPTOR_FIXED = 116;
/** sizeof(AvbRSAPublicKeyHeader): key_num_bits, n0inv. */
const RSA_KEY_HEADER_SIZE = 8;

/** Names of AvbAlgorithmType values 0..6 (avb_crypto.h; reference §3.3). */
export type AvbAlgorithmName =
  | "NONE"
  | "SHA256_RSA2048"
  | "SHA256_RSA4096"
  | "SHA256_RSA8192"
  | "SHA512_RSA2048"
  | "SHA512_RSA4096"
  | "SHA512_RSA8192";

/** One AvbAlgorithmType with its hash and RSA sizes. */
export interface AvbAlgorithm {
  readonly name: AvbAlgorithmName;
  readonly type: number;
  readonly hash: "sha256" | "sha512" | null;
  readonly hashSize: number;
  readonly keyBits: number;
  readonly signatureSize: number;
}

function alg(name: AvbAlgorithmName, type: number, hash: "sha256" | "sha512" | null, keyBits: number): AvbAlgorithm {
  const hashSize = hash === "sha256" ? 32 : hash === "sha512" ? 64 : 0;
  return { name, type, hash, hashSize, keyBits, signatureSize: keyBits / 8 };
}

/** The algorithm table, indexed by algorithm_type (reference §3.3). */
export const AVB_ALGORITHMS: readonly AvbAlgorithm[] = [
  alg("NONE", 0, null, 0),
  alg("SHA256_RSA2048", 1, "sha256", 2048),
  alg("SHA256_RSA4096", 2, "sha256", 4096),
  alg("SHA256_RSA8192", 3, "sha256", 8192),
  alg("SHA512_RSA2048", 4, "sha512", 2048),
  alg("SHA512_RSA4096", 5, "sha512", 4096),
  alg("SHA512_RSA8192", 6, "sha512", 8192),
];

/** Looks an algorithm up by name. */
export function avbAlgorithmByName(name: AvbAlgorithmName): AvbAlgorithm {
  const found = AVB_ALGORITHMS.find((a) => a.name === name);
  if (found === undefined) throw new RangeError(`unknown AVB algorithm ${String(name)}`);
  return found;
}

// ---------------------------------------------------------------- bounded byte access

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Reads a big-endian u32; callers have checked `off + 4 <= b.length`. */
export function readU32(b: Uint8Array, off: number): number {
  return view(b).getUint32(off, false);
}

/** Reads a big-endian u64 as a bigint; callers have checked `off + 8 <= b.length`. */
export function readU64(b: Uint8Array, off: number): bigint {
  return view(b).getBigUint64(off, false);
}

function writeU32(b: Uint8Array, off: number, v: number): void {
  view(b).setUint32(off, v >>> 0, false);
}

function writeU64(b: Uint8Array, off: number, v: bigint | number): void {
  view(b).setBigUint64(off, BigInt(v), false);
}

/** True if `b` starts with the 4 ASCII bytes of `magic` at `off`. */
export function hasMagic(b: Uint8Array, off: number, magic: string): boolean {
  if (off < 0 || off + magic.length > b.length) return false;
  for (let i = 0; i < magic.length; i++) if (b[off + i] !== magic.charCodeAt(i)) return false;
  return true;
}

/** Rounds up to a multiple of `m` (avbtool round_to_multiple). */
export function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

/** Concatenates byte arrays. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Lower-case hex of bytes. */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

/** Byte-wise equality. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Decodes strict UTF-8, or null when the bytes are not valid UTF-8 (libavb avb_validate_utf8). */
export function utf8OrNull(b: Uint8Array): string | null {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(b);
  } catch {
    return null;
  }
}

/** The text before the first NUL of a fixed-size field, or null when there is no NUL in it. */
export function cString(b: Uint8Array): string | null {
  const end = b.indexOf(0);
  if (end < 0) return null;
  return String.fromCharCode(...b.subarray(0, end));
}

/** Converts a bounded bigint (already checked against a buffer length) to a number. */
export function small(v: bigint): number {
  return Number(v);
}

// ---------------------------------------------------------------- footer

/** AvbFooter, the last 64 bytes of a partition (reference §3.1). */
export interface AvbFooter {
  readonly versionMajor: number;
  readonly versionMinor: number;
  readonly originalImageSize: bigint;
  readonly vbmetaOffset: bigint;
  readonly vbmetaSize: bigint;
}

/** Reads the footer at the end of `image`, or null when there is no "AVBf" magic there. */
export function parseFooter(image: Uint8Array): AvbFooter | null {
  if (image.length < AVB_FOOTER_SIZE) return null;
  const f = image.subarray(image.length - AVB_FOOTER_SIZE);
  if (!hasMagic(f, 0, AVB_FOOTER_MAGIC)) return null;
  return {
    versionMajor: readU32(f, 4),
    versionMinor: readU32(f, 8),
    originalImageSize: readU64(f, 12),
    vbmetaOffset: readU64(f, 20),
    vbmetaSize: readU64(f, 28),
  };
}

/** Encodes a footer as avbtool writes it (version 1.0, reserved bytes zero). */
export function encodeFooter(originalImageSize: number, vbmetaOffset: number, vbmetaSize: number): Uint8Array {
  const f = new Uint8Array(AVB_FOOTER_SIZE);
  f.set(Buffer.from(AVB_FOOTER_MAGIC, "latin1"), 0);
  writeU32(f, 4, AVB_FOOTER_VERSION_MAJOR);
  writeU32(f, 8, AVB_FOOTER_VERSION_MINOR);
  writeU64(f, 12, originalImageSize);
  writeU64(f, 20, vbmetaOffset);
  writeU64(f, 28, vbmetaSize);
  return f;
}

// ---------------------------------------------------------------- vbmeta header

/** AvbVBMetaImageHeader, byte-swapped to host order (reference §3.2). */
export interface VbmetaHeader {
  readonly requiredLibavbVersionMajor: number;
  readonly requiredLibavbVersionMinor: number;
  readonly authenticationDataBlockSize: bigint;
  readonly auxiliaryDataBlockSize: bigint;
  readonly algorithmType: number;
  readonly hashOffset: bigint;
  readonly hashSize: bigint;
  readonly signatureOffset: bigint;
  readonly signatureSize: bigint;
  readonly publicKeyOffset: bigint;
  readonly publicKeySize: bigint;
  readonly publicKeyMetadataOffset: bigint;
  readonly publicKeyMetadataSize: bigint;
  readonly descriptorsOffset: bigint;
  readonly descriptorsSize: bigint;
  readonly rollbackIndex: bigint;
  readonly flags: number;
  readonly rollbackIndexLocation: number;
  /** The 48 raw bytes of release_string (NUL-terminated when valid). */
  readonly releaseString: Uint8Array;
}

/** Reads the header fields; callers have checked the magic and that 256 bytes are present. */
export function parseVbmetaHeader(b: Uint8Array): VbmetaHeader {
  return {
    requiredLibavbVersionMajor: readU32(b, 4),
    requiredLibavbVersionMinor: readU32(b, 8),
    authenticationDataBlockSize: readU64(b, 12),
    auxiliaryDataBlockSize: readU64(b, 20),
    algorithmType: readU32(b, 28),
    hashOffset: readU64(b, 32),
    hashSize: readU64(b, 40),
    signatureOffset: readU64(b, 48),
    signatureSize: readU64(b, 56),
    publicKeyOffset: readU64(b, 64),
    publicKeySize: readU64(b, 72),
    publicKeyMetadataOffset: readU64(b, 80),
    publicKeyMetadataSize: readU64(b, 88),
    descriptorsOffset: readU64(b, 96),
    descriptorsSize: readU64(b, 104),
    rollbackIndex: readU64(b, 112),
    flags: readU32(b, 120),
    rollbackIndexLocation: readU32(b, 124),
    releaseString: b.slice(128, 128 + AVB_RELEASE_STRING_SIZE),
  };
}

/** Encodes a header; the inverse of `parseVbmetaHeader` (reserved bytes zero). */
export function encodeVbmetaHeader(h: VbmetaHeader): Uint8Array {
  const b = new Uint8Array(AVB_VBMETA_HEADER_SIZE);
  b.set(Buffer.from(AVB_VBMETA_MAGIC, "latin1"), 0);
  writeU32(b, 4, h.requiredLibavbVersionMajor);
  writeU32(b, 8, h.requiredLibavbVersionMinor);
  const u64s: [number, bigint][] = [
    [12, h.authenticationDataBlockSize], [20, h.auxiliaryDataBlockSize],
    [32, h.hashOffset], [40, h.hashSize], [48, h.signatureOffset], [56, h.signatureSize],
    [64, h.publicKeyOffset], [72, h.publicKeySize],
    [80, h.publicKeyMetadataOffset], [88, h.publicKeyMetadataSize],
    [96, h.descriptorsOffset], [104, h.descriptorsSize], [112, h.rollbackIndex],
  ];
  for (const [off, v] of u64s) writeU64(b, off, v);
  writeU32(b, 28, h.algorithmType);
  writeU32(b, 120, h.flags);
  writeU32(b, 124, h.rollbackIndexLocation);
  b.set(h.releaseString.subarray(0, AVB_RELEASE_STRING_SIZE), 128);
  return b;
}

/** A release string field: the text, NUL-padded to 48 bytes (avbtool: "avbtool 1.3.0"). */
export function releaseStringField(text: string): Uint8Array {
  const raw = Buffer.from(text, "utf-8");
  if (raw.length >= AVB_RELEASE_STRING_SIZE) throw new RangeError("release string must be shorter than 48 bytes");
  const b = new Uint8Array(AVB_RELEASE_STRING_SIZE);
  b.set(raw, 0);
  return b;
}

// ---------------------------------------------------------------- descriptors

/** One descriptor as found in the descriptor area: its tag and the bytes that follow its header. */
export interface RawDescriptor {
  readonly tag: bigint;
  readonly body: Uint8Array;
}

/**
 * Splits the descriptor area into descriptors (libavb avb_descriptor_foreach): each is
 * {tag:u64, num_bytes_following:u64} + body, and the total size must be a multiple of 8 and fit.
 * The loop advances by at least 16 bytes per step, so it ends within area.length / 16 steps.
 */
export function splitDescriptors(area: Uint8Array): RawDescriptor[] | string {
  const out: RawDescriptor[] = [];
  let p = 0;
  while (p < area.length) {
    if (p + DESCRIPTOR_HEADER_SIZE > area.length) return `descriptor at offset ${p} is cut short`;
    const tag = readU64(area, p);
    const following = readU64(area, p + 8);
    if (following % 8n !== 0n) return `descriptor at offset ${p} has a size that is not a multiple of 8`;
    if (BigInt(p + DESCRIPTOR_HEADER_SIZE) + following > BigInt(area.length)) {
      return `descriptor at offset ${p} runs past the descriptor area`;
    }
    const end = p + DESCRIPTOR_HEADER_SIZE + small(following);
    out.push({ tag, body: area.subarray(p + DESCRIPTOR_HEADER_SIZE, end) });
    p = end;
  }
  return out;
}

/** Wraps a descriptor body with its tag and size, zero-padded to 8 bytes (avbtool AvbDescriptor.encode). */
export function encodeDescriptor(tag: bigint, body: Uint8Array): Uint8Array {
  const padded = roundUp(body.length, 8);
  const out = new Uint8Array(DESCRIPTOR_HEADER_SIZE + padded);
  writeU64(out, 0, tag);
  writeU64(out, 8, padded);
  out.set(body, DESCRIPTOR_HEADER_SIZE);
  return out;
}

/** AvbHashDescriptor (reference §3.4; avb_hash_descriptor.h). `hashAlgorithm` is null if not NUL-terminated. */
export interface HashDescriptor {
  readonly imageSize: bigint;
  readonly hashAlgorithm: string | null;
  readonly partitionNameBytes: Uint8Array;
  readonly salt: Uint8Array;
  readonly digest: Uint8Array;
  readonly flags: number;
}

/** Parses a hash descriptor body (avb_hash_descriptor_validate_and_byteswap: the three strings must fit). */
export function parseHashDescriptor(body: Uint8Array): HashDescriptor | string {
  if (body.length < HASH_DESCRIPTOR_FIXED) return "hash descriptor is shorter than its fixed part";
  const nameLen = readU32(body, 40);
  const saltLen = readU32(body, 44);
  const digestLen = readU32(body, 48);
  if (HASH_DESCRIPTOR_FIXED + nameLen + saltLen + digestLen > body.length) {
    return "hash descriptor's partition name, salt and digest run past the descriptor";
  }
  const nameAt = HASH_DESCRIPTOR_FIXED;
  const saltAt = nameAt + nameLen;
  const digestAt = saltAt + saltLen;
  return {
    imageSize: readU64(body, 0),
    hashAlgorithm: cString(body.subarray(8, 40)),
    partitionNameBytes: body.slice(nameAt, saltAt),
    salt: body.slice(saltAt, digestAt),
    digest: body.slice(digestAt, digestAt + digestLen),
    flags: readU32(body, 52),
  };
}

/** Encodes a hash descriptor as avbtool does (AvbHashDescriptor.encode), including tag and padding. */
export function encodeHashDescriptor(d: {
  imageSize: number;
  hashAlgorithm: string;
  partitionName: string;
  salt: Uint8Array;
  digest: Uint8Array;
  flags: number;
}): Uint8Array {
  const name = Buffer.from(d.partitionName, "utf-8");
  const body = new Uint8Array(HASH_DESCRIPTOR_FIXED + name.length + d.salt.length + d.digest.length);
  writeU64(body, 0, d.imageSize);
  body.set(Buffer.from(d.hashAlgorithm, "latin1").subarray(0, 31), 8);
  writeU32(body, 40, name.length);
  writeU32(body, 44, d.salt.length);
  writeU32(body, 48, d.digest.length);
  writeU32(body, 52, d.flags);
  body.set(name, HASH_DESCRIPTOR_FIXED);
  body.set(d.salt, HASH_DESCRIPTOR_FIXED + name.length);
  body.set(d.digest, HASH_DESCRIPTOR_FIXED + name.length + d.salt.length);
  return encodeDescriptor(AVB_DESCRIPTOR_TAG.HASH, body);
}

/**
 * Parses a property descriptor body: key_num_bytes:u64, value_num_bytes:u64, key, NUL, value, NUL
 * (avb_property_descriptor.h). Values are returned as bytes; keys must be UTF-8.
 */
export function parsePropertyDescriptor(body: Uint8Array): { key: string; value: Uint8Array } | string {
  if (body.length < 16) return "property descriptor is shorter than its fixed part";
  const keyLen = readU64(body, 0);
  const valueLen = readU64(body, 8);
  if (16n + keyLen + 1n + valueLen + 1n > BigInt(body.length)) return "property descriptor's key and value run past it";
  const k = small(keyLen);
  const v = small(valueLen);
  if (body[16 + k] !== 0 || body[16 + k + 1 + v] !== 0) return "property descriptor's key or value is not NUL-terminated";
  const key = utf8OrNull(body.subarray(16, 16 + k));
  if (key === null) return "property descriptor's key is not valid UTF-8";
  return { key, value: body.slice(16 + k + 1, 16 + k + 1 + v) };
}

/** Encodes a property descriptor as avbtool does (AvbPropertyDescriptor.encode). */
export function encodePropertyDescriptor(key: string, value: Uint8Array): Uint8Array {
  const k = Buffer.from(key, "utf-8");
  const body = new Uint8Array(16 + k.length + 1 + value.length + 1);
  writeU64(body, 0, k.length);
  writeU64(body, 8, value.length);
  body.set(k, 16);
  body.set(value, 16 + k.length + 1);
  return encodeDescriptor(AVB_DESCRIPTOR_TAG.PROPERTY, body);
}

// ---------------------------------------------------------------- RSA public key

/** AVB's RSA public key: AvbRSAPublicKeyHeader {key_num_bits, n0inv} then n and rr, big-endian. */
export interface AvbRsaPublicKey {
  readonly keyBits: number;
  readonly n0inv: number;
  readonly modulus: Uint8Array;
  readonly rr: Uint8Array;
}

/** Parses an AVB public key blob with libavb's checks (avb_rsa.c iavb_parse_key_data). */
export function parseAvbPublicKey(b: Uint8Array): AvbRsaPublicKey | string {
  if (b.length < RSA_KEY_HEADER_SIZE) return "public key is shorter than its header";
  const keyBits = readU32(b, 0);
  if (keyBits !== 2048 && keyBits !== 4096 && keyBits !== 8192) return `public key has an unexpected size of ${keyBits} bits`;
  const n = keyBits / 8;
  if (b.length !== RSA_KEY_HEADER_SIZE + 2 * n) return "public key length does not match its key_num_bits";
  return {
    keyBits,
    n0inv: readU32(b, 4),
    modulus: b.slice(RSA_KEY_HEADER_SIZE, RSA_KEY_HEADER_SIZE + n),
    rr: b.slice(RSA_KEY_HEADER_SIZE + n, RSA_KEY_HEADER_SIZE + 2 * n),
  };
}

function bigFromBytes(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt(`0x${toHex(b)}`);
}

function bytesFromBig(v: bigint, len: number): Uint8Array {
  const hex = v.toString(16).padStart(len * 2, "0");
  return Uint8Array.from(Buffer.from(hex, "hex"));
}

/** −1/n mod 2^32 (the Montgomery constant libavb stores as n0inv), by Newton iteration on odd n. */
function n0invOf(n: bigint): number {
  const m = 1n << 32n;
  const n0 = n % m;
  let x = n0; // correct to 3 bits for odd n; each step doubles the correct bits
  for (let i = 0; i < 5; i++) x = (x * (2n - n0 * x)) % m;
  x = ((x % m) + m) % m;
  return Number((m - x) % m);
}

/** Builds the AVB key blob from a big-endian modulus (avbtool encode_rsa_key: n0inv, rr = 2^(2·bits) mod n). */
export function encodeAvbPublicKey(modulus: Uint8Array): Uint8Array {
  const n = bigFromBytes(modulus);
  const bits = modulus.length * 8;
  const out = new Uint8Array(RSA_KEY_HEADER_SIZE + 2 * modulus.length);
  writeU32(out, 0, bits);
  writeU32(out, 4, n0invOf(n));
  out.set(modulus, RSA_KEY_HEADER_SIZE);
  out.set(bytesFromBig((1n << BigInt(2 * bits)) % n, modulus.length), RSA_KEY_HEADER_SIZE + modulus.length);
  return out;
}

/**
 * True when n0inv and rr agree with the modulus. libavb trusts them as given, and wrong values make
 * its Montgomery arithmetic (and so the signature check) fail; we use node:crypto instead, so we
 * check them explicitly to refuse the same keys.
 */
export function avbKeyIsConsistent(k: AvbRsaPublicKey): boolean {
  const n = bigFromBytes(k.modulus);
  if (n % 2n === 0n) return false;
  return n0invOf(n) === k.n0inv && bigFromBytes(k.rr) === (1n << BigInt(2 * k.keyBits)) % n;
}

// ---------------------------------------------------------------- PKCS#1 v1.5

/** DER DigestInfo prefixes for SHA-256 and SHA-512 (RFC 8017 §9.2 note 1; the tails of libavb's padding tables). */
const DIGEST_INFO: Record<"sha256" | "sha512", string> = {
  sha256: "3031300d060960864801650304020105000420",
  sha512: "3051300d060960864801650304020305000440",
};

/**
 * The PKCS#1 v1.5 block before the hash, 00 01 FF..FF 00 DigestInfo, as libavb's
 * padding_RSA*_SHA* tables hold it (avb_vbmeta_image.c) and avbtool's ALGORITHMS[...].padding.
 */
export function pkcs1Prefix(a: AvbAlgorithm): Uint8Array {
  if (a.hash === null) return new Uint8Array(0);
  const info = Buffer.from(DIGEST_INFO[a.hash], "hex");
  const out = new Uint8Array(a.signatureSize - a.hashSize).fill(0xff);
  out[0] = 0x00;
  out[1] = 0x01;
  out[out.length - info.length - 1] = 0x00;
  out.set(info, out.length - info.length);
  return out;
}
