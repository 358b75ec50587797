/**
 * pvm-boot with real code: the protected VM's kernel is guests/pvm-payload (docs/guests.md). Its AVB
 * image is made when the scenario loads, deterministically, from the committed ELF: the flat binary
 * (what `objcopy -O binary` gives, linked at 0x8000_0000) signed with the built-in signer
 * (src/model/pvmfw/avb-sign.ts, avbtool's add_hash_footer layout) with the test key pvmfw trusts
 * (test/fixtures/avb), rollback index 5, a fixed salt. Why not a committed image: the ELF is the one
 * artifact the build test checks against the sources, the signer is deterministic, and a second
 * binary would only have to be kept in step with it.
 *
 * Two actors: crosvm's main thread with the HLOS (pvmfw registration, the VM's creation and START,
 * then the host's side of the bounce-buffer share: MEM_ACCEPT once the pVM shared and told it,
 * a read through the mapping, MEM_RELEASE and MEM_NOTIFY RELEASED, the read after the pVM's
 * reclaim, teardown), and the vCPU thread running the payload from pvmfw's jump to its power-off.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { MEM_ACCEPT_FLAG, MEM_NOTIFY_FLAG, TRANS_TYPE, VMID, rmMessageId } from "../../model/abi/rm.ts";
import type { Machine } from "../../model/machine.ts";
import { signAvbImage } from "../../model/pvmfw/avb-sign.ts";
import { decodeAcceptSgl, encodeMemAccept, encodeMemHandle, encodeMemNotify } from "../../model/rm/payloads.ts";
import type { Prng } from "../prng.ts";
import { flatImage, runCpuGuest } from "../lib/cpu-guest.ts";
import { vmRunning, type HostVm } from "../lib/host.ts";
import { wait, type Program, type Step } from "../lib/program.ts";
import { actorsDriver } from "../lib/script.ts";
import { guestImagePath } from "./guest-code.ts";
import { PVM_PLAN, createPvm, registerPvmfw, startPvm, teardown, vectorPath, type Rpc } from "./pvm-common.ts";

export const PAYLOAD_ELF = guestImagePath("pvm-payload");
export const PAYLOAD_KEY_PEM = vectorPath("pvmfw_key_rsa2048.pem");
export const PAYLOAD_ROLLBACK_INDEX = 5;
/** avbtool draws the hash descriptor's salt at random; ours is fixed so the image is the same everywhere. */
const SALT = new Uint8Array(createHash("sha256").update("hvsim pvm-payload").digest());

/** The payload's AVB image, from the ELF's bytes and the key's PEM text. */
export function signPayload(elf: Uint8Array, keyPem: string): Uint8Array {
  return signAvbImage({
    payload: flatImage(elf).bytes,
    algorithm: "SHA256_RSA2048",
    privateKeyPem: keyPem,
    rollbackIndex: PAYLOAD_ROLLBACK_INDEX,
    partitionName: "boot",
    salt: SALT,
  });
}

/** The payload image as pvm-boot loads it (signed from the committed ELF with the fixture key). */
export function payloadImage(): Uint8Array {
  return signPayload(new Uint8Array(readFileSync(PAYLOAD_ELF)), readFileSync(PAYLOAD_KEY_PEM, "utf8"));
}

/** A parcel the pVM shares with the host and has told it about (MEM_SHARED reached the HLOS after `notesBefore`). */
function sharedWithHost(s: Machine, pvm: number, notesBefore: number): number | null {
  if ((s.rm.channels[VMID.HLOS]?.notifications ?? 0) <= notesBefore) return null;
  for (const h of s.rm.parcels.ids) {
    const p = s.rm.parcels.byId[h]!;
    if (p.owner === pvm && p.transType === "SHARE" && p.borrowers.some((b) => b.vmid === VMID.HLOS && !b.accepted)) return h;
  }
  return null;
}

/** crosvm's main thread and the HLOS. */
function* hostSide(image: Uint8Array, vm: HostVm): Program {
  const host: Rpc = { seq: 0 };
  yield* registerPvmfw(host);
  yield* createPvm(vm, image, "pvm-instance-1", PVM_PLAN, host);
  const boot = yield* startPvm(vm);
  if (boot.result === "payload") {
    const rm = (msg: Parameters<typeof rmMessageId>[0], payload: Uint8Array): Step => ({ kind: "rm_request", vm: VMID.HLOS, msgId: rmMessageId(msg), rpcSeq: (host.seq = (host.seq % 0xffff) + 1), payload });
    let handle: number | null = null;
    let notes = 0;
    yield wait("count the HLOS's notifications", (s) => ((notes = s.rm.channels[VMID.HLOS]?.notifications ?? 0), true));
    yield wait("the pVM shares its bounce buffers", (s) => (handle = sharedWithHost(s, vm.vmid, notes)) !== null || !vmRunning(s, vm.vmid));
    if (handle !== null) {
      const acc = yield rm("MEM_ACCEPT", encodeMemAccept({ handle, memType: 0, transType: TRANS_TYPE.SHARE, flags: MEM_ACCEPT_FLAG.DONE, label: 0, acl: [], sgl: [], mapVmid: 0, attrs: [] }));
      const hostIpa = acc.err === "OK" ? (decodeAcceptSgl(acc.data as Uint8Array)[0]?.ipa ?? null) : null;
      if (hostIpa !== null) yield { kind: "host_read", ipa: hostIpa, sizeBytes: 8 };
      yield rm("MEM_RELEASE", encodeMemHandle({ handle, flags: 0 }));
      yield rm("MEM_NOTIFY", encodeMemNotify({ handle, flags: MEM_NOTIFY_FLAG.RELEASED, memInfoTag: 0, vmids: [] }));
      const h = handle;
      yield wait("the pVM reclaims its bounce buffers", (s) => s.rm.parcels.byId[h] === undefined || !vmRunning(s, vm.vmid));
      // The mapping went with the release: the host's read aborts.
      if (hostIpa !== null) yield { kind: "host_read", ipa: hostIpa, sizeBytes: 8 };
    }
    yield wait("the pVM powers off", (s) => !vmRunning(s, vm.vmid));
  }
  yield* teardown(vm);
}

/** crosvm's vCPU thread: from pvmfw's jump, the payload runs on the CPU until it powers off. */
function* vcpuSide(vm: HostVm): Program {
  yield wait("pvmfw jumped to the payload", (s) => vm.vmid !== 0 && s.pvm.vms.byId[vm.vmid]?.stage === "payload");
  yield { kind: "pv_time", vm: vm.vmid, vcpu: 0 };
  yield* runCpuGuest(vm, 0);
}

/** The pvm-boot driver's program pair (images[0] is the signed payload). */
export function payloadBootActors(images: Uint8Array[], _stream: (n: string) => Prng): { name: string; program: Program }[] {
  const vm: HostVm = { fd: 0, vmid: 0 };
  return [
    { name: "crosvm", program: hostSide(images[0]!, vm) },
    { name: "vcpu0", program: vcpuSide(vm) },
  ];
}

export const payloadDriver = (images: Uint8Array[], stream: (n: string) => Prng) => actorsDriver(payloadBootActors(images, stream), stream);
