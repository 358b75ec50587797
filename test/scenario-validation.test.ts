import { describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, hasStackTrace, tempDir } from "./helpers.ts";
import { compileScenarioFile } from "../src/sim/file/compile.ts";
import { isHvsimError } from "../src/core/errors.ts";
import { KNOWN_FAULTS } from "../src/sim/faults.ts";

const BAD = "test/fixtures/scenarios-bad";

/** Each broken scenario and the one line `hvsim record` must print for it: file, line, column, path, expectation. */
const CASES: readonly [string, string][] = [
  ["bad-size.yaml", "bad-size.yaml:4:13: vms[0].memory: expected a size such as 64MiB or 0x1000, a multiple of 4096 bytes, got 'lots'"],
  // As on the command line: 5 what? (Read as nanoseconds it would have been a silent surprise.)
  ["lend-nothing.yaml", "lend-nothing.yaml:7:66: host[2].lend.size: expected a size of at least 4096 bytes, got 0"],
  ["bare-time.yaml", "bare-time.yaml:6:28: vms[0].guest[1].sleep: expected a time with its unit (5ms, 5s, 5us or 5ns), got 5"],
  ["unknown-vm.yaml", "unknown-vm.yaml:7:12: host[1].start: expected a VM declared under vms (app), got 'ap'"],
  ["too-much-memory.yaml", "too-much-memory.yaml:8:13: vms[1].memory: expected a size that fits the platform RAM (174MiB left for this VM), got '512MiB'"],
  ["ram-out-of-order.yaml", "ram-out-of-order.yaml:5:15: platform.ram[1].base: expected a base at or above 0x90000000 (RAM ranges in ascending order, not overlapping), got 0x40000000"],
  ["unknown-device.yaml", "unknown-device.yaml:7:17: vms[0].devices[1].type: expected a device type: virtio-blk, virtio-console, got 'virtio-gpu'"],
  [
    "unknown-step.yaml",
    "unknown-step.yaml:12:21: vms[0].guest[1].loop.do[1].slep: expected a guest step: one of boot, block-io, console, sleep, timer, loop, if-boot, accept, release, dma, shutdown, got 'slep'",
  ],
  // The registry grows as the model's defects are added (src/sim/faults.ts); the name here stays unknown.
  [
    "unknown-fault.yaml",
    `unknown-fault.yaml:7:10: faults[0]: expected ${
      KNOWN_FAULTS.length === 0 ? "no faults: none are defined yet (src/sim/faults.ts)" : `one of the known faults ${KNOWN_FAULTS.map((f) => f.name).join(", ")}`
    }, got 'reclaim-skips-sanitize'`,
  ],
  ["bad-yaml.yaml", "bad-yaml.yaml:4:1: not valid YAML: Sequence item without - indicator"],
];

describe("scenario file validation", () => {
  const dir = tempDir();

  it.each(CASES)("%s: one line naming file, line and path; exit 2; no stack trace", async (file, line) => {
    const r = await cli("record", join(BAD, file), "--seed", "1", "-o", join(dir, "x.hvt"));
    expect(r.code).toBe(2);
    expect(r.stderr).toEqual([`hvsim: ${BAD}/${line}`]);
    expect(hasStackTrace([...r.stdout, ...r.stderr])).toBe(false);
  });

  it("reports the path and line as structured context too (for editors and scripts)", () => {
    try {
      compileScenarioFile("x.yaml", "description: d\nvms:\n  - name: a\n    memory: 2MiB\nhost:\n  - lend: { vm: b, size: 3000 }\n");
      expect.unreachable();
    } catch (e) {
      expect(isHvsimError(e) && e.message).toBe("x.yaml:6:26: host[0].lend.size: expected a size such as 64MiB or 0x1000, a multiple of 4096 bytes, got 3000");
      expect(isHvsimError(e) && e.context).toMatchObject({ path: "host[0].lend.size", line: 6 });
    }
  });

  it("a missing required key is reported (not a crash while the rest is read)", () => {
    expect(() => compileScenarioFile("x.yaml", "vms:\n  - name: a\n    memory: 2MiB\nhost:\n  - create: a\n")).toThrow(/^x\.yaml:\d+:\d+: description: expected 'description' \(required\)/);
  });

  it("a missing scenario file is one line, exit 2", async () => {
    const r = await cli("record", "scenarios/nope.yaml", "-o", join(dir, "y.hvt"));
    expect(r.code).toBe(2);
    expect(r.stderr).toEqual(["hvsim: scenarios/nope.yaml: no such scenario file"]);
  });
});

describe("a scenario step the model refuses while it runs", () => {
  it("is named by file, line and step, not only by event index", async () => {
    const dir = tempDir();
    const file = join(dir, "twice.yaml");
    writeFileSync(file, "name: twice\ndescription: destroyed twice\nvms:\n  - name: app\n    memory: 2MiB\n    guest: [boot]\nhost: [{ create: app }, { start: app }, { destroy: app }, { destroy: app }]\n");
    const r = await cli("record", file, "-o", join(dir, "twice.hvt"));
    expect([r.code, r.stderr]).toEqual([2, [`hvsim: ${file}:7:70: host[3].destroy: event 10 (vmm_ioctl) cannot happen here: fd 3 is not a VM fd`]]);
  });
});

describe("a scenario that stalls", () => {
  it("is said to stall, naming what still waits, and exits 2; its trace is kept and replays", async () => {
    const dir = tempDir();
    const file = join(dir, "stalls.yaml");
    // The guest waits for a parcel the host never lends; the host waits for an exit that never comes.
    writeFileSync(
      file,
      "name: stalls\ndescription: nothing is ever lent\nvms:\n  - name: app\n    memory: 2MiB\n    devices: [{ type: virtio-blk, capacity: 64KiB }]\n    guest: [boot, accept, { block-io: { count: 1, writes: 0 } }, { shutdown: poweroff }]\nhost: [{ create: app }, { start: app }, { wait-exit: app }]\n",
    );
    const out = join(dir, "stalls.hvt");
    const r = await cli("record", file, "-o", out);
    expect(r.code).toBe(2);
    expect(r.stdout.at(-1)).toMatch(/; stopped by stalled; final state [0-9a-f]{16}$/);
    expect(r.stderr).toEqual([`hvsim: ${file}: the scenario stalls after event 107: nothing more can happen, yet these still wait: host waits until app exits (last at ${file}:8:54: host[2].wait-exit); guest:app waits until app gets a parcel (last at ${file}:7:19: vms[0].guest[1])`]);
    expect((await cli("replay", out)).code).toBe(0);
    expect((await cli("run", file, "-o", join(dir, "run.hvt"))).code).toBe(2);
  });
});
