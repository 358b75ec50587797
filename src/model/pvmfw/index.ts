/**
 * The verified-boot and DICE room of the pvmfw model: pure, deterministic functions over bytes.
 *
 * - AVB: `verifyAvbImage` checks an `avbtool add_hash_footer` image the way pvmfw's
 *   avb_slot_verify() call does; `signAvbImage` makes such images; `avbPublicKeyFromPem` makes
 *   .avbpubkey bytes.
 * - DICE: `diceRoot` / `diceExtend` derive CDIs, keys and certificates (Open Profile for DICE, as AVF
 *   uses it); `encodeBcc` / `verifyBcc` encode and check the chain; `pvmfwDiceInputs` builds the
 *   inputs pvmfw uses for the "vm_entry" layer.
 * - Rollback: a sealed store of rollback indices with `checkRollback` / `advanceRollback`.
 */

/** AVB verification of a kernel image: the entry point, its options and its outcomes. */
export {
  verifyAvbImage,
  type AvbVerifyOptions,
  type AvbVerifyOutcome,
  type AvbVerified,
  type AvbRejected,
  type AvbNotAnImage,
  type AvbHashDescriptorInfo,
} from "./avb.ts";

/** libavb's result names, their numeric codes, C enumerators and the CLI's short names. */
export {
  AVB_SLOT_VERIFY_RESULT_CODES,
  AVB_NOT_AN_IMAGE,
  avbCliName,
  avbSlotVerifyResultCName,
  slotResultForVbmeta,
  type AvbSlotVerifyResult,
  type AvbVBMetaVerifyResult,
} from "./avb-result.ts";

/** AVB algorithm table and the low-level format readers (footer, public key). */
export {
  AVB_ALGORITHMS,
  avbAlgorithmByName,
  parseFooter,
  parseAvbPublicKey,
  encodeAvbPublicKey,
  type AvbAlgorithm,
  type AvbAlgorithmName,
  type AvbFooter,
  type AvbRsaPublicKey,
} from "./avb-format.ts";

/** The vbmeta-level check (avb_vbmeta_image_verify), for callers that hold a bare vbmeta image. */
export { verifyVbmetaImage, type VbmetaCheck, type VbmetaBlocks } from "./avb-vbmeta.ts";

/** Signing: avbtool-compatible images and .avbpubkey encoding. */
export { signAvbImage, makeVbmetaImage, avbPublicKeyFromPem, type AvbSignRequest } from "./avb-sign.ts";

/** DICE chain derivation, encoding and verification. */
export {
  diceRoot,
  diceExtend,
  encodeBcc,
  verifyBcc,
  pvmfwDiceInputs,
  DICE_MODE,
  CWT,
  CONFIG_KEY,
  COSE,
  KEY_USAGE_CERT_SIGN,
  type DiceMode,
  type DiceInputs,
  type DiceLayer,
  type DiceChain,
  type PvmfwDiceSources,
  type BccEntry,
  type BccVerifyResult,
} from "./dice.ts";

/** DICE primitives: key seed, public key and certificate ID derivation. */
export { diceKeySeed, diceCertificateId, ed25519PublicFromSeed } from "./dice-format.ts";

/** The sealed rollback-index store. */
export {
  newRollbackStore,
  sealRollbackStore,
  rollbackStoreIntact,
  checkRollback,
  advanceRollback,
  type RollbackStore,
  type RollbackImage,
  type RollbackBoot,
  type RollbackCheck,
} from "./rollback.ts";
