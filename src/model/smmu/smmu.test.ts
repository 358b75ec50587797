import { describe, expect, it } from "vitest";
import { reduce } from "../../core/reducer.ts";
import { stateHash } from "../../core/hash.ts";
import { hvModel, type Machine } from "../machine.ts";
import type { HypEvent } from "../events.ts";
import { rmMessageId, VMID } from "../abi/rm.ts";
import * as P from "../rm/payloads.ts";
import { smmuInvariants } from "./invariants.ts";
import { freshState, readyVm } from "../rm/testkit.ts";

const PAGE_A = 0x9800_0000;

/** Applies proposals on the pure path, numbering them; returns the final state and the last outcome. */
function run(s: Machine, proposals: Omit<HypEvent, "seq" | "t">[]): { s: Machine; out: Record<string, unknown> } {
  let out: Record<string, unknown> = {};
  for (const p of proposals) {
    const ev = { ...p, seq: s.seq + 1, t: s.t + 1000 } as HypEvent;
    [s, out] = reduce(hvModel, s, ev) as [Machine, Record<string, unknown>];
  }
  return { s, out };
}
const rm = (vm: number, msg: Parameters<typeof rmMessageId>[0], payload: Uint8Array) => ({ kind: "rm_request", vm, msgId: rmMessageId(msg), rpcSeq: 1, payload }) as const;
const txn = (stream: number, iova: number, access: "read" | "write") => ({ kind: "smmu_txn", stream, iova, access, sizeBytes: 64 }) as const;

/** Paths whose values differ between two plain-data trees. */
function changedPaths(a: unknown, b: unknown, path = ""): string[] {
  if (a === b) return [];
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null || a instanceof Uint8Array) return [path];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].sort().flatMap((k) => changedPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
}

/** The HLOS and a READY VM 0x80 (its address space exists from VM_INIT; its image parcel is handle 1). */
function setup(): Machine {
  const g = freshState();
  expect(readyVm(g).vmid).toBe(0x80);
  return run(g, [
    { kind: "smmu_bind", stream: 7, vm: VMID.HLOS },
    { kind: "smmu_bind", stream: 9, vm: 0x80 },
  ] as never).s;
}

describe("SMMU", () => {
  it("a DMA to a page the device's VM does not own faults and changes nothing but the counters", () => {
    const s0 = run(setup(), [rm(VMID.HLOS, "MEM_LEND", P.encodeMemCreate({ memType: 0, flags: 0, label: 0, acl: [{ vmid: 0x80, rights: 6 }], sgl: [{ ipa: PAGE_A, size: 0x1000 }], attrs: [] }))] as never).s;
    const { s: s1, out } = run(s0, [txn(7, PAGE_A + 0x40, "write")] as never);
    expect(out).toEqual({ result: "fault", reason: "translation" });
    // Exactly these change: the envelope and the SMMU's fault counters; no page label, no memdb, no stage-2.
    expect(changedPaths(s0, s1)).toEqual(["seq", "smmu.faults", "smmu.lastFault", "smmu.txns", "t"]);
    expect(s1.smmu.lastFault).toEqual({ sid: 7, iova: PAGE_A + 0x40, access: "write" });
    // Put back exactly those fields and the hash is the one from before.
    const restored = { ...s1, seq: s0.seq, t: s0.t, smmu: { ...s1.smmu, faults: s0.smmu.faults, lastFault: s0.smmu.lastFault, txns: s0.smmu.txns } };
    expect(stateHash(restored)).toBe(stateHash(s0));
  });

  it("device mappings follow memory ownership through lend, accept, release and reclaim", () => {
    let s = setup();
    const step = (p: unknown) => {
      const r = run(s, [p] as never);
      s = r.s;
      return r.out;
    };
    expect(step(txn(7, PAGE_A, "read"))).toEqual({ result: "ok", pa: PAGE_A });
    expect(step(rm(VMID.HLOS, "MEM_LEND", P.encodeMemCreate({ memType: 0, flags: 0, label: 0, acl: [{ vmid: 0x80, rights: 4 }], sgl: [{ ipa: PAGE_A, size: 0x1000 }], attrs: [] }))).err).toBe("OK");
    expect(step(txn(7, PAGE_A, "read"))).toEqual({ result: "fault", reason: "translation" });
    expect(step(txn(9, 0x5000_0000, "read"))).toEqual({ result: "fault", reason: "translation" });
    expect(step(rm(0x80, "MEM_ACCEPT", P.encodeMemAccept({ handle: 2, memType: 0, transType: 1, flags: 0x80, label: 0, acl: [], sgl: [{ ipa: 0x5000_0000, size: 0x1000 }], mapVmid: 0, attrs: [] }))).err).toBe("OK");
    expect(step(txn(9, 0x5000_0000, "read"))).toEqual({ result: "ok", pa: PAGE_A });
    expect(step(txn(9, 0x5000_0000, "write"))).toEqual({ result: "fault", reason: "permission" });
    expect(step(rm(0x80, "MEM_RELEASE", P.encodeMemHandle({ handle: 2, flags: 0 }))).err).toBe("OK");
    expect(step(txn(9, 0x5000_0000, "read"))).toEqual({ result: "fault", reason: "translation" });
    expect(step(rm(VMID.HLOS, "MEM_RECLAIM", P.encodeMemHandle({ handle: 2, flags: 0 }))).err).toBe("OK");
    expect(step(txn(7, PAGE_A, "write"))).toEqual({ result: "ok", pa: PAGE_A });
    expect(step(txn(11, PAGE_A, "read"))).toEqual({ result: "fault", reason: "stream not bound" });
    expect(s.smmu).toMatchObject({ txns: 8, faults: 5 });
  });

  it("smmu.reach_within_device_vm: a stream whose VMID names another VM's addrspace breaks it", () => {
    const s = structuredClone(setup());
    const inv = smmuInvariants[0]!;
    expect(inv.check(s)).toBeNull();
    // Stream 7 (HLOS) pointed at VM 0x80's addrspace behind the hypervisor's back.
    s.vms[3] = { ...s.vms[3]!, addrspace: s.vms[0x80]!.addrspace };
    expect(inv.check(s)).toMatchObject({ path: "smmu.streams.byId.7", objects: { stream: 7, vm: 3 } });
  });

  it("smmu.reach_within_device_vm: a stage-2 range into memory its extent gave away, or through an extent not mapped into the VM, breaks it", () => {
    const s0 = run(setup(), [rm(VMID.HLOS, "MEM_LEND", P.encodeMemCreate({ memType: 0, flags: 0, label: 0, acl: [{ vmid: 0x80, rights: 4 }], sgl: [{ ipa: PAGE_A, size: 0x1000 }], attrs: [] }))] as never).s;
    const inv = smmuInvariants[0]!;
    expect(inv.check(s0)).toBeNull();
    const hlosAs = s0.vms[VMID.HLOS]!.addrspace;
    const as = (s: Machine) => s.objects.byId[hlosAs] as import("../memory/state.ts").AddrspaceObject;
    const i = as(s0).s2.findIndex((r) => r.ipa + r.size === PAGE_A); // the range just below the lent page
    expect(i).toBeGreaterThanOrEqual(0);
    // Stream 7 (HLOS): its stage-2 keeps translating the lent page (now owned by the parcel's extent).
    const s1 = structuredClone(s0);
    as(s1).s2[i] = { ...as(s1).s2[i]!, size: as(s1).s2[i]!.size + 0x1000 };
    expect(inv.check(s1)).toMatchObject({ path: `objects.byId.${hlosAs}.s2.${i}`, objects: { stream: 7, vm: 3, pa: as(s1).s2[i]!.pa } });
    expect(inv.check(s1)!.detail).toMatch(/does not own/);
    // A range whose memextent has no mapping slot in the HLOS addrspace (the parcel's extent).
    const s2 = structuredClone(s0);
    const parcelMe = s2.rm.parcels.byId[2]!.memextent;
    as(s2).s2.push({ ipa: 0x7_0000_0000, size: 0x1000, pa: PAGE_A, access: 6, userAccess: 6, memtype: 15, memextent: parcelMe });
    expect(inv.check(s2)).toMatchObject({ path: `objects.byId.${hlosAs}.s2.${as(s2).s2.length - 1}`, objects: { stream: 7, vm: 3, ipa: 0x7_0000_0000, pa: PAGE_A, memextent: parcelMe } });
    expect(inv.check(s2)!.detail).toMatch(/not mapped into the VM/);
  });
});
