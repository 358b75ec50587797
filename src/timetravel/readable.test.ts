import { describe, expect, it } from "vitest";
import { readableText } from "./readable.ts";

describe("readableText", () => {
  it("prints an address as a bare hex number and a bigint register as one too", () => {
    expect(readableText({ pvm: 128, pa: 0x9010_0000 })).toBe('{"pvm":128,"pa":0x90100000}');
    expect(readableText({ x0: 0xffn })).toBe('{"x0":0xff}');
    expect(readableText({ name: "pa" })).toBe('{"name":"pa"}');
  });
});
