/**
 * pvm-compile's guest work (CompOS-like isolated compilation, reference avf-protected-vm.md §6.3):
 * the pVM "compiles" (its output is drawn from its data stream), signs the output with a key it
 * derives from its DICE sealing CDI (stable across boots of the same instance and payload), and
 * writes output ‖ signature to disk through virtio-block (the request's data buffer sits in the
 * shared swiotlb pool, host memory). A second boot re-derives the key from its own CDI and checks
 * the artifact crosvm hands back in the same shared pool, and prints the verdict on its console.
 *
 * The key derivation and signature are the guest's computation: the driver reads the CDI from the
 * state the way the guest reads its DICE handover, and the verdict becomes a console event.
 */
import { createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import { hkdfSync } from "node:crypto";
import type { Machine } from "../../model/machine.ts";
import { readPhys } from "../../model/rm/content.ts";
import type { Prng } from "../prng.ts";
import { wait, type Program } from "../lib/program.ts";
import { queueLayout } from "../lib/vm-plan.ts";
import { blockIo, consoleWrite, type GuestCtx } from "../lib/guest.ts";
import { PVM_BLOCK, PVM_CONSOLE, PVM_PLAN } from "./pvm-common.ts";

const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const OUTPUT_BYTES = 448;
export const OUTPUT_SECTOR = 100;

function signingKey(cdiSeal: Uint8Array) {
  const seed = Buffer.from(hkdfSync("sha512", cdiSeal, new Uint8Array(0), Buffer.from("CompOS signing key"), 32));
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
}

/** The guest reads its DICE handover (pvmfw left it in reserved memory): here, from the state. */
function* sealingCdi(g: GuestCtx): Program<Uint8Array | null> {
  let cdi: Uint8Array | null = null;
  yield wait("read the DICE handover", (s: Machine) => {
    cdi = s.pvm.vms.byId[g.vmid]?.handover?.cdiSeal ?? null;
    return true;
  });
  return cdi;
}

/** A Prng stand-in that yields given bytes: blockIo draws its 512 data bytes from `g.data`. */
function bytesAsData(bytes: Uint8Array, rest: Prng): Prng {
  let i = 0;
  return { ...rest, rangeInclusive: (min: number, max: number) => (i < bytes.length ? bytes[i++]! : rest.rangeInclusive(min, max)) };
}

/** Compile, sign, write (block write of one sector); returns the 512-byte artifact. */
export function* compileAndSign(g: GuestCtx): Program<Uint8Array> {
  const output = Uint8Array.from({ length: OUTPUT_BYTES }, () => g.data.rangeInclusive(0, 255));
  const cdi = yield* sealingCdi(g);
  const signature = cdi === null ? new Uint8Array(64) : new Uint8Array(sign(null, output, signingKey(cdi)));
  const artifact = new Uint8Array(512);
  artifact.set(output);
  artifact.set(signature, OUTPUT_BYTES);
  yield* blockIo({ ...g, data: bytesAsData(artifact, g.data) }, PVM_BLOCK, 0, true, OUTPUT_SECTOR);
  yield* consoleWrite(g, PVM_CONSOLE, "compos: output signed and written\n", 1);
  return artifact;
}

/** Second boot: read the artifact from the shared pool, verify it with this boot's key, print the verdict. */
export function* verifyOutput(g: GuestCtx, expected: Uint8Array | null): Program {
  const gpa = queueLayout(PVM_PLAN, PVM_BLOCK.index, 0).buffers + 0x100;
  const host = PVM_PLAN.shared.host + (gpa - PVM_PLAN.shared.gpa);
  let artifact: Uint8Array = new Uint8Array(512);
  yield wait("read the artifact", (s: Machine) => {
    artifact = readPhys(s, host, 512);
    return true;
  });
  const cdi = yield* sealingCdi(g);
  const output = artifact.subarray(0, OUTPUT_BYTES);
  const ok = cdi !== null && expected !== null && verify(null, output, createPublicKey(signingKey(cdi)), artifact.subarray(OUTPUT_BYTES));
  yield* consoleWrite(g, PVM_CONSOLE, ok ? "compos: output verified\n" : "compos: output verification FAILED\n", 1);
}
