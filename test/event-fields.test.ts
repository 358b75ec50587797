/**
 * The model's table of event field types (src/model/event-fields.ts), which the trace reader checks
 * every decoded event against, describes what the simulator really records: every event of every
 * built-in and shipped scenario passes it. A new field or kind that does not fit fails here.
 */
import { describe, expect, it } from "vitest";
import { builtinScenarios } from "../src/sim/builtin/index.ts";
import { EVENT_KINDS } from "../src/model/events.ts";
import { EVENT_FIELDS, eventFieldsProblem } from "../src/model/event-fields.ts";
import { scanTrace } from "../src/trace/scan.ts";
import { blockProblem } from "../src/trace/schema.ts";
import { readerOf, recordBytes } from "./helpers.ts";

describe("event field table", () => {
  it("names every kind the model handles", () => {
    expect(Object.keys(EVENT_FIELDS).sort()).toEqual([...EVENT_KINDS].sort());
  });

  it.each(builtinScenarios().map((s) => [s.name, s] as const))("%s: every recorded event fits it, so its trace reads whole", (_name, s) => {
    const bytes = recordBytes(s, { seed: 1, maxEvents: 800 });
    const summary = scanTrace(readerOf(bytes));
    expect(summary.damage).toBeNull();
    expect(summary.events).toBeGreaterThan(0);
  });

  it("names the field and the type it wanted", () => {
    expect(eventFieldsProblem({ kind: "hypercall", vm: 255, vcpu: 0, call: null, args: [] })).toBe("call: expected a non-negative integer (a hypercall event's call)");
    expect(eventFieldsProblem({ kind: "vm_mem_write", vm: 3, ipa: 0x8000_0000 })).toBe("data: expected bytes (a vm_mem_write event's data)");
    expect(eventFieldsProblem({ kind: "timer_tick" })).toBeNull();
  });

  // The trace reader walks each decoded event once: the table's fields by type, every other field
  // (and a page range's insides) by its plain-data check, which it passes in.
  it("in the reader, one pass: table fields by type, any other field and a range's insides as plain data", () => {
    const block = (ev: Record<string, unknown>) => ({ first: 0, t0: 0, events: [{ t: 5, ...ev }], outcomes: [{}] });
    const problem = (ev: Record<string, unknown>) => blockProblem(block(ev), 16);
    const write = { kind: "vm_mem_write", vm: 3, ipa: 4096, data: new Uint8Array(4) };
    expect(problem(write)).toBeNull();
    expect(problem({ ...write, ipa: 1.5 })).toBe("events[0].ipa: expected a non-negative integer (a vm_mem_write event's ipa)");
    expect(problem({ ...write, note: { deep: [1, 2.5] } })).toBe("events[0].note.deep[1]: a number that is not a safe integer (2.5)");
    expect(problem({ ...write, data: undefined })).toBe("events[0].data: expected bytes (a vm_mem_write event's data)");
    const lend = { kind: "vmm_ioctl", op: "ANDROID_LEND_USER_MEM", backing: [{ addr: 0, size: 4096 }] };
    expect(problem(lend)).toBeNull();
    expect(problem({ ...lend, backing: [{ addr: 0, size: 4096, odd: new Date(0) }] })).toBe("events[0].backing[0].odd: an object that is not plain data");
    expect(problem({ kind: "not_a_kind_we_know", x: [1n, "a", null, true], y: 0.5 })).toBe("events[0].y: a number that is not a safe integer (0.5)");
    expect(blockProblem({ first: 0, t0: 0, events: [[1]], outcomes: [{}] }, 16)).toBe("events[0]: expected a mapping, got a list of 1");
  });
});
