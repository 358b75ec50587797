/**
 * Scenarios that cannot hang: each class of resource-exhausting or never-ending scenario gets one
 * line naming the file, line and path, exit 2, never a stack trace, exit 70 or a hang; and limits
 * stay generous enough for real scenarios.
 */
import { describe, expect, it } from "vitest";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, hasStackTrace, tempDir } from "./helpers.ts";

const dir = tempDir();
const file = (name: string, text: string): string => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};

/** A one-VM scenario with the given guest and host steps (YAML, indented to fit). */
const scenario = (o: { guest?: string; host?: string; platform?: string; devices?: string; extra?: string } = {}): string =>
  [
    "description: a scenario for the limits tests",
    ...(o.platform === undefined ? [] : ["platform:", o.platform]),
    "vms:",
    "  - name: a",
    "    memory: 16MiB",
    ...(o.devices === undefined ? [] : ["    devices:", o.devices]),
    "    guest:",
    o.guest ?? "      - boot",
    "host:",
    "  - create: a",
    "  - start: a",
    o.host ?? "  - wait-exit: a",
    o.extra ?? "",
  ].join("\n");

const nested = (depth: number): string => {
  let body = "[]";
  for (let i = 0; i < depth; i++) body = `[{loop: {count: forever, do: ${body}}}]`;
  return `  - loop: {count: forever, do: ${body}}`;
};

const CASES: readonly [string, string, RegExp][] = [
  ["a host loop with an empty body, forever", scenario({ host: "  - loop:\n      count: forever\n      do: []" }), /:11:7: host\[2\]\.loop: expected a loop with a step that does something .*, got only sleeps or nothing$/],
  ["a guest loop with an empty body, forever", scenario({ guest: "      - boot\n      - loop: {count: forever, do: []}" }), /:7:15: vms\[0\]\.guest\[1\]\.loop: expected a loop with a step that does something/],
  ["sleep 0 forever", scenario({ host: "  - loop: {count: forever, do: [sleep: 0ns]}" }), /:10:11: host\[2\]\.loop: expected a loop with a step that does something/],
  ["sleeps nested in loops", scenario({ host: "  - loop: {count: 3, do: [{loop: {count: forever, do: [sleep: 1ms]}}]}" }), /host\[2\]\.loop: expected a loop with a step that does something/],
  ["1,000 nested loops", scenario({ host: nested(1000) }), /:10:\d+: nested more than 64 levels deep/],
  ["10k-deep block YAML", `description: deep\nvms:\n${"- ".repeat(10_000)}x\n`, /:3:129: nested more than 64 levels deep/],
  ["RAM with base and size near 2^53", scenario({ platform: "  ram:\n    - base: 0x1f_ffff_0000_0000\n      size: 0x1_0000_0000" }), /:5:13: platform\.ram\[0\]\.size: expected a range ending at or below 0x1000000000000 \(48-bit physical addresses; base 0x1fffff00000000\), got 0x100000000$/],
  ["a virtio-blk disk of capacity 0", scenario({ devices: "      - type: virtio-blk\n        capacity: 0" }), /:7:19: vms\[0\]\.devices\[0\]\.capacity: expected a capacity of at least one 512-byte sector, got 0$/],
  ["IRQ lines past INTID 1019", scenario({ platform: "  irq-lines: {first: 1000, count: 64}" }), /platform\.irq-lines\.count: expected at most 20 lines from 1000/],
  ["a DMA offset past the 48-bit range", scenario({ guest: "      - boot\n      - dma: {stream: 1, region: image, offset: 0xffff_ffff_f000, access: read, size: 4096}", platform: "  smmu-streams: [1]" }), /vms\[0\]\.guest\[1\]\.dma\.offset: expected an offset that keeps the access below 0x1000000000000/],
  ["an alias bomb", `a: &a [x, x, x, x, x, x, x, x, x, x]\n${"bcdefghi".split("").map((n, i) => `${n}: &${n} [${Array(10).fill(`*${"abcdefghi"[i]}`).join(", ")}]`).join("\n")}\n`, /:2:\d+: YAML aliases expand too far .*the limit is 1000 alias uses\)$/],
  // Found while running: the steps that caused them are named with their file, line and path.
  ["a loop whose steps find nothing to do", scenario({ host: "  - loop:\n      count: forever\n      do:\n        - reclaim: a" }), /:13:20: host\[2\]\.loop\.do\[0\]\.reclaim: 10000 steps in a row without an event \(a loop that never does anything\?\)$/],
  ["more parcels than host slots", scenario({ guest: "      - boot\n      - sleep: 1s", host: Array.from({ length: 9 }, () => "  - lend: {vm: a, size: 4KiB}").join("\n") }), /:19:11: host\[10\]\.lend: lend to a: every host parcel slot is in use \(reclaim before giving more\)$/],
  ["virtual time past 2^53 ns", scenario({ host: "  - loop:\n      count: forever\n      do:\n        - sleep: 4000000000000000ns\n        - stop: a" }), /: virtual time passes 2\^53 ns \(about 104 days\) at event \d+/],
];

describe("scenarios that cannot hang or exhaust", () => {
  it.each(CASES)("%s: one line with file, line and path; exit 2", async (name, text, line) => {
    const f = file(`${name.replace(/\W+/g, "-")}.yaml`, text);
    const r = await cli("record", f, "-o", join(dir, "x.hvt"));
    expect(r.code, r.stderr.join(" | ")).toBe(2);
    expect(r.stderr).toEqual([expect.stringMatching(line)]);
    expect(r.stderr[0]!.startsWith(`hvsim: ${f}`)).toBe(true);
    expect(hasStackTrace([...r.stdout, ...r.stderr])).toBe(false);
  });

  it("a 15 MB scenario file is refused before it is read", async () => {
    const f = file("huge.yaml", `${scenario()}\n${"# padding\n".repeat(1_500_000)}`);
    const r = await cli("check", f);
    expect(r.code).toBe(2);
    expect(r.stderr).toEqual([`hvsim: ${f}: ${15_000_000 + scenario().length + 1} bytes, more than the 1048576 a scenario file may have`]);
  });

  it("limits are generous: 150 aliases of one step, and --max-events ends a run that would go on forever", async () => {
    const steps = `      - boot\n      - &nap {sleep: 1ms}\n${"      - *nap\n".repeat(150)}      - shutdown: poweroff`;
    const ok = await cli("record", file("aliases.yaml", scenario({ guest: steps })), "-o", join(dir, "aliases.hvt"));
    expect(ok.code, ok.stderr.join(" | ")).toBe(0);
    const forever = file("forever.yaml", scenario({ host: "  - loop:\n      count: forever\n      do:\n        - sleep: 1ms\n        - stop: a" }));
    const r = await cli("record", forever, "--max-events", "300", "-o", join(dir, "forever.hvt"));
    expect(r.code).toBe(0);
    expect(r.stdout.at(-1)).toMatch(/^recorded 300 events .*stopped by max events/);
    expect(existsSync(join(dir, "forever.hvt"))).toBe(true);
  });
});
