/**
 * pvmfw's boot flow as pure functions (reference avf-protected-vm.md §2.5, §2.8–§2.11), used by the
 * protected-VM room (src/model/protected):
 *
 *   ABL (genesis)  : UDS → root DICE layer → the "pvmfw" layer ABL derives; a sealed rollback store.
 *   VMM load       : `payloadFacts` verifies the payload bytes once with the key built into pvmfw,
 *                    exactly as pvmfw's avb_slot_verify() call does (stored rollback index 0:
 *                    pvmfw's read_rollback_index always returns 0, §2.8), and keeps only the facts.
 *   pvmfw (VERIFY, ROLLBACK, DICE) : `pvmfwDecide` then `pvmfwNextHandover`.
 *
 * Why facts, not bytes: the payload (270 KB in the AVB vectors) enters the trace once, in the event
 * that loads it; the state keeps its digest and the verification result, so snapshots and state
 * hashes stay small. The verification depends only on the bytes and the trusted key, both fixed
 * at load time, so computing it at load gives the same answer pvmfw computes at boot; only the
 * rollback comparison depends on boot-time state, and it is done at boot.
 */
import { createHash } from "node:crypto";
import { verifyAvbImage } from "./avb.ts";
import { AVB_SLOT_VERIFY_RESULT_CODES, type AvbSlotVerifyResult } from "./avb-result.ts";
import { diceExtend, diceRoot, encodeBcc, pvmfwDiceInputs, type DiceChain, type DiceLayer } from "./dice.ts";
import { DICE_MODE, diceCertificateId, diceKeySeed, ed25519PublicFromSeed, hkdf, sha512 } from "./dice-format.ts";
import { canonicalMap, cborDecode, cborEncode } from "./dice-cbor.ts";
import { checkRollback, newRollbackStore, sealRollbackStore, type RollbackStore } from "./rollback.ts";
import { toHex } from "./avb-format.ts";

const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, "hex"));

/**
 * pvmfw's RebootReason (AVF guest/pvmfw/src/entry.rs), with the string pvmfw writes on UART 1. The
 * numeric codes are hvsim's (the enum's declaration order); they travel in the exit notification.
 */
export const PVMFW_REBOOT_REASONS = [
  ["InvalidBcc", "PVM_FIRMWARE_INVALID_BCC"],
  ["InvalidConfig", "PVM_FIRMWARE_INVALID_CONFIG_DATA"],
  ["InternalError", "PVM_FIRMWARE_INTERNAL_ERROR"],
  ["InvalidFdt", "PVM_FIRMWARE_INVALID_FDT"],
  ["InvalidPayload", "PVM_FIRMWARE_INVALID_PAYLOAD"],
  ["InvalidRamdisk", "PVM_FIRMWARE_INVALID_RAMDISK"],
  ["PayloadVerificationError", "PVM_FIRMWARE_PAYLOAD_VERIFICATION_FAILED"],
  ["SecretDerivationError", "PVM_FIRMWARE_SECRET_DERIVATION_FAILED"],
] as const;
export type PvmfwRebootReason = (typeof PVMFW_REBOOT_REASONS)[number][0];
export const pvmfwReasonCode = (r: PvmfwRebootReason): number => PVMFW_REBOOT_REASONS.findIndex(([n]) => n === r);
export const pvmfwReasonString = (r: PvmfwRebootReason): string => PVMFW_REBOOT_REASONS.find(([n]) => n === r)![1];

/** What the machine config says about the protected-VM platform (hex strings: the config is JSON-like). */
export interface ProtectedPlatformConfig {
  /** The device's Unique Device Secret, 32 bytes as 64 hex digits: the DICE chain's root. */
  readonly uds: string;
  /** The AVB public key built into pvmfw (.avbpubkey bytes as hex). */
  readonly trustedKey: string;
  /** Size of the pvmfw image the bootloader loaded (bytes); default 1 MiB. */
  readonly pvmfwSize?: number;
  /** Rollback indices already stored for location 0 (a device that booted newer payloads before). */
  readonly storedRollbackIndex?: number;
}

/** A DICE handover as plain state: the CDIs and the chain (AndroidDiceHandover, reference §4.2). */
export interface Handover {
  cdiAttest: Uint8Array;
  cdiSeal: Uint8Array;
  rootPublicKey: Uint8Array;
  certificates: Uint8Array[];
}

/** The bootloader's work at power-on, as genesis sees it. */
export interface PvmfwGenesis {
  trustedKey: Uint8Array;
  pvmfwSize: number;
  /** SHA-512 of pvmfw's code as ABL measured it (hex). */
  codeHash: string;
  handover: Handover;
  rollback: RollbackStore;
  /** Seals `rollback` (derived from the UDS; the model's stand-in for instance.img's sealing key). */
  rollbackKey: Uint8Array;
}

/** The key that seals the rollback store: derived from the UDS (a device secret), never in a trace. */
export const rollbackKeyOf = (uds: Uint8Array): Uint8Array => hkdf(uds, new Uint8Array(0), "hvsim rollback store", 32);

function handoverOf(layer: DiceLayer): Handover {
  return { cdiAttest: layer.cdiAttest, cdiSeal: layer.cdiSeal, rootPublicKey: layer.chain.rootPublicKey, certificates: [...layer.chain.certificates] };
}

/** Rebuilds the DICE layer a handover describes (key pair from CDI_Attest, as DiceMainFlow does). */
export function layerOf(h: Handover): DiceLayer {
  const keySeed = diceKeySeed(h.cdiAttest);
  const publicKey = ed25519PublicFromSeed(keySeed);
  const chain: DiceChain = { rootPublicKey: h.rootPublicKey, certificates: h.certificates };
  return { cdiAttest: h.cdiAttest, cdiSeal: h.cdiSeal, keySeed, publicKey, id: diceCertificateId(publicKey), chain };
}

/**
 * ABL: root layer from the UDS, then the "pvmfw" entry ABL adds (reference §4.5: code = pvmfw and
 * the images ABL verified, authority = their key, mode Normal). pvmfw's code is not modelled as
 * bytes: its measurement is SHA-512 of a fixed descriptor naming the model version and size.
 */
export function pvmfwGenesis(c: ProtectedPlatformConfig): PvmfwGenesis {
  const uds = fromHex(c.uds);
  const pvmfwSize = c.pvmfwSize ?? 0x10_0000;
  const code = sha512(new TextEncoder().encode(`hvsim pvmfw image, ${pvmfwSize} bytes`));
  const abl = diceExtend(diceRoot(uds), {
    codeHash: code,
    configDescriptor: cborEncode(canonicalMap([[-70002, "pvmfw"]])),
    authorityHash: sha512(new TextEncoder().encode("hvsim ABL signing key")),
    mode: DICE_MODE.NORMAL,
  });
  let rollback = newRollbackStore(rollbackKeyOf(uds));
  if (c.storedRollbackIndex !== undefined && c.storedRollbackIndex > 0) {
    const idx = [...rollback.indices];
    idx[0] = BigInt(c.storedRollbackIndex);
    rollback = sealRollbackStore(idx, rollbackKeyOf(uds));
  }
  return { trustedKey: fromHex(c.trustedKey), pvmfwSize, codeHash: toHex(code), handover: handoverOf(abl), rollback, rollbackKey: rollbackKeyOf(uds) };
}

/** What the model keeps of a loaded payload: its size, digest and pvmfw's AVB verdict. */
export interface PayloadFacts {
  size: number;
  /** SHA-256 of the whole image as loaded (hex). */
  sha256: string;
  /** libavb's slot result for this image against the trusted key (stored rollback index 0). */
  avb: AvbSlotVerifyResult;
  detail: string;
  /** From the verified vbmeta; null when verification failed. */
  rollbackIndex: bigint | null;
  rollbackIndexLocation: number;
  /** The `boot` hash descriptor's digest (hex), the DICE code input; "" when verification failed. */
  kernelDigest: string;
}

/** Verifies a payload the way pvmfw does (§2.8) and keeps the facts (never throws). */
export function payloadFacts(image: Uint8Array, trustedKey: Uint8Array): PayloadFacts {
  const v = verifyAvbImage(image, { trustedPublicKey: trustedKey, storedRollbackIndex: 0, partitionName: "boot" });
  const sha256 = createHash("sha256").update(image).digest("hex");
  if (!v.ok) return { size: image.length, sha256, avb: v.result, detail: v.detail, rollbackIndex: null, rollbackIndexLocation: 0, kernelDigest: "" };
  return { size: image.length, sha256, avb: "OK", detail: "", rollbackIndex: v.rollbackIndex, rollbackIndexLocation: v.rollbackIndexLocation, kernelDigest: v.hashDigest };
}

/** pvmfw's required RAM base and the most of a DT it maps (reference §2.4). */
export const PVMFW_RAM_BASE = 0x8000_0000;
export const PVMFW_FDT_MAX = 0x20_0000;

/**
 * The FDT stage (§2.4, §2.5 FDT; [VIRT] guest/pvmfw/src/fdt.rs read_and_validate_memory_range):
 * the DT at X0 must parse, and the first `/memory` range must start at exactly 0x8000_0000 with a
 * non-zero size that is a multiple of 4 KiB; any failure is INVALID_FDT. `dt` is the parsed DT
 * (null: unreadable). Returns what is wrong, or null. Left out: the rest of pvmfw's validation
 * (CPUs, GIC, timers, serial, PCI, the swiotlb pool: the model's pVM shares its bounce buffers
 * itself, pvm-share) and the rebuilt DT.
 */
export function pvmfwCheckFdt(dt: Record<string, unknown> | null): string | null {
  if (dt === null) return "the DT at X0 does not parse";
  const mem = dt["/memory"] as { reg?: unknown } | undefined;
  const reg = Array.isArray(mem?.reg) ? (mem.reg as unknown[]) : [];
  const first = reg[0];
  if (!Array.isArray(first) || typeof first[0] !== "number" || typeof first[1] !== "number") return "the DT has no /memory range";
  const [base, size] = first as [number, number];
  if (base !== PVMFW_RAM_BASE) return `/memory starts at 0x${base.toString(16)}, not 0x80000000`;
  if (size <= 0 || size % 0x1000 !== 0) return `/memory size 0x${size.toString(16)} is not a non-zero multiple of 4 KiB`;
  return null;
}

export type PvmfwDecision =
  | { readonly ok: true; readonly rollbackIndex: bigint; readonly stored: bigint }
  | { readonly ok: false; readonly reason: PvmfwRebootReason; readonly avb: AvbSlotVerifyResult; readonly detail: string };

/**
 * VERIFY then ROLLBACK (§2.5): an AVB failure is PAYLOAD_VERIFICATION_FAILED; an image whose
 * rollback index is below the stored one is INVALID_PAYLOAD (pvmfw's own check, §2.9; the AVB result
 * code reported beside it is ERROR_ROLLBACK_INDEX). `skipRollback` is the rollback-check-skipped defect.
 */
export function pvmfwDecide(f: PayloadFacts, store: RollbackStore, skipRollback: boolean): PvmfwDecision {
  if (f.avb !== "OK" || f.rollbackIndex === null) return { ok: false, reason: "PayloadVerificationError", avb: f.avb, detail: f.detail };
  const stored = store.indices[f.rollbackIndexLocation] ?? 0n;
  if (!skipRollback) {
    const c = checkRollback(store, { rollbackIndex: f.rollbackIndex, rollbackIndexLocation: f.rollbackIndexLocation });
    if (!c.ok) return { ok: false, reason: "InvalidPayload", avb: c.result, detail: c.detail };
  }
  return { ok: true, rollbackIndex: f.rollbackIndex, stored };
}

/** The AVB result code that travels beside a reboot reason. */
export const avbResultCode = (r: AvbSlotVerifyResult): number => AVB_SLOT_VERIFY_RESULT_CODES[r];

/**
 * DICE (§2.10): the "vm_entry" layer pvmfw derives for the payload: code = SHA-512(kernel digest ‖
 * zero initrd digest), authority = SHA-512(pvmfw's embedded key), mode Normal. The instance salt is
 * SHA-512("InstanceId:" ‖ instance id) (the llpvm_changes rule, §2.9), so the same instance booting
 * the same payload gets the same CDIs every boot (its sealing key is stable).
 */
export function pvmfwNextHandover(incoming: Handover, f: PayloadFacts, instanceId: string, rollbackIndex: bigint, trustedKey: Uint8Array): Handover {
  const salt = sha512(new TextEncoder().encode(`InstanceId:${instanceId}`));
  const inputs = pvmfwDiceInputs({ kernelDigest: fromHex(f.kernelDigest), trustedPublicKey: trustedKey, rollbackIndex, debug: false, salt, profileName: "android.15" });
  return handoverOf(diceExtend(layerOf(incoming), inputs));
}

/** The handover as CBOR {1: CDI_Attest, 2: CDI_Seal, 3: DiceCertChain} (reference §4.2). */
export function encodeHandover(h: Handover): Uint8Array {
  const head = cborEncode(canonicalMap([[1, h.cdiAttest], [2, h.cdiSeal]]));
  const chain = encodeBcc({ rootPublicKey: h.rootPublicKey, certificates: h.certificates });
  // A 3-entry map: re-emit the 2-entry map's body with a 3-entry head, then key 3 and the chain.
  const out = new Uint8Array(head.length + 1 + chain.length);
  out.set(head);
  out[0] = 0xa3;
  out[head.length] = 0x03;
  out.set(chain, head.length + 1);
  return out;
}

/** The encoded chain of a handover. */
export const handoverBcc = (h: Handover): Uint8Array => encodeBcc({ rootPublicKey: h.rootPublicKey, certificates: h.certificates });

/**
 * Finds the DICE chain in CBOR bytes: a bare chain array, or a handover map whose key 3 is one.
 * Returns the chain's encoded bytes, or null when neither shape fits.
 */
export function bccFromCbor(bytes: Uint8Array): Uint8Array | null {
  if (bytes.length === 0) return null;
  const major = (bytes[0] as number) >> 5;
  if (major === 4) return bytes;
  if (major !== 5) return null;
  const m = cborDecode(bytes);
  if (!(m instanceof Map)) return null;
  const chain = m.get(3);
  if (!Array.isArray(chain)) return null;
  // Re-encode from the original bytes: the chain is the last item (key 3 sorts last in a canonical map).
  const at = findKey3(bytes);
  return at === null ? null : bytes.subarray(at);
}

function findKey3(b: Uint8Array): number | null {
  // Canonical handover: a3 01 <bstr> 02 <bstr> 03 <chain>. Walk the first two entries.
  let p = 1;
  for (let i = 0; i < 2; i++) {
    if (b[p] !== i + 1) return null;
    p += 1;
    const h = b[p]!;
    if (h >> 5 !== 2) return null;
    const ai = h & 31;
    const len = ai < 24 ? ai : ai === 24 ? b[p + 1]! : -1;
    if (len < 0) return null;
    p += (ai < 24 ? 1 : 2) + len;
  }
  return b[p] === 3 ? p + 1 : null;
}
