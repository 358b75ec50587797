import { describe, expect, it } from "vitest";
import { compilePredicate } from "./predicate.ts";

const state = { seq: 4, t: 10, counts: { "0x33": 3 }, vms: [{ status: "RUNNING", x: [0x8040_0000n] }], name: "rm", flags: { on: true } };
const holds = (src: string): boolean => compilePredicate(src).test(state);

describe("predicate language", () => {
  it("evaluates paths, literals, comparisons and logic", () => {
    expect(holds("counts.0x33 >= 3 && counts['0x33'] == 3")).toBe(true);
    expect(holds('vms[0].status == "RUNNING"')).toBe(true);
    expect(holds("vms[0].x[0] == 0x8040_0000 && vms[0].x[0] > 2_000_000")).toBe(true);
    expect(holds("!(seq < 4) || false")).toBe(true);
    expect(holds("flags.on == true && name != 'vm'")).toBe(true);
    expect(holds("len(vms) == 1 && len(counts) == 1 && exists(vms[0].x) && !exists(vms[1])")).toBe(true);
    expect(holds("t > -1 && seq == 4")).toBe(true);
  });

  it("treats absent paths as falsy and unequal to everything", () => {
    expect(holds("nope.deeper == null")).toBe(false);
    expect(holds("nope != 3")).toBe(false);
    expect(holds("nope")).toBe(false);
    expect(compilePredicate("a == 0x1_0000_0000_0000_0000").test({ a: 0x1_0000_0000_0000_0000n })).toBe(true);
  });

  it("lists the paths it reads", () => {
    expect(compilePredicate("len(vms) > 0 && counts.0x33 >= 3").paths).toEqual(["vms", "counts.0x33"]);
  });

  it("gives one-line parse errors naming the column", () => {
    expect(() => compilePredicate("counts.0x33 >= ")).toThrow("predicate 'counts.0x33 >= ': column 16: expected a value, a path or '(' but found end of input");
    expect(() => compilePredicate("(a == 1")).toThrow("column 8: expected ')' but found end of input");
    expect(() => compilePredicate("a == 1 b")).toThrow("column 8: unexpected 'b' after a complete expression");
    expect(() => compilePredicate("owner(0x8040_0000) == 3")).toThrow("column 1: unknown function 'owner'");
    expect(() => compilePredicate("len(a, b)")).toThrow("column 1: len() takes 1 argument, got 2");
    expect(() => compilePredicate("a == 'x")).toThrow("column 6: unterminated string");
    expect(() => compilePredicate("a # 1")).toThrow("column 3: unexpected character '#'");
  });

  it("accepts functions from a registry the model can extend (owner)", () => {
    const fns = new Map([
      ["owner", { name: "owner", arity: 1, description: "test", call: (args: readonly { value: unknown }[]) => (args[0]!.value === 0x8040_0000 ? 3 : null) }],
    ]);
    expect(compilePredicate("owner(0x8040_0000) == 3", fns).test({})).toBe(true);
  });
});
