import type { Scenario } from "../scenario.ts";
import type { Prng } from "../prng.ts";
import { guestBlockIo, guestConsole, guestDown, guestInitDevice, hostSetup, hostTeardown, LAYOUT, stepsScenario, type HostVm, type Steps } from "./vm-common.ts";

/**
 * The definition is what the scenario hash covers (stable across machines and tool versions);
 * bump `revision` whenever the driver below changes what it does.
 */
const definition = {
  revision: 1,
  name: "vm-restart",
  description:
    "A VM boots twice in one trace: the first boot writes blocks and asks for PSCI SYSTEM_RESET; crosvm sees PLATFORM_RESET, " +
    "tears the VM down (stop, reset, reclaim, deallocate) and creates it again; the second boot reads blocks and powers off.",
};

function* restart(guest: Prng): Steps {
  for (const [boot, down] of [[1, "PSCI_SYSTEM_RESET"], [2, "PSCI_SYSTEM_OFF"]] as const) {
    const vm: HostVm = { fd: 0, vmid: 0 };
    yield* hostSetup(vm);
    yield* guestInitDevice(vm.vmid, LAYOUT.blockBase, 0, 1);
    yield* guestInitDevice(vm.vmid, LAYOUT.consoleBase, 1, 2);
    yield* guestConsole(vm.vmid, `boot ${boot}\n`);
    for (let i = 0; i < 3; i++) yield* guestBlockIo(vm.vmid, i, boot === 1 ? i !== 1 : i === 1, guest.rangeInclusive(0, LAYOUT.capacitySectors - 1), guest);
    yield* guestDown(vm.vmid, down);
    yield* hostTeardown(vm);
  }
}

export const vmRestartScenario: Scenario = stepsScenario(definition, 10_000, restart);
