/**
 * libavb's result vocabularies, spelled as libavb spells them.
 *
 * AvbSlotVerifyResult (libavb/avb_slot_verify.h; the strings are those of
 * avb_slot_verify_result_to_string() in avb_slot_verify.c) and AvbVBMetaVerifyResult
 * (libavb/avb_vbmeta_image.h). Numeric values from reference §3.5.
 */

/** AvbSlotVerifyResult names as avb_slot_verify_result_to_string() prints them. */
export type AvbSlotVerifyResult =
  | "OK"
  | "ERROR_OOM"
  | "ERROR_IO"
  | "ERROR_VERIFICATION"
  | "ERROR_ROLLBACK_INDEX"
  | "ERROR_PUBLIC_KEY_REJECTED"
  | "ERROR_INVALID_METADATA"
  | "ERROR_UNSUPPORTED_VERSION"
  | "ERROR_INVALID_ARGUMENT";

/** The numeric value of each AvbSlotVerifyResult (enum order in avb_slot_verify.h). */
export const AVB_SLOT_VERIFY_RESULT_CODES: Readonly<Record<AvbSlotVerifyResult, number>> = {
  OK: 0,
  ERROR_OOM: 1,
  ERROR_IO: 2,
  ERROR_VERIFICATION: 3,
  ERROR_ROLLBACK_INDEX: 4,
  ERROR_PUBLIC_KEY_REJECTED: 5,
  ERROR_INVALID_METADATA: 6,
  ERROR_UNSUPPORTED_VERSION: 7,
  ERROR_INVALID_ARGUMENT: 8,
};

/** The C enumerator, e.g. `AVB_SLOT_VERIFY_RESULT_ERROR_VERIFICATION`. */
export function avbSlotVerifyResultCName(r: AvbSlotVerifyResult): string {
  return `AVB_SLOT_VERIFY_RESULT_${r}`;
}

/**
 * The short name the CLI prints: the libavb name without its `ERROR_` prefix, e.g.
 * ERROR_PUBLIC_KEY_REJECTED → PUBLIC_KEY_REJECTED, ERROR_VERIFICATION → VERIFICATION, OK → OK.
 * (pvmfw's Rust binding names the same cases PublicKeyRejected, Verification, ... .)
 */
export function avbCliName(r: AvbSlotVerifyResult): string {
  return r.startsWith("ERROR_") ? r.slice("ERROR_".length) : r;
}

/** The short name used for input that is not an AVB image at all (no footer, no vbmeta). */
export const AVB_NOT_AN_IMAGE = "NOT_AVB_IMAGE";

/** AvbVBMetaVerifyResult names (avb_vbmeta_image.h, without the AVB_VBMETA_VERIFY_RESULT_ prefix). */
export type AvbVBMetaVerifyResult =
  | "OK"
  | "OK_NOT_SIGNED"
  | "INVALID_VBMETA_HEADER"
  | "UNSUPPORTED_VERSION"
  | "HASH_MISMATCH"
  | "SIGNATURE_MISMATCH";

/** How load_and_verify_vbmeta() in avb_slot_verify.c maps a vbmeta result to a slot result. */
export function slotResultForVbmeta(r: AvbVBMetaVerifyResult): AvbSlotVerifyResult {
  switch (r) {
    case "OK":
      return "OK";
    case "OK_NOT_SIGNED":
    case "HASH_MISMATCH":
    case "SIGNATURE_MISMATCH":
      return "ERROR_VERIFICATION";
    case "INVALID_VBMETA_HEADER":
      return "ERROR_INVALID_METADATA";
    case "UNSUPPORTED_VERSION":
      return "ERROR_UNSUPPORTED_VERSION";
  }
}
