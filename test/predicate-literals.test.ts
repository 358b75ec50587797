import { describe, expect, it } from "vitest";
import { compilePredicate } from "../src/timetravel/predicate.ts";
import { HvsimError } from "../src/core/errors.ts";

describe("predicate literals the lexer cannot read are usage errors naming the column", () => {
  it.each([
    ["t == 0x_", "column 6: '0x_' is not a number (decimal, or 0x hex; '_' between digits)"],
    ["t == 1__0", "column 6: '1__0' is not a number"],
    ['t == "\\q"', 'column 6: "\\q" has an escape that is not one of'],
    ['t == "\\u12"', 'column 6: "\\u12" has an escape that is not one of'],
  ])("%s", (src, what) => {
    let err: unknown;
    try {
      compilePredicate(src);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HvsimError);
    expect((err as HvsimError).code).toBe("ARGUMENT_INVALID");
    expect((err as HvsimError).message).toContain(`predicate '${src}': ${what}`);
  });

  it("well-formed literals still read: 1_000, 0xff_ff, escapes", () => {
    expect(compilePredicate("t == 1_000").test({ t: 1000 })).toBe(true);
    expect(compilePredicate("t == 0xff_ff").test({ t: 0xffff })).toBe(true);
    expect(compilePredicate('s == "a\\n\\u0041"').test({ s: "a\nA" })).toBe(true);
  });
});
