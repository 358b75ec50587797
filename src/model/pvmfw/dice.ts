/**
 * DICE layering as the Open Profile for DICE defines it and AVF uses it (reference §4; google/open-dice
 * src/dice.c DiceMainFlow, DiceDeriveCdiPrivateKey, DiceDeriveCdiCertificateId, src/cbor_cert_op.c).
 *
 *   CDI_Attest' = HKDF-SHA512(ikm = CDI_Attest, salt = SHA-512(code ‖ config ‖ authority ‖ mode ‖ hidden), "CDI_Attest", 32)
 *   CDI_Seal'   = HKDF-SHA512(ikm = CDI_Seal,   salt = SHA-512(authority ‖ mode ‖ hidden),                "CDI_Seal",   32)
 *   key seed    = HKDF-SHA512(ikm = CDI_Attest, salt = kAsymSalt, "Key Pair", 32)  → Ed25519 private key
 *   cert ID     = HKDF-SHA512(ikm = public key, salt = kIdSalt, "ID", 20), top bit cleared, lower-case hex
 *
 * The first layer uses the UDS as both current CDIs (DiceMainFlow is called with the UDS), and the
 * chain root is the UDS public key. Pure and deterministic: Ed25519 signatures have no randomness.
 */
import { sign } from "node:crypto";
import { concatBytes } from "./avb-format.ts";
import { canonicalMap, cborEncode, cborHead, cborInt } from "./dice-cbor.ts";
import {
  CONFIG_KEY,
  CWT,
  DICE_MODE,
  KEY_USAGE_CERT_SIGN,
  coseKeyEd25519,
  diceCertificateId,
  diceKeySeed,
  ed25519PrivateKey,
  ed25519PublicFromSeed,
  protectedHeaderEdDsa,
  sha512,
  sigStructure,
  hkdf,
  type DiceMode,
} from "./dice-format.ts";

/** The chain verifier lives in dice-verify.ts; re-exported so dice.ts is the whole DICE surface. */
export { verifyBcc, type BccEntry, type BccVerifyResult } from "./dice-verify.ts";
/** DICE constants (claim labels, modes, COSE values) from dice-format.ts. */
export { DICE_MODE, CWT, CONFIG_KEY, COSE, KEY_USAGE_CERT_SIGN, type DiceMode } from "./dice-format.ts";

/** The inputs of one DICE layer (reference §4.1). Hashes are 64 bytes (SHA-512). */
export interface DiceInputs {
  readonly codeHash: Uint8Array;
  /** CBOR configuration descriptor; the config input is then SHA-512(descriptor). */
  readonly configDescriptor?: Uint8Array;
  /** 64-byte inline configuration value, used when there is no descriptor. */
  readonly configValue?: Uint8Array;
  readonly authorityHash: Uint8Array;
  readonly mode: DiceMode;
  /** Never appears in a certificate; default 64 zero bytes. */
  readonly hidden?: Uint8Array;
  /** Android profile name claim, e.g. "android.15"; omitted when absent. */
  readonly profileName?: string;
}

/** A boot certificate chain: the root (UDS) public key and one encoded COSE_Sign1 per layer, oldest first. */
export interface DiceChain {
  readonly rootPublicKey: Uint8Array;
  readonly certificates: readonly Uint8Array[];
}

/** The DICE state handed to a layer: its CDIs, its key pair and the chain ending with its certificate. */
export interface DiceLayer {
  readonly cdiAttest: Uint8Array;
  readonly cdiSeal: Uint8Array;
  /** Ed25519 private key seed derived from cdiAttest (secret, like the CDIs). */
  readonly keySeed: Uint8Array;
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** CDI certificate ID of `publicKey`, 40 lower-case hex digits. */
  readonly id: string;
  readonly chain: DiceChain;
}

function need(b: Uint8Array | undefined, len: number, what: string): Uint8Array {
  if (b === undefined || b.length !== len) throw new RangeError(`DICE ${what} must be ${len} bytes`);
  return b;
}

function layerFromCdis(cdiAttest: Uint8Array, cdiSeal: Uint8Array, chain: DiceChain): DiceLayer {
  const keySeed = diceKeySeed(cdiAttest);
  const publicKey = ed25519PublicFromSeed(keySeed);
  return { cdiAttest, cdiSeal, keySeed, publicKey, id: diceCertificateId(publicKey), chain };
}

/** The root layer: the 32-byte UDS serves as both CDIs; the chain holds only the UDS public key. */
export function diceRoot(uds: Uint8Array): DiceLayer {
  const u = need(uds, 32, "UDS").slice();
  const root = layerFromCdis(u, u.slice(), { rootPublicKey: new Uint8Array(0), certificates: [] });
  return { ...root, chain: { rootPublicKey: root.publicKey, certificates: [] } };
}

/** The 64-byte config input: SHA-512 of the descriptor, or the inline value (DiceMainFlow). */
function configInput(inputs: DiceInputs): Uint8Array {
  if (inputs.configDescriptor !== undefined) return sha512(inputs.configDescriptor);
  return need(inputs.configValue, 64, "inline config value");
}

/** DiceMainFlow: the next CDIs, key pair and a certificate for it signed by the parent's key. */
export function diceExtend(parent: DiceLayer, inputs: DiceInputs): DiceLayer {
  const code = need(inputs.codeHash, 64, "code hash");
  const authority = need(inputs.authorityHash, 64, "authority hash");
  const hidden = inputs.hidden === undefined ? new Uint8Array(64) : need(inputs.hidden, 64, "hidden input");
  const mode = Uint8Array.of(inputs.mode);
  const cdiAttest = hkdf(parent.cdiAttest, sha512(code, configInput(inputs), authority, mode, hidden), "CDI_Attest", 32);
  const cdiSeal = hkdf(parent.cdiSeal, sha512(authority, mode, hidden), "CDI_Seal", 32);
  const child = layerFromCdis(cdiAttest, cdiSeal, parent.chain);
  const cert = makeCertificate(parent, child, inputs);
  return { ...child, chain: { rootPublicKey: parent.chain.rootPublicKey, certificates: [...parent.chain.certificates, cert] } };
}

/** The CWT claims of a layer certificate (open-dice EncodeCwt, keys in deterministic order). */
function cwtClaims(parent: DiceLayer, child: DiceLayer, inputs: DiceInputs): Map<number, unknown> {
  const claims: [number, unknown][] = [
    [CWT.ISS, parent.id],
    [CWT.SUB, child.id],
    [CWT.CODE_HASH, inputs.codeHash],
    [CWT.AUTHORITY_HASH, inputs.authorityHash],
    [CWT.MODE, Uint8Array.of(inputs.mode)],
    [CWT.SUBJECT_PUBLIC_KEY, cborEncode(coseKeyEd25519(child.publicKey))],
    [CWT.KEY_USAGE, Uint8Array.of(KEY_USAGE_CERT_SIGN)],
  ];
  if (inputs.configDescriptor !== undefined) {
    claims.push([CWT.CONFIG_DESCRIPTOR, inputs.configDescriptor], [CWT.CONFIG_HASH, sha512(inputs.configDescriptor)]);
  } else {
    claims.push([CWT.CONFIG_DESCRIPTOR, configInput(inputs)]); // open-dice puts an inline value here too
  }
  if (inputs.profileName !== undefined) claims.push([CWT.PROFILE_NAME, inputs.profileName]);
  return canonicalMap(claims);
}

/** An untagged COSE_Sign1 [protected, {}, payload, signature] signed with the parent's key. */
function makeCertificate(parent: DiceLayer, child: DiceLayer, inputs: DiceInputs): Uint8Array {
  const prot = protectedHeaderEdDsa();
  const payload = cborEncode(cwtClaims(parent, child, inputs));
  const signature = new Uint8Array(sign(null, sigStructure(prot, payload), ed25519PrivateKey(parent.keySeed)));
  return cborEncode([prot, new Map(), payload, signature]);
}

/** The DICE chain as CBOR: [COSE_Key root, COSE_Sign1 …] (reference §4.2 DiceCertChain). */
export function encodeBcc(chain: DiceChain): Uint8Array {
  const root = cborEncode(coseKeyEd25519(chain.rootPublicKey));
  return concatBytes([cborHead(4, 1 + chain.certificates.length), root, ...chain.certificates]);
}

/** Where pvmfw's DICE inputs come from (reference §2.10). Digests are the AVB hash-descriptor digests. */
export interface PvmfwDiceSources {
  readonly kernelDigest: Uint8Array;
  readonly initrdDigest?: Uint8Array;
  /** The AVB public key pvmfw trusts (.avbpubkey bytes): the authority. */
  readonly trustedPublicKey: Uint8Array;
  readonly rollbackIndex: bigint | number;
  /** True when the initrd verified as initrd_debug (mode Debug), else Normal. */
  readonly debug: boolean;
  /** The 64-byte instance salt (instance.img entry, or derived from the instance id). */
  readonly salt: Uint8Array;
  readonly rkpVm?: boolean;
  readonly deferRollbackProtection?: boolean;
  readonly instanceHash?: Uint8Array;
  readonly profileName?: string;
}

/** The DICE inputs pvmfw derives the "vm_entry" layer from (reference §2.10; AVF guest/pvmfw/src/dice.rs). */
export function pvmfwDiceInputs(s: PvmfwDiceSources): DiceInputs {
  const initrd = s.initrdDigest ?? new Uint8Array(32);
  const config: [number, unknown][] = [
    [CONFIG_KEY.COMPONENT_NAME, "vm_entry"],
    [CONFIG_KEY.SECURITY_VERSION, cborInt(s.rollbackIndex)],
  ];
  if (s.rkpVm === true) config.push([CONFIG_KEY.RKP_VM_MARKER, null]);
  if (s.instanceHash !== undefined) config.push([CONFIG_KEY.INSTANCE_HASH, need(s.instanceHash, 64, "instance hash")]);
  const hidden = sha512(Uint8Array.of(s.rkpVm === true ? 1 : 0), need(s.salt, 64, "salt"), Uint8Array.of(s.deferRollbackProtection === true ? 1 : 0));
  const base: DiceInputs = {
    codeHash: sha512(s.kernelDigest, initrd),
    configDescriptor: cborEncode(canonicalMap(config)),
    authorityHash: sha512(s.trustedPublicKey),
    mode: s.debug ? DICE_MODE.DEBUG : DICE_MODE.NORMAL,
    hidden,
  };
  return s.profileName === undefined ? base : { ...base, profileName: s.profileName };
}
