/**
 * Built-in scenarios whose guests are real AArch64 programs (guests/, built by guests/build.sh;
 * docs/guests.md): the VMM loads the image, the RM starts the VM, and its boot vCPU runs the code
 * on the emulated CPU; everything the guest does (device probing, console output, interrupts, RM
 * calls, power-off) comes from its instructions.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { MEM_NOTIFY_FLAG, VMID, rmMessageId } from "../../model/abi/rm.ts";
import { DEFAULT_PLATFORM } from "../../model/machine.ts";
import { encodeMemNotify } from "../../model/rm/payloads.ts";
import type { Scenario } from "../scenario.ts";
import { loadImage, runCpuGuest } from "../lib/cpu-guest.ts";
import { hostCollectExit, hostCreate, hostGive, hostReclaimStep, hostRelease, hostStart, type HostVm } from "../lib/host.ts";
import type { Program } from "../lib/program.ts";
import { scriptDriver } from "../lib/script.ts";
import { DEFAULT_VM_PLAN } from "../lib/vm-plan.ts";

/** guests/bin/NAME.elf, relative to this file (the images are committed). */
export const guestImagePath = (name: string): string => new URL(`../../../guests/bin/${name}.elf`, import.meta.url).pathname;

/** The host memory the host lends a guest (free in the default plan: image at 0x9000_0000, swiotlb at 0x9400_0000). */
export const LENT_PARCEL = { host: 0x9600_0000, size: 0x1_0000, label: 7 } as const;

/**
 * crosvm runs a secondary VM from an image: create it, copy the image in, START; optionally the
 * host lends the running guest a parcel (MEM_LEND, then MEM_NOTIFY SHARED so the RM tells the guest:
 * RM:src/memparcel/memparcel.c); the vCPU thread runs the guest to its power-off; crosvm collects
 * the exit, takes the parcel back (the guest released it) and closes the VM.
 */
function* secondaryWithCode(image: Uint8Array, lend: boolean): Program {
  const vm: HostVm = { fd: 0, vmid: 0 };
  yield* hostCreate(vm, DEFAULT_VM_PLAN);
  yield* loadImage(vm, image, DEFAULT_VM_PLAN.image.gpa);
  yield* hostStart(vm);
  let handle: number | null = null;
  if (lend) {
    const parcel = yield* hostGive(vm, "LEND", LENT_PARCEL.host, LENT_PARCEL.size, LENT_PARCEL.label, 1);
    handle = parcel?.handle ?? null;
    if (handle !== null) {
      const payload = encodeMemNotify({ handle, flags: MEM_NOTIFY_FLAG.SHARED, memInfoTag: 0, vmids: [vm.vmid] });
      yield { kind: "rm_request", vm: VMID.HLOS, msgId: rmMessageId("MEM_NOTIFY"), rpcSeq: 2, payload };
    }
  }
  yield* runCpuGuest(vm, 0);
  yield* hostCollectExit(vm);
  if (handle !== null) yield hostReclaimStep(handle, 3);
  yield* hostRelease(vm);
}

/**
 * A secondary VM booting a guest image. The scenario hash covers the definition and the image's
 * bytes, so a changed guest is a different scenario; bump `revision` when the script changes.
 */
function codeScenario(name: string, guest: string, lend: boolean, description: string): Scenario {
  return guestCodeScenario(name, new Uint8Array(readFileSync(guestImagePath(guest))), description, guest, lend);
}

/** A secondary VM booting `image` (an ELF, or raw bytes at the image region's start): for built-ins and tests. */
export function guestCodeScenario(name: string, image: Uint8Array, description: string, guest = name, lend = false): Scenario {
  const definition = { revision: 2, name, guest, lend, description };
  return {
    name,
    description,
    hash: createHash("sha256").update(JSON.stringify(definition)).update(image).digest("hex"),
    config: { platform: DEFAULT_PLATFORM },
    maxEvents: 200_000,
    makeDriver: (stream) => scriptDriver(name, secondaryWithCode(image, lend), stream),
  };
}

export const CODE_SCENARIOS: readonly Scenario[] = [
  codeScenario(
    "vm-code-minimal",
    "minimal",
    false,
    "A secondary VM running real code (guests/minimal): its own vectors, the virtio-console probe and a line of output, " +
      "hypervisor_identify and PSCI_VERSION through HVC, then PSCI SYSTEM_OFF; crosvm handles every MMIO exit.",
  ),
  codeScenario(
    "vm-code-linux",
    "linux-like",
    true,
    "A secondary VM running a Linux-like guest in C (guests/linux-like): GICv3 bring-up with its own IRQ handler, the virtual " +
      "timer's PPI 27, virtio-blk write/read-back completed by SPI 33, console lines, the RM channel from the device tree the " +
      "RM wrote, a parcel the host lends it (MEM_SHARED, MEM_ACCEPT, use, MEM_RELEASE) over its own msgqueue HVCs, PSCI SYSTEM_OFF.",
  ),
];
