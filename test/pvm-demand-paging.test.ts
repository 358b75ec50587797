/**
 * Issue 17, VMs that grow on demand: the guest_memfd driver's demand paging (src/model/vmm/gmem.ts,
 * src/model/rm/demand.ts) and isolation while the VM grows.
 */
import { runScenario } from "./helpers.ts";
import { describe, expect, it } from "vitest";
import type { Machine } from "../src/model/machine.ts";
import type { HypEvent } from "../src/model/events.ts";
import type { Outcome } from "../src/core/event.ts";
import type { Scenario } from "../src/sim/scenario.ts";
import { allInvariants, checkScenario } from "../src/sim/check.ts";
import { memorySink } from "../src/trace/source.ts";
import { bugDemandPageScenario, DEMAND, DEMAND_BURSTS, pvmDemandPagingScenario } from "../src/sim/builtin/pvm-demand-paging.ts";
import { translate } from "../src/model/memory/stage2.ts";

function run(scenario: Scenario, seed = 1): { s: Machine; log: { ev: HypEvent; out: Outcome; pages: number }[] } {
  const pages: number[] = [];
  const { s, log } = runScenario(scenario, seed, (_ev, _out, state) => pages.push(ownedDemandPages(state)));
  return { s, log: log.map((e, i) => ({ ...e, pages: pages[i]! })) };
}
/** Pages of the guest_memfd binding the pVM's stage-2 reaches now. */
function ownedDemandPages(s: Machine): number {
  const vmid = s.rm.vms.ids.find((id) => id >= 0x80);
  if (vmid === undefined) return 0;
  let n = 0;
  for (let i = 0; i < DEMAND.pages; i++) if (translate(s, vmid, DEMAND.gpa + i * 0x1000) !== null) n++;
  return n;
}
const rmMsgs = (o: Outcome): string[] => ((o.rm ?? []) as { msg: string }[]).map((r) => r.msg);

describe("pvm-demand-paging", () => {
  const { s, log } = run(pvmDemandPagingScenario);
  it("START tells the RM the demand-paged range and the image layout before VM_INIT, the boot context after", () => {
    const start = log.find((x) => x.ev.kind === "vmm_ioctl" && x.ev.op === "START")!;
    const m = rmMsgs(start.out);
    expect(m.indexOf("VM_SET_DEMAND_PAGING")).toBeLessThan(m.indexOf("VM_INIT"));
    expect(m.indexOf("VM_SET_ADDRESS_LAYOUT")).toBeLessThan(m.indexOf("VM_INIT"));
    expect(m.indexOf("VM_SET_CONTEXT")).toBeGreaterThan(m.indexOf("VM_INIT"));
    expect(start.out.rm).toSatisfy((r: { err: string }[]) => r.every((x) => x.err === "OK"));
  });
  it("the VM starts with none of the binding and grows one page per PAGE_FAULT exit, each resolved by exactly one RM provide", () => {
    const total = DEMAND_BURSTS.reduce((a, b) => a + b, 0);
    const exits = log.filter((x) => x.out.exit === "PAGE_FAULT_HANDLED");
    expect(exits.length).toBe(total);
    for (const e of exits) expect(rmMsgs(e.out)).toEqual(["MEM_LEND"]);
    for (let i = 1; i < log.length; i++) {
      const grew = log[i]!.pages - log[i - 1]!.pages;
      if (log[i]!.out.exit === "PAGE_FAULT_HANDLED") expect(grew).toBe(1);
      else if (!(log[i]!.ev.kind === "vmm_ioctl" && (log[i]!.ev as { op: string }).op === "RELEASE")) expect(grew).toBe(0);
    }
    expect(Math.max(...log.map((x) => x.pages))).toBe(total);
    // Each page fault is the guest's stage2_fault just before; the store then re-executes as vm_mem_write.
    const i = log.indexOf(exits[0]!);
    expect(log[i - 1]!.out).toEqual({ resolution: "page_fault", state: "PAGE_FAULT" });
    expect(log[i + 1]!.ev.kind).toBe("vm_mem_write");
  });
  it("teardown reclaims every provided page, sanitised; the host reads one back as zero", () => {
    const release = log.find((x) => x.ev.kind === "vmm_ioctl" && x.ev.op === "RELEASE")!;
    expect(rmMsgs(release.out).filter((m) => m === "MEM_RECLAIM").length).toBe(3 + DEMAND_BURSTS.reduce((a, b) => a + b, 0));
    expect(release.pages).toBe(0);
    expect(s.rm.parcels.ids).toEqual([]);
    expect(log[log.length - 1]!.out).toMatchObject({ result: "ok", label: "zero" });
  });
  it("every invariant holds on the growing VM; the defect demand-page-kept-in-host is caught at the first provide", () => {
    expect(checkScenario(pvmDemandPagingScenario, 1, memorySink(), allInvariants()).violation).toBeNull();
    const v = checkScenario(bugDemandPageScenario, 1, memorySink(), allInvariants()).violation!;
    expect([v.invariant, v.index]).toEqual(["isolation.host_no_pvm_private", 234]);
    expect(log[234]!.out.exit).toBe("PAGE_FAULT_HANDLED");
  });
});
