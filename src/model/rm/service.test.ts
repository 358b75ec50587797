import { describe, expect, it } from "vitest";
import { RM_MSG_TYPE, VMID, rmMessageId } from "../abi/rm.ts";
import { GIC } from "../abi/constants.ts";
import { objectAs } from "../object/objects.ts";
import { readPhys } from "./content.ts";
import { fragment, receivePacket } from "./rpc.ts";
import { hvcAs } from "./transport.ts";
import { onRmService, rmHasWork } from "./service.ts";
import { encodeFdt } from "./fdt.ts";
import { RM_VIRQ } from "./hv.ts";
import * as P from "./payloads.ts";
import { call, freshState, readyVm, type TestState } from "./testkit.ts";

/** A guest's kernel sends one message's fragments itself (msgqueue_send as its vCPU 0, PUSH on the last). */
function guestSend(s: TestState, vmid: number, msgId: number, rpcSeq: number, payload: Uint8Array): void {
  const hv = s.rm.hv!.vms[vmid]!;
  const packets = fragment({ type: RM_MSG_TYPE.REQUEST, seq: rpcSeq, msgId, payload });
  packets.forEach((p, i) => expect(hvcAs(s, vmid, hv.vcpus[0]!, hv.cspace, "msgqueue_send", [hv.channel!.clientTx, p.length, 0, i === packets.length - 1 ? 1 : 0], p).error).toBe("OK"));
}

/** The guest drains its RM->client queue (msgqueue_receive), reassembling: the messages it got. */
function guestReceive(s: TestState, vmid: number): { type: number; seq: number; msgId: number; payload: Uint8Array }[] {
  const hv = s.rm.hv!.vms[vmid]!;
  const out: { type: number; seq: number; msgId: number; payload: Uint8Array }[] = [];
  let pending = null;
  for (;;) {
    const r = hvcAs(s, vmid, hv.vcpus[0]!, hv.cspace, "msgqueue_receive", [hv.channel!.clientRx, 0, 240]);
    if (r.error !== "OK") return out;
    const got = receivePacket(pending, r.extra!.data as Uint8Array);
    pending = got.pending;
    if (got.message !== null) out.push(got.message);
  }
}

const service = (s: TestState, vm: number) => {
  s.seq += 1;
  return onRmService(s, { kind: "rm_service", seq: s.seq, t: s.t, vm });
};

describe("rm_service: the RM takes what a guest sent fragment by fragment", () => {
  it("handles the request and leaves the reply in the guest's queue, its VIRQ pending", () => {
    const s = freshState();
    const { vmid } = readyVm(s);
    expect(rmHasWork(s, vmid)).toBe(false);
    guestSend(s, vmid, rmMessageId("VM_GET_VMID"), 7, new Uint8Array(0));
    expect(rmHasWork(s, vmid)).toBe(true);
    const o = service(s, vmid);
    expect(o).toMatchObject({ packetsIn: 1, partial: false, handled: [{ msg: "VM_GET_VMID", rpcSeq: 7, err: "OK", packetsOut: 1, notify: [] }] });
    expect(rmHasWork(s, vmid)).toBe(false);
    const vic = objectAs(s, s.rm.hv!.vms[vmid]!.vic, "vic")!;
    expect(vic.spis[RM_VIRQ.CLIENT_RX]).toMatchObject({ level: true, enabled: true });
    const [reply] = guestReceive(s, vmid);
    expect(reply).toMatchObject({ type: RM_MSG_TYPE.REPLY, seq: 7, msgId: rmMessageId("VM_GET_VMID") });
    expect([...reply!.payload]).toEqual([0, 0, 0, 0, vmid & 0xff, vmid >> 8, 0, 0]); // RM_OK, then the caller's VMID
  });

  it("keeps a partial message reassembling until its last fragment; an unknown ID is UNIMPLEMENTED", () => {
    const s = freshState();
    const { vmid } = readyVm(s);
    const hv = s.rm.hv!.vms[vmid]!;
    const packets = fragment({ type: RM_MSG_TYPE.REQUEST, seq: 9, msgId: 0x5600_7777, payload: new Uint8Array(300) });
    hvcAs(s, vmid, hv.vcpus[0]!, hv.cspace, "msgqueue_send", [hv.channel!.clientTx, packets[0]!.length, 0, 0], packets[0]!);
    expect(service(s, vmid)).toMatchObject({ packetsIn: 1, handled: [], partial: true });
    hvcAs(s, vmid, hv.vcpus[0]!, hv.cspace, "msgqueue_send", [hv.channel!.clientTx, packets[1]!.length, 0, 1], packets[1]!);
    expect(service(s, vmid)).toMatchObject({ packetsIn: 1, handled: [{ msg: "0x56007777", rpcSeq: 9, err: "UNIMPLEMENTED" }], partial: false });
  });

  it("an empty queue (nothing raised the RM's VIRQ) is a trace error; so is a VM without a channel", () => {
    const s = freshState();
    const { vmid } = readyVm(s);
    expect(() => service(s, vmid)).toThrow(/TRACE_EVENT_INVALID|nothing raised its receive VIRQ/);
    expect(() => service(s, 0x99)).toThrow(/has no RM channel/);
  });
});

describe("VM_START writes the RM's device tree into the guest", () => {
  it("an FDT with /hypervisor and the RM channel's caps and VIRQ at the DT window", () => {
    const s = freshState();
    const { vmid } = readyVm(s);
    expect(call(s, VMID.HLOS, "VM_START", P.encodeVmid(vmid)).err).toBe("OK");
    const ch = s.rm.hv!.vms[vmid]!.channel!;
    const pa = s.rm.parcels.byId[s.rm.vms.byId[vmid]!.imageHandle]!.regions[0]!.pa + 0x1000;
    const dt = readPhys(s, pa, 0x1000);
    const be32 = (at: number) => new DataView(dt.buffer, dt.byteOffset).getUint32(at, false);
    expect(be32(0)).toBe(0xd00dfeed);
    const tree = decode(dt);
    const rm = tree["/hypervisor/gunyah-resource-mgr@" + ch.clientRx.toString(16)]!;
    expect(strings(rm.compatible!)).toEqual(["gunyah-resource-manager", "qcom,resource-manager", "qcom,resource-manager-1-0", "qcom,gunyah-message-queue", "qcom,gunyah-capability"]);
    const reg = new DataView(rm.reg!.buffer, rm.reg!.byteOffset);
    expect([Number(reg.getBigUint64(0, false)), Number(reg.getBigUint64(8, false))]).toEqual([ch.clientTx, ch.clientRx]);
    const irq = new DataView(rm.interrupts!.buffer, rm.interrupts!.byteOffset);
    expect([irq.getUint32(0), irq.getUint32(4) + GIC.SPI_FIRST, irq.getUint32(8)]).toEqual([0, RM_VIRQ.CLIENT_RX, 4]);
    const vm = tree["/hypervisor/qcom,gunyah-vm"]!;
    expect(new DataView(vm["qcom,vmid"]!.buffer, vm["qcom,vmid"]!.byteOffset).getUint32(0)).toBe(vmid);
    expect(dt.subarray(be32(4))).toEqual(new Uint8Array(0x1000 - be32(4))); // the rest of the window is zero
  });

  it("the writer lays out the header, reservation map, structure and strings as the spec says", () => {
    const b = encodeFdt({ name: "", props: [["a", { u32: [1] }]], children: [{ name: "n@1", props: [["s", "x"]], children: [] }] });
    expect([...b.subarray(0, 8)]).toEqual([0xd0, 0x0d, 0xfe, 0xed, 0, 0, 0, b.length]);
    expect(decode(b)).toEqual({ "/": { a: Uint8Array.of(0, 0, 0, 1) }, "/n@1": { s: Uint8Array.of(0x78, 0) } });
  });
});

const strings = (b: Uint8Array): string[] => new TextDecoder().decode(b).split("\0").slice(0, -1);

/** A minimal FDT reader for the tests: node path -> property name -> value bytes. */
function decode(b: Uint8Array): Record<string, Record<string, Uint8Array>> {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const offStruct = v.getUint32(8);
  const offStrings = v.getUint32(12);
  const out: Record<string, Record<string, Uint8Array>> = {};
  const path: string[] = [];
  let at = offStruct;
  const cstr = (from: number): string => new TextDecoder().decode(b.subarray(from, b.indexOf(0, from)));
  for (;;) {
    const tok = v.getUint32(at);
    at += 4;
    if (tok === 1) {
      const name = cstr(at);
      at += (name.length + 4) & ~3;
      path.push(name);
      out[path.length === 1 ? "/" : path.slice(1).map((p) => `/${p}`).join("")] = {};
    } else if (tok === 3) {
      const len = v.getUint32(at);
      const name = cstr(offStrings + v.getUint32(at + 4));
      out[path.length === 1 ? "/" : path.slice(1).map((p) => `/${p}`).join("")]![name] = b.slice(at + 8, at + 8 + len);
      at += 8 + ((len + 3) & ~3);
    } else if (tok === 2) path.pop();
    else if (tok === 9) return out;
    else throw new Error(`bad token ${tok}`);
  }
}
