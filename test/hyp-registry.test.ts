import { describe, expect, it } from "vitest";
import { EVENT_KINDS } from "../src/model/events.ts";
import { hypRooms } from "../src/model/hyp/rooms.ts";
import { vmRooms } from "../src/model/rm/room.ts";
import { describeEvent } from "../src/export/describe.ts";
import { HYPERCALLS } from "../src/model/abi/hypercalls.ts";
import { abiTables } from "../src/cli/commands/abi.ts";
import { cli } from "./helpers.ts";
import { protectedRoom } from "../src/model/protected/room.ts";

describe("event registry", () => {
  it("every kind in EVENT_KINDS has exactly one handler", () => {
    const owners = new Map<string, number>();
    for (const room of [protectedRoom(), ...hypRooms(), ...vmRooms()]) for (const k of Object.keys(room.subscribes)) owners.set(k, (owners.get(k) ?? 0) + 1);
    for (const k of EVENT_KINDS) expect([k, owners.get(k)]).toEqual([k, 1]);
    expect([...owners.keys()].sort()).toEqual([...EVENT_KINDS].sort());
  });
});

describe("hvsim log names hypercalls and faults as Gunyah does", () => {
  it("prints call name + number, error name + value, run state names", () => {
    const base = { seq: 12, t: 1_500, vm: 255, vcpu: 0 };
    expect(describeEvent({ ...base, kind: "hypercall", call: HYPERCALLS.doorbell_send, args: [3n, 1n] } as never, { x: [0x34n] })).toBe(
      "#12 t=0.000001500s hypercall vm0xff/vcpu0 doorbell_send (0x12)(0x3, 0x1) -> ERROR_CSPACE_WRONG_OBJECT_TYPE (52)",
    );
    expect(describeEvent({ ...base, kind: "hypercall", call: HYPERCALLS.vcpu_run, args: [0x2cn] } as never, { x: [0n, 4n, 0xa000010n, 4n, 0n] })).toBe(
      "#12 t=0.000001500s hypercall vm0xff/vcpu0 vcpu_run (0x65)(0x2c) -> OK (0) ADDRSPACE_VMMIO_READ [0x4, 0xa000010, 0x4, 0x0]",
    );
    expect(describeEvent({ ...base, kind: "hypercall", call: 0x33, args: [] } as never, { x: [0xffff_ffff_ffff_ffffn] })).toBe(
      "#12 t=0.000001500s hypercall vm0xff/vcpu0 hvc 0x6033 (unknown)() -> ERROR_UNIMPLEMENTED (-1)",
    );
  });
  it("prints faults with their resolution and the emulated register", () => {
    const ev = { seq: 3, t: 0, kind: "stage2_fault", vm: 1, vcpu: 0, ipa: 0x0800_0004, access: "read", sizeBytes: 4 };
    expect(describeEvent(ev as never, { resolution: "emulated", reg: "GICD_TYPER", value: 0x2480002n })).toBe(
      "#3 t=0.000000000s stage2_fault vm0x1/vcpu0 read 4B at IPA 0x8000004 -> emulated GICD_TYPER = 0x2480002",
    );
    expect(describeEvent({ ...ev, ipa: 0x7000_0000 } as never, { resolution: "abort", fault: "translation", injected: "synchronous_external_abort" })).toBe(
      "#3 t=0.000000000s stage2_fault vm0x1/vcpu0 read 4B at IPA 0x70000000 -> translation fault: synchronous external abort injected",
    );
    expect(describeEvent({ seq: 4, t: 0, kind: "irq", hwirq: 32 } as never, { delivered: true, virq: 50, vm: 1, vcpu: 0, woke: true })).toBe(
      "#4 t=0.000000000s irq SPI 32 -> VIRQ 50 of vm0x1/vcpu0 (woke it)",
    );
  });
});

describe("hvsim abi", () => {
  it("--json prints exactly {hypercalls, errors, rmMessages}", async () => {
    const r = await cli("abi", "--json");
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout.join("\n"));
    expect(Object.keys(doc)).toEqual(["hypercalls", "errors", "rmMessages"]);
    expect(doc.hypercalls).toContainEqual({ name: "vcpu_run", number: 0x65 });
    expect(doc.hypercalls).toContainEqual({ name: "memextent_donate", number: 0x61 });
    expect(doc.errors).toContainEqual({ name: "ERROR_MSGQUEUE_FULL", value: 61 });
    expect(doc.errors).toContainEqual({ name: "OK", value: 0 });
    expect(doc).toEqual(JSON.parse(JSON.stringify(abiTables())));
  });
});
