import { createHash } from "node:crypto";
import { MS, US } from "../../core/event.ts";
import { DEFAULT_PLATFORM } from "../../model/machine.ts";
import { HYPERCALLS } from "../../model/abi/hypercalls.ts";
import type { Driver, Proposal, Scenario } from "../scenario.ts";
import type { Prng } from "../prng.ts";

const definition = {
  name: "smoke",
  description: "The RM's vCPU (VM 255, vCPU 0) probes the hypervisor (hypervisor_identify, unknown calls) between timer ticks.",
  vms: [{ vmid: 255, vcpus: 1 }],
  events: 2_000,
};

/**
 * The smallest whole pipeline: a driver that exercises the hypercall path and virtual time. It is
 * kept as a fast, model-light scenario for the core's tests. Calls come from the RM's vCPU, the
 * only vCPU running at genesis (hypercalls resolve their caller).
 */
export const smokeScenario: Scenario = {
  name: definition.name,
  description: definition.description,
  hash: createHash("sha256").update(JSON.stringify(definition)).digest("hex"),
  config: { platform: DEFAULT_PLATFORM },
  maxEvents: definition.events,
  makeDriver(stream: (name: string) => Prng): Driver {
    const sched = stream("sched");
    const guest = stream("guest");
    const timing = stream("timing");
    let t = 0;
    return {
      next(): Proposal | null {
        t += timing.rangeInclusive(1 * US, 500 * US);
        if (timing.chance({ numerator: 1, denominator: 8 })) {
          t += MS;
          return { kind: "timer_tick", t };
        }
        const vcpu = sched.rangeInclusive(0, definition.vms[0]!.vcpus - 1);
        const call = guest.chance({ numerator: 3, denominator: 4 })
          ? HYPERCALLS.hypervisor_identify
          : guest.pick([0x08, 0x33, 0x63, 0x7f]);
        return { kind: "hypercall", t, vm: definition.vms[0]!.vmid, vcpu, call, args: [] };
      },
    };
  },
};
