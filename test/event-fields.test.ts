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
});
