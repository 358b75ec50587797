import { describe, expect, it } from "vitest";
import { labelOf, readPhys, writePhys, type ContentState } from "./content.ts";

const PA = 0x8000_0000 + 0x1000 * 7; // above 2^31, like real PAs

function fresh(): { content: ContentState } {
  return { content: { labels: [], pages: {} } };
}

describe("rm/content byte copies", () => {
  it("small (byte loop) and large (set) writes read back alike, across a page boundary", () => {
    for (const size of [1, 2, 16, 31, 32, 33, 48, 512, 0x1800]) {
      for (const at of [PA, PA + 0x1000 - 7, PA + 0xff0]) {
        const s = fresh();
        const data = Uint8Array.from({ length: size }, (_, i) => (i * 37 + size) & 0xff);
        writePhys(s, at, data, "vm3");
        expect([...readPhys(s, at - 3, size + 6)]).toEqual([0, 0, 0, ...data, 0, 0, 0]);
        expect(labelOf(s, at)).toBe("vm3");
        expect(labelOf(s, at + size - 1)).toBe("vm3");
        expect(labelOf(s, at + size)).toBe(null);
      }
    }
  });

  it("writes only data[0, len) when given a length", () => {
    const s = fresh();
    writePhys(s, PA + 0xffe, Uint8Array.of(1, 2, 3, 4, 5, 6), "vm3", 4);
    expect([...readPhys(s, PA + 0xffd, 7)]).toEqual([0, 1, 2, 3, 4, 0, 0]);
    expect(labelOf(s, PA + 0x1001)).toBe("vm3");
    expect(labelOf(s, PA + 0x1002)).toBe(null);
  });
});
