import { describe, expect, it } from "vitest";
import { boot, buildVm, errX, hvc, must, okX, rootCaps } from "../hyp/testkit.ts";

const s0 = boot();
const { partition: P, cspace: CS, vic: RMVIC } = rootCaps(s0);
const ALL = 0xffff_ffff_ffff_ffffn;

describe("doorbell (0x10-0x15)", () => {
  let [s, db] = must(s0, "partition_create_doorbell", [P, CS]);
  [s] = must(s, "object_activate", [db]);
  it("send ORs flags and returns the old ones; receive needs a non-zero mask", () => {
    let [t, o] = hvc(s, "doorbell_send", [db, 0x5]);
    expect(o).toEqual(okX(0));
    [t, o] = hvc(t, "doorbell_send", [db, 0x8]);
    expect(o).toEqual(okX(5));
    expect(hvc(t, "doorbell_receive", [db, 0])[1]).toEqual(errX("ARGUMENT_INVALID"));
    [t, o] = hvc(t, "doorbell_receive", [db, 0x1]);
    expect(o).toEqual(okX(0xd));
    expect(hvc(t, "doorbell_receive", [db, ALL])[1]).toEqual(okX(0xc));
  });
  it("ack mask auto-clears delivered flags; reset restores the defaults", () => {
    let [t] = must(s, "doorbell_mask", [db, ALL, 0x1]);
    [t] = must(t, "doorbell_send", [db, 0x3]);
    expect(hvc(t, "doorbell_receive", [db, ALL])[1]).toEqual(okX(0x2));
    [t] = must(t, "doorbell_reset", [db]);
    const d = t.objects.byId[t.objects.ids.at(-1)!]!;
    expect(d.type === "doorbell" && [d.flags, d.enableMask, d.ackMask]).toEqual([0n, ALL, 0n]);
  });
  it("binding: a second bind ⇒ VIRQ_BOUND; a used VIRQ ⇒ BUSY; unbind is always OK", () => {
    let [t] = must(s, "doorbell_bind_virq", [db, RMVIC, 40]);
    expect(hvc(t, "doorbell_bind_virq", [db, RMVIC, 41])[1]).toEqual(errX("VIRQ_BOUND"));
    const [t2, db2] = must(t, "partition_create_doorbell", [P, CS]);
    const [t3] = must(t2, "object_activate", [db2]);
    expect(hvc(t3, "doorbell_bind_virq", [db2, RMVIC, 40])[1]).toEqual(errX("BUSY"));
    [t] = must(t, "doorbell_unbind_virq", [db]);
    expect(hvc(t, "doorbell_unbind_virq", [db])[1]).toEqual(okX());
    expect(hvc(t, "doorbell_send", [5, 1])[1]).toEqual(errX("CSPACE_WRONG_OBJECT_TYPE"));
  });
});

describe("msgqueue (0x17-0x21)", () => {
  let [s, mq] = must(s0, "partition_create_msgqueue", [P, CS]);
  it("configure: 0 < depth < 256, 0 < size < 1024; activation without configure ⇒ OBJECT_CONFIG", () => {
    expect(hvc(s, "msgqueue_configure", [mq, (1024 << 16) | 2])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(s, "msgqueue_configure", [mq, (16 << 16) | 256])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(s, "object_activate", [mq])[1]).toEqual(errX("OBJECT_CONFIG"));
  });
  it("send/receive carry the bytes; full ⇒ MSGQUEUE_FULL; empty ⇒ MSGQUEUE_EMPTY; documented ARGUMENT_SIZE", () => {
    [s] = must(s, "msgqueue_configure", [mq, (16 << 16) | 2]);
    [s] = must(s, "object_activate", [mq]);
    expect(hvc(s, "msgqueue_send", [mq, 17, 0x1000, 0])[1]).toEqual(errX("ARGUMENT_SIZE"));
    expect(hvc(s, "msgqueue_receive", [mq, 0x2000, 16])[1]).toEqual(errX("MSGQUEUE_EMPTY"));
    let t = s;
    let o;
    [t, o] = hvc(t, "msgqueue_send", [mq, 3, 0x1000, 0], { data: Uint8Array.from([1, 2, 3]) });
    expect(o).toEqual(okX(1));
    [t, o] = hvc(t, "msgqueue_send", [mq, 2, 0x1000, 0], { data: Uint8Array.from([9]) });
    expect(o).toEqual(okX(0));
    expect(hvc(t, "msgqueue_send", [mq, 1, 0x1000, 0])[1]).toEqual(errX("MSGQUEUE_FULL"));
    expect(hvc(t, "msgqueue_receive", [mq, 0x2000, 2])[1]).toEqual(errX("ADDR_OVERFLOW"));
    [t, o] = hvc(t, "msgqueue_receive", [mq, 0x2000, 16]);
    expect(o).toEqual({ ...okX(3, 1), data: Uint8Array.from([1, 2, 3]) });
    [t, o] = hvc(t, "msgqueue_receive", [mq, 0x2000, 16]);
    expect(o).toEqual({ ...okX(2, 0), data: Uint8Array.from([9, 0]) });
  });
  it("thresholds: delay ≠ -1 ⇒ UNIMPLEMENTED; send threshold < depth; receive 1..depth, -2 = depth", () => {
    expect(hvc(s, "msgqueue_configure_send", [mq, 1, 5, -1])[1]).toEqual(errX("UNIMPLEMENTED"));
    expect(hvc(s, "msgqueue_configure_send", [mq, 2, -1, -1])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(s, "msgqueue_configure_send", [mq, 1, -1, -1])[1]).toEqual(okX());
    expect(hvc(s, "msgqueue_configure_receive", [mq, 0, -1, -1])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(s, "msgqueue_configure_receive", [mq, 0xffff_fffe, -1, -1])[1]).toEqual(okX());
    // X3 is res1: anything but all ones is ARGUMENT_INVALID first (GH:hyp/interfaces/msgqueue/msgqueue.hvc:71).
    expect(hvc(s, "msgqueue_configure_send", [mq, 1, -1, 0])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(s, "msgqueue_flush", [mq])[1]).toEqual(okX());
  });
  it("the receive VIRQ wakes a VM vCPU and flush clears it", () => {
    let [t, vm] = buildVm(s0, { powerOn: true });
    let q: bigint;
    [t, q] = must(t, "partition_create_msgqueue", [P, CS]);
    [t] = must(t, "msgqueue_configure", [q, (16 << 16) | 4]);
    [t] = must(t, "object_activate", [q]);
    [t] = must(t, "msgqueue_bind_receive_virq", [q, vm.vic, 41]);
    expect(hvc(t, "msgqueue_bind_receive_virq", [q, vm.vic, 42])[1]).toEqual(errX("VIRQ_BOUND"));
    [t] = must(t, "msgqueue_send", [q, 4, 0, 1]);
    const vic = t.objects.byId[t.objects.ids.find((i) => t.objects.byId[i]!.type === "vic" && i !== 7)!]!;
    expect(vic.type === "vic" && vic.spis[41]!.level).toBe(true);
    [t] = must(t, "msgqueue_flush", [q]);
    const vic2 = t.objects.byId[vic.id]!;
    expect(vic2.type === "vic" && vic2.spis[41]!.level).toBe(false);
  });
});
