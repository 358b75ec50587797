/**
 * The AVB payloads a protected VM's VMM may load (the avbtool-made vectors under test/fixtures/avb,
 * throwaway keys) and pvmfw's trusted key. Files are read once per process; each load hands out a
 * copy, since the event owns its bytes.
 */
import { createHash } from "node:crypto";
import { readImage, vectorPath } from "../builtin/pvm-common.ts";
import type { PayloadName } from "./world.ts";

export const TRUSTED_KEY_FILE = vectorPath("pvmfw_key_rsa2048.avbpubkey");

const FILES: Record<Exclude<PayloadName, "tampered">, string> = {
  ri5: "kernel_signed_ri5.img",
  ri3: "kernel_signed_ri3.img",
  untrusted: "kernel_signed_otherkey.img",
};

const cache = new Map<PayloadName, Uint8Array>();

export function payloadBytes(name: PayloadName): Uint8Array {
  let bytes = cache.get(name);
  if (bytes === undefined) {
    if (name === "tampered") {
      bytes = payloadBytes("ri5");
      bytes[0x1_0000] = bytes[0x1_0000]! ^ 0x40; // one flipped bit in the kernel body
    } else bytes = readImage(vectorPath(FILES[name]));
    cache.set(name, bytes);
  }
  return bytes.slice();
}

let digest: string | null = null;

/** SHA-256 over the payloads and the trusted key: part of every swarm scenario's hash (computed once). */
export function payloadsDigest(): string {
  if (digest === null) {
    const h = createHash("sha256");
    for (const name of ["ri5", "ri3", "untrusted"] as const) h.update(payloadBytes(name));
    digest = h.update(readImage(TRUSTED_KEY_FILE)).digest("hex");
  }
  return digest;
}
