/**
 * Built-in scenarios whose guests are real AArch64 programs (guests/, built by guests/build.sh):
 * the VMM loads the image, the RM starts the VM, and its boot vCPU runs the code on the emulated
 * CPU; everything the guest does (device probing, console output, hypercalls, power-off) comes
 * from its instructions.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { DEFAULT_PLATFORM } from "../../model/machine.ts";
import type { Scenario } from "../scenario.ts";
import { loadImage, runCpuGuest, type TimedStep } from "../lib/cpu-guest.ts";
import { hostCollectExit, hostCreate, hostRelease, hostStart, type HostVm } from "../lib/host.ts";
import { DEFAULT_VM_PLAN } from "../lib/vm-plan.ts";
import { runSteps } from "./vm-common.ts";
import type { Outcome } from "../../core/event.ts";

/** guests/bin/NAME.elf, relative to this file (the images are committed). */
export const guestImagePath = (name: string): string => new URL(`../../../guests/bin/${name}.elf`, import.meta.url).pathname;

function* secondaryWithCode(image: Uint8Array): Generator<TimedStep, void, Outcome> {
  const vm: HostVm = { fd: 0, vmid: 0 };
  yield* hostCreate(vm, DEFAULT_VM_PLAN);
  yield* loadImage(vm, image, DEFAULT_VM_PLAN.image.gpa);
  yield* hostStart(vm);
  yield* runCpuGuest(vm, 0);
  yield* hostCollectExit(vm);
  yield* hostRelease(vm);
}

/**
 * A secondary VM booting a guest image: what `hvsim record vm-code-minimal` runs. The scenario hash
 * covers the definition and the image's bytes, so a changed guest is a different scenario.
 */
function codeScenario(name: string, guest: string, description: string): Scenario {
  return guestCodeScenario(name, new Uint8Array(readFileSync(guestImagePath(guest))), description, guest);
}

/** A secondary VM booting `image` (an ELF, or raw bytes at the image region's start): for built-ins and tests. */
export function guestCodeScenario(name: string, image: Uint8Array, description: string, guest = name): Scenario {
  const definition = { revision: 1, name, guest, description };
  return {
    name,
    description,
    hash: createHash("sha256").update(JSON.stringify(definition)).update(image).digest("hex"),
    config: { platform: DEFAULT_PLATFORM },
    maxEvents: 200_000,
    makeDriver: (stream) => runSteps(secondaryWithCode(image), stream("timing")),
  };
}

export const CODE_SCENARIOS: readonly Scenario[] = [
  codeScenario(
    "vm-code-minimal",
    "minimal",
    "A secondary VM running real code (guests/minimal): its own vectors, the virtio-console probe and a line of output, " +
      "hypervisor_identify and PSCI_VERSION through HVC, then PSCI SYSTEM_OFF; crosvm handles every MMIO exit.",
  ),
];
