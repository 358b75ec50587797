import type { Scenario } from "../scenario.ts";
import type { Prng } from "../prng.ts";
import { DEFAULT_VM_PLAN, type LentPlan, type VmPlan } from "../lib/vm-plan.ts";
import { hostCollectExit, hostCreate, hostRelease, hostStart, type HostVm } from "../lib/host.ts";
import { goDown, touchStep, type GuestCtx } from "../lib/guest.ts";
import { stepsScenario, type Steps } from "./vm-common.ts";

const PAGE = 0x1000;
/** More pieces than one RM message takes (GH_RM_MAX_MEM_ENTRIES, Linux drivers/virt/gunyah/rsc_mgr_rpc.c). */
export const LARGE_PIECES = 600;
/** The guest writes every TOUCH_STRIDE-th page of it. */
export const TOUCH_STRIDE = 4;

/**
 * 2.3 MiB of guest RAM whose host pages are every other page from 0xa000_0000: no two adjacent, so
 * the driver's entries do not merge and the lend needs MEM_LEND (the first 512, APPEND) and a
 * MEM_APPEND (the other 88, DONE). (Kept near the 512 limit: the pure replay path's immer drafts
 * make each memdb/stage-2 split cost O(ranges), so a parcel's lend costs O(pieces^2) there.)
 */
export const LARGE_REGION: LentPlan = {
  label: 2,
  gpa: 0x8200_0000,
  host: 0xa000_0000,
  size: LARGE_PIECES * PAGE,
  backing: Array.from({ length: LARGE_PIECES }, (_, i) => ({ addr: 0xa000_0000 + 2 * i * PAGE, size: PAGE })),
};

const plan: VmPlan = { ...DEFAULT_VM_PLAN, name: "large", lent: [LARGE_REGION] };

/**
 * The definition is what the scenario hash covers (stable across machines and tool versions);
 * bump `revision` whenever the driver below changes what it does.
 */
const definition = {
  revision: 1,
  name: "vm-large-memory",
  description:
    `A VM with ${LARGE_PIECES} scattered host pages of lent RAM: the driver sends MEM_LEND with the first 512 entries and the APPEND ` +
    "flag, then MEM_APPEND with the rest and DONE; the RM accepts the parcel at VM_START at the DT's memory node; the guest " +
    `writes every ${TOUCH_STRIDE}th page and powers off; the host reclaims everything.`,
};

function* largeMemory(guest: Prng): Steps {
  const vm: HostVm = { fd: 0, vmid: 0 };
  yield* hostCreate(vm, plan);
  yield* hostStart(vm);
  const g: GuestCtx = { vmid: vm.vmid, vcpu: 0, plan, data: guest };
  for (let page = 0; page < LARGE_PIECES; page += TOUCH_STRIDE) yield touchStep(g, LARGE_REGION.gpa + page * PAGE + 0x40, 64);
  yield* goDown(g, "PSCI_SYSTEM_OFF");
  yield* hostCollectExit(vm);
  yield* hostRelease(vm);
}

export const vmLargeMemoryScenario: Scenario = stepsScenario(definition, 1_000, largeMemory);
