import { describe, expect, it } from "vitest";
import { replay } from "../src/core/replay.ts";
import { hvModel, type Machine } from "../src/model/machine.ts";
import { vmSecondaryScenario } from "../src/sim/builtin/vm-secondary.ts";
import { describeEvent } from "../src/export/describe.ts";
import { readerOf, recordBytes } from "./helpers.ts";
import type { EventBase, Outcome } from "../src/core/event.ts";

/** Every RM message in a trace, in order: the driver's calls inside ioctls, guests' requests, and the RM's notifications. */
export function rmMessages(bytes: Uint8Array): string[] {
  const out: string[] = [];
  const note = (list: unknown) => {
    for (const n of (list ?? []) as { msg: string }[]) out.push(n.msg);
  };
  for (const { ev, outcome } of readerOf(bytes).events()) {
    if (ev.kind === "vmm_ioctl") {
      for (const r of (outcome.rm ?? []) as { msg: string; notify: unknown }[]) {
        out.push(r.msg);
        note(r.notify);
      }
      note(outcome.rmNotify); // the RM's vCPU-halt handling the driver waited for in VCPU_RUN
    } else if (ev.kind === "rm_request") {
      out.push(outcome.msg as string);
      note(outcome.notify);
    } else if (ev.kind === "rm_vm_halt") note(outcome.notify);
  }
  return out;
}

function events(bytes: Uint8Array): { ev: EventBase; outcome: Outcome }[] {
  return [...readerOf(bytes).events()];
}

describe("vm-secondary", () => {
  const bytes = recordBytes(vmSecondaryScenario, { seed: 1, checkInvariants: true });

  it("runs end to end with exactly this sequence of RM messages", () => {
    expect(rmMessages(bytes)).toEqual([
      "VM_ALLOCATE",
      "MEM_LEND",
      "MEM_SHARE",
      "VM_CONFIG_IMAGE", "NOTIFY_VM_STATUS", // INIT
      "VM_INIT", "NOTIFY_VM_STATUS", // READY
      "VM_GET_HYP_RESOURCES",
      "VM_START", "NOTIFY_VM_STATUS", // RUNNING
      "NOTIFY_VM_STATUS", "NOTIFY_VM_EXITED", // PSCI SYSTEM_OFF: EXITED, PLATFORM_OFF
      "VM_RESET", "NOTIFY_VM_STATUS", "MEM_RELEASED", "MEM_RELEASED", "NOTIFY_VM_STATUS", // RESETTING, releases, RESET
      "MEM_RECLAIM",
      "MEM_RECLAIM",
      "VM_DEALLOCATE",
    ]);
  });

  it("every RM call succeeded, the guest's devices worked, and the host got all its memory back", () => {
    const all = events(bytes);
    const ioctls = all.filter((e) => e.ev.kind === "vmm_ioctl");
    expect(ioctls.every((e) => (e.outcome.ret as number) >= 0)).toBe(true);
    expect(ioctls.flatMap((e) => (e.outcome.rm as { err: string }[]).map((r) => r.err)).every((x) => x === "OK")).toBe(true);
    // Block notifies: the guest's write faults into a VMMIO exit, the ioeventfd completes it in the
    // kernel, crosvm's worker processes the queue and rings the guest's doorbell: SPI 33 pending.
    const notifies = all.filter((e) => e.ev.kind === "vmm_mmio" && e.outcome.ipa === 0x0a00_0050);
    expect(notifies.length).toBeGreaterThanOrEqual(8);
    expect(notifies.every((e) => JSON.stringify(e.outcome.irq) === JSON.stringify({ vm: 0x80, spi: 33 }) && e.outcome.exit === "IOEVENTFD" && e.outcome.pending === true)).toBe(true);
    // The guest takes each block interrupt from its vGIC: acknowledge SPI 33, then EOI.
    const acks = all.filter((e) => e.ev.kind === "virq_ack").map((e) => e.outcome.intid);
    expect(acks.filter((x) => x === 33).length).toBe(notifies.length);
    expect(all.filter((e) => e.ev.kind === "virq_eoi").every((e) => e.outcome.deactivated === true)).toBe(true);
    const status = all.find((e) => e.outcome.exit === "STATUS")!;
    expect(status.outcome).toMatchObject({ status: 2, exitType: 1, reason: [0] });
    const reader = readerOf(bytes);
    const r = replay(hvModel, hvModel.genesis(reader.header.config as never), reader.items(), { path: "fast", invariants: "every" });
    expect(r.finding).toBeNull();
    const s = r.state as Machine;
    expect(s.rm.vms.ids).toEqual([]);
    expect(s.rm.parcels.ids).toEqual([]);
    // The guest's addrspace is gone with the VM, and so is every object the RM made for it.
    expect(s.vms[0x80]).toBeUndefined();
    expect(Object.keys(s.rm.hv!.vms)).toEqual(["3"]);
    // The HLOS has all its RAM back: everything but the hypervisor's 16 MiB and the RM's 16 MiB,
    // owned (memdb) by its one extent and identity-mapped RWX in its stage-2.
    const hostExtent = s.rm.hv!.vms[3]!.extents[0]!;
    expect(s.memdb.ranges.filter((r) => r.base >= 0x8200_0000)).toEqual([{ base: 0x8200_0000, size: 0x3e00_0000, ownerType: "EXTENT", owner: hostExtent }]);
    const as = s.objects.byId[s.vms[3]!.addrspace] as { s2: unknown[] };
    expect(as.s2).toEqual([{ ipa: 0x8200_0000, size: 0x3e00_0000, pa: 0x8200_0000, access: 7, userAccess: 7, memtype: 15, memextent: hostExtent }]);
  });

  it("shows every step in the log by name", () => {
    const lines = events(bytes).map((e) => describeEvent(e.ev, e.outcome));
    expect(lines.find((l) => l.includes("GH_START"))).toContain(
      "[RM: MEM_LEND, MEM_SHARE, VM_CONFIG_IMAGE => NOTIFY_VM_STATUS(INIT)->vm0x3, VM_INIT => NOTIFY_VM_STATUS(READY)->vm0x3, VM_GET_HYP_RESOURCES, VM_START => NOTIFY_VM_STATUS(RUNNING)->vm0x3]",
    );
    // The guest's PSCI SYSTEM_OFF (its own SMC: it does not return), then the host's VCPU_RUN sees
    // POWERED_OFF and the RM exits the VM.
    const off = lines.findIndex((l) => l.includes("smccc_call vm0x80/vcpu0 hvc #0 fid=0x84000008() -> []"));
    expect(off).toBeGreaterThan(0);
    expect(lines[off + 1]).toContain("vmm_ioctl GH_VCPU_RUN vm=0x80 vcpu=0 -> 0 exit=STATUS status=2 PLATFORM_OFF [RM vCPU halt POWERED_OFF: PSCI_SYSTEM_OFF => NOTIFY_VM_STATUS(EXITED)->vm0x3, NOTIFY_VM_EXITED(PLATFORM_OFF)->vm0x3]");
    expect(lines.some((l) => l.includes("rm_vm_halt"))).toBe(false);
    expect(lines.some((l) => l.includes("crosvm vm0x80/vcpu0 MMIO 0xa000000 MagicValue read -> 0x74726976"))).toBe(true);
    expect(lines.some((l) => l.includes("smmu_txn stream 5 read 64B at IOVA 0x70000000: FAULT (translation)"))).toBe(true);
  });

  it("replays exactly on the fast and pure paths", () => {
    const hashes = (path: "fast" | "pure") => {
      const reader = readerOf(bytes);
      const out: string[] = [];
      const r = replay(hvModel, hvModel.genesis(reader.header.config as never), reader.items(), { path, onCheckpoint: (_s, h) => out.push(h) });
      expect(r.finding).toBeNull();
      return out;
    };
    expect(hashes("pure")).toEqual(hashes("fast"));
  });
});
