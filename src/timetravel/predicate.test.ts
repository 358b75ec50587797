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

  it("a value of the wrong type is a usage error naming the types; null, like absent, is only false", () => {
    expect(() => holds("vms < 3")).toThrow("predicate 'vms < 3': '<' orders two numbers or two strings, got a list < a number (after event 4)");
    expect(() => holds('name >= 1')).toThrow("predicate 'name >= 1': '>=' orders two numbers or two strings, got a string >= a number (after event 4)");
    expect(() => holds("len(seq) > 0")).toThrow("predicate 'len(seq) > 0': len() takes an array, string, byte array or object, got a number (after event 4)");
    expect(compilePredicate("v < 3").test({ v: null })).toBe(false);
    expect(compilePredicate("len(v) > 0").test({ v: null })).toBe(false);
  });

  it("treats absent paths in the growing part of a state as falsy and unequal to everything", () => {
    expect(holds("counts.0x44 == null")).toBe(false);
    expect(holds("vms[3] != 3")).toBe(false);
    expect(holds("vms[1].status")).toBe(false);
    expect(holds("exists(nope) || exists(flags.off)")).toBe(false);
    expect(compilePredicate("a == 0x1_0000_0000_0000_0000").test({ a: 0x1_0000_0000_0000_0000n })).toBe(true);
  });

  it("rejects a path that cannot exist in a state of this shape, naming it and the nearest key", () => {
    expect(() => holds("foo.bar < 3")).toThrow("predicate 'foo.bar < 3': column 1: 'foo' does not exist: the state has no key 'foo' (its keys: seq, t, counts, vms, name, flags)");
    expect(() => holds("seq == 4 && flags.onn")).toThrow("predicate 'seq == 4 && flags.onn': column 13: 'flags.onn' does not exist: flags has no key 'onn' (did you mean 'on'?)");
    expect(() => holds("name.first == 1")).toThrow("column 1: 'name.first' does not exist: name is a string, with no keys");
    // Checked against a given shape (a trace's genesis) at compile time, before any state is seen.
    expect(() => compilePredicate("sq > 1", undefined, state)).toThrow("column 1: 'sq' does not exist: the state has no key 'sq' (did you mean 'seq'?)");
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
