import { describe, expect, it } from "vitest";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { TraceReader } from "../src/trace/reader.ts";
import { fileSource } from "../src/trace/source.ts";
import { verifyTrace } from "../src/trace/verify.ts";
import { cli } from "./helpers.ts";

const dir = fileURLToPath(new URL("../traces/", import.meta.url));
const traces = readdirSync(dir).filter((f) => f.endsWith(".hvt")).sort();

describe("golden traces in traces/", () => {
  it("exist", () => {
    expect(traces).toEqual(["bug-reclaim-without-sanitise-s1.hvt", "pvm-boot-s1.hvt"]);
  });

  it.each(traces)("%s replays exactly with this build (every outcome and checkpoint hash)", (name) => {
    const reader = TraceReader.open(fileSource(join(dir, name)));
    try {
      const r = verifyTrace(reader);
      expect(r.finding).toBeNull();
      expect(r.damage).toBeNull();
      expect(r.verified).toBe(reader.footer()!.events);
      expect(r.finalHash).toBe(reader.footer()!.finalHash);
    } finally {
      reader.close();
    }
  });

  it("the injected-bug example is caught at its fixed event index", async () => {
    const r = await cli("check", join(dir, "bug-reclaim-without-sanitise-s1.hvt"), "--json");
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout[0]!).violation).toMatchObject({ invariant: "isolation.reclaimed_memory_sanitised", index: 235 });
  });
});
