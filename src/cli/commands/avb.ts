import type { Command } from "commander";
import { INPUT_BYTES_MAX, readInputFile } from "../../sim/file/read-file.ts";
import type { Io } from "../io.ts";
import { helpAfter } from "../help.ts";
import { EXIT } from "../exit.ts";
import { die } from "../../core/errors.ts";
import { parseIntOption } from "../files.ts";
import { parseAvbPublicKey, verifyAvbImage, type AvbVerifyOutcome } from "../../model/pvmfw/index.ts";
import { toJson } from "../../core/json.ts";

function readInput(what: string, path: string): Uint8Array {
  return readInputFile(`${what} ${path}: `, path, what === "key" ? INPUT_BYTES_MAX.key : INPUT_BYTES_MAX.avb);
}

/** Human lines for a verification outcome. */
function lines(image: string, r: AvbVerifyOutcome): string[] {
  if (r.ok) {
    return [
      `${image}: OK (${r.algorithm}, partition ${r.partitionName})`,
      `  rollback index   ${r.rollbackIndex} (location ${r.rollbackIndexLocation})`,
      `  vbmeta digest    ${r.digestAlgorithm}:${r.digest}`,
      `  payload          ${r.imageSize} bytes, ${r.hashAlgorithm}:${r.hashDigest}`,
    ];
  }
  return [`${image}: ${r.cliName} (${r.result}): ${r.detail}`];
}

/**
 * `hvsim avb verify IMAGE --key KEY.avbpubkey`: the same verifier pvmfw runs in a scenario, outside
 * one. Exit 0 verified (rollback index and digest printed); 1 refused with AVB's own result name;
 * 2 when the file is not an AVB image at all.
 */
export function registerAvb(program: Command, io: Io, setCode: (c: number) => void): void {
  const avb = program.command("avb").description("Android Verified Boot tools (the verifier pvmfw uses)");
  avb
    .command("verify")
    .description("verify an image with an AVB hash footer against a trusted AVB public key")
    .argument("<image>", "image with an AVB footer (avbtool add_hash_footer)")
    .requiredOption("--key <file>", "trusted public key in AVB format (.avbpubkey, avbtool extract_public_key)")
    .option("--rollback <n>", "stored rollback index to check against", "0")
    .option("--partition <name>", "partition name of the hash descriptor", "boot")
    .option("--json", "print the outcome as JSON")
    .addHelpText(
      "after",
      helpAfter("avb verify", [
        "hvsim avb verify test/fixtures/avb/kernel_signed_ri5.img --key test/fixtures/avb/pvmfw_key_rsa2048.avbpubkey",
        "hvsim avb verify test/fixtures/avb/kernel_signed_ri3.img --key test/fixtures/avb/pvmfw_key_rsa2048.avbpubkey --rollback 5  # exit 1: ROLLBACK_INDEX",
      ]),
    )
    .action((image: string, opts: { key: string; rollback: string; partition: string; json?: boolean }) => {
      const key = readInput("key", opts.key);
      // A file that is not a key at all is bad input, not AVB refusing a wrong key (exit 1).
      const parsed = parseAvbPublicKey(key);
      if (typeof parsed === "string") die("ARGUMENT_INVALID", `--key ${opts.key}: not an AVB public key (.avbpubkey, avbtool extract_public_key): ${parsed}`);
      const r = verifyAvbImage(readInput("image", image), {
        trustedPublicKey: key,
        storedRollbackIndex: parseIntOption("--rollback", opts.rollback, 0),
        partitionName: opts.partition,
      });
      if (opts.json) {
        const { publicKey: _key, ...rest } = r as AvbVerifyOutcome & { publicKey?: Uint8Array };
        io.out(toJson(rest));
      } else {
        for (const l of lines(image, r)) (r.ok ? io.out : io.err)(r.ok ? l : `hvsim: ${l}`);
      }
      setCode(r.ok ? EXIT.ok : r.kind === "not-avb" ? EXIT.input : EXIT.finding);
    });
}
