import type { Scenario } from "../scenario.ts";
import type { Prng } from "../prng.ts";
import { guestBlockIo, guestConsole, guestDown, guestInitDevice, hostSetup, hostTeardown, LAYOUT, stepsScenario, type HostVm, type Steps } from "./vm-common.ts";

/**
 * The definition is what the scenario hash covers (stable across machines and tool versions);
 * bump `revision` whenever the driver below changes what it does.
 */
const definition = {
  revision: 1,
  name: "vm-secondary",
  description:
    "A secondary VM end to end: crosvm creates it, lends its image and shares a swiotlb region, starts it; the guest probes its " +
    "virtio-mmio block and console devices through MMIO exits, does block I/O with interrupts, DMAs through an SMMU stream, prints, " +
    "powers off (PSCI SYSTEM_OFF); the host sees the exit and reclaims its memory.",
  ios: { min: 8, max: 12 },
};

function* secondary(guest: Prng): Steps {
  const vm: HostVm = { fd: 0, vmid: 0 };
  yield* hostSetup(vm);
  yield* guestInitDevice(vm.vmid, LAYOUT.blockBase, 0, 1);
  yield* guestInitDevice(vm.vmid, LAYOUT.consoleBase, 1, 2);
  const ios = guest.rangeInclusive(definition.ios.min, definition.ios.max);
  for (let i = 0; i < ios; i++) yield* guestBlockIo(vm.vmid, i, i % 2 === 0, guest.rangeInclusive(0, LAYOUT.capacitySectors - 1), guest);
  yield* guestConsole(vm.vmid, "hello from the secondary VM\n");
  // A device assigned to the VM DMAs into its shared region, then tries memory the VM does not have.
  yield { kind: "smmu_bind", stream: 5, vm: vm.vmid };
  yield { kind: "smmu_txn", stream: 5, iova: LAYOUT.sharedGpa + 0x8000, access: "write", sizeBytes: 64 };
  // 0x7000_0000: below RAM and clear of the RM's info-area page (0x4000_0000, mapped read-only).
  yield { kind: "smmu_txn", stream: 5, iova: 0x7000_0000, access: "read", sizeBytes: 64 };
  yield* guestDown(vm.vmid, "PSCI_SYSTEM_OFF");
  yield* hostTeardown(vm);
}

export const vmSecondaryScenario: Scenario = stepsScenario(definition, 10_000, secondary);
