import { copyFileSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, hasStackTrace, readerOf, recordBytes, tempDir } from "./helpers.ts";
import { resolveScenario } from "../src/sim/resolve.ts";
import { describeEvent } from "../src/export/describe.ts";

/** Scenario files whose VMs run guest images (`image:`): scenarios/vm-code-two.yaml and the bad inputs. */

const FILE = "scenarios/vm-code-two.yaml";
const dir = tempDir();
const MINIMAL = "guests/bin/minimal.elf";

/** A one-VM file in `dir` whose VM has these extra keys (an image path relative to `dir`). */
function scenarioWith(name: string, vmKeys: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `description: d\nvms:\n  - name: app\n    memory: 2MiB\n    devices: [{ type: virtio-blk }, { type: virtio-console }]\n${vmKeys}host:\n  - create: app\n  - start: app\n  - wait-exit: app\n  - destroy: app\n`);
  return file;
}

describe("scenario files that name a guest image per VM", () => {
  const bytes = recordBytes(resolveScenario(FILE), { seed: 1, checkInvariants: true });
  const rows = [...readerOf(bytes).events()];

  it("vm-code-two: both guests run their code to power-off, every invariant holding, their console lines in the log", () => {
    const lines = rows.map(({ ev, outcome }) => describeEvent(ev, outcome));
    const printed = (vm: number) => lines.filter((l) => l.includes(`vmm_mmio crosvm vm0x${vm.toString(16)}/`)).flatMap((l) => [...l.matchAll(/console ("(?:[^"\\]|\\.)*")/g)].map((m) => JSON.parse(m[1]!) as string)).join("");
    expect(printed(0x80)).toBe(
      "minimal: hello from real AArch64 code at EL1\n" +
        "minimal: hypervisor_identify api_info 0x5100000000008001, psci version 0x0000000000010001, dtb at 0x00000000801f0000\n" +
        "minimal: powering off\n",
    );
    const linux = printed(0x81);
    expect(linux).toMatch(/^linux-like: booting on Gunyah/);
    expect(linux).toContain("linux-like: virtio-blk: wrote sector 7 (status 0), read it back (status 0): data matches\n");
    // The host lent the parcel while the guest ran; the guest learnt of it from the RM's MEM_SHARED.
    expect(linux).toMatch(/linux-like: rm: MEM_SHARED handle 0x[0-9a-f]+ from vm 0x0000000000000003 \(lend\)\n/);
    expect(linux).toContain("linux-like: rm: MEM_RELEASE and MEM_NOTIFY(RELEASED) done\n");
    expect(linux).toMatch(/powering off\n$/);
    const loads = rows.filter(({ ev }) => ev.kind === "vmm_load_image").map(({ ev }) => (ev as unknown as { fd: number }).fd);
    expect(loads.length).toBeGreaterThanOrEqual(2);
    expect(new Set(loads).size).toBe(2); // each VM's image, loaded before its START
    const exits = rows.filter(({ outcome }) => outcome.exit === "STATUS").map(({ ev, outcome }) => [(ev as unknown as { vm: number }).vm, outcome.exitType]);
    expect(exits).toEqual(expect.arrayContaining([[0x80, 1], [0x81, 1]])); // PLATFORM_OFF, both
    expect(exits).toHaveLength(2);
    // Every run of guest code is entered by crosvm's VCPU_RUN first: no vcpu_exec on a vCPU that is not running.
    expect(rows.filter(({ ev }) => ev.kind === "vcpu_exec").length).toBeGreaterThan(100);
  });

  it("is byte-identical across two recordings, and hvsim check passes", async () => {
    expect(recordBytes(resolveScenario(FILE), { seed: 1 }).equals(bytes)).toBe(true);
    const r = await cli("check", FILE, "--seed", "2");
    expect(r.code).toBe(0);
    expect(r.stdout.at(-1)).toMatch(/^ok: \d+ events checked/);
  });

  it("the scenario hash covers the image's bytes: one changed byte is a different scenario", () => {
    copyFileSync(MINIMAL, join(dir, "a.elf"));
    const file = scenarioWith("hashed", "    image: a.elf\n");
    const before = resolveScenario(file).hash;
    const elf = new Uint8Array(readFileSync(MINIMAL));
    elf[0x10000]! ^= 1;
    writeFileSync(join(dir, "a.elf"), elf);
    expect(resolveScenario(file).hash).not.toBe(before);
  });

  it("a raw image (no ELF header) is loaded at the image region's start and runs", () => {
    // mov x0, #0x84000000; movk x0, #8 (PSCI SYSTEM_OFF 0x84000008); hvc #0
    writeFileSync(join(dir, "off.bin"), Buffer.from([0x00, 0x80, 0xb0, 0xd2, 0x00, 0x01, 0x80, 0xf2, 0x02, 0x00, 0x00, 0xd4]));
    const all = [...readerOf(recordBytes(resolveScenario(scenarioWith("raw", "    image: off.bin\n")), { seed: 1, checkInvariants: true })).events()];
    expect(all.filter(({ ev }) => ev.kind === "vcpu_exec").map(({ outcome }) => [outcome.retired, outcome.after])).toEqual([[3, "off"]]);
    expect(all.find(({ outcome }) => outcome.exit === "STATUS")?.outcome.exitType).toBe(1); // PLATFORM_OFF
  });

  it("restart: crosvm loads the image again and the code runs from its first byte at every boot", () => {
    copyFileSync(MINIMAL, join(dir, "m.elf"));
    const file = join(dir, "twice.yaml");
    writeFileSync(file, "description: d\nvms:\n  - name: app\n    memory: 2MiB\n    devices: [{ type: virtio-blk }, { type: virtio-console }]\n    image: m.elf\nhost:\n  - create: app\n  - start: app\n  - wait-exit: app\n  - restart: app\n  - wait-exit: app\n  - destroy: app\n");
    const all = [...readerOf(recordBytes(resolveScenario(file), { seed: 3, checkInvariants: true })).events()];
    const lines = all.map(({ ev, outcome }) => describeEvent(ev, outcome));
    expect(lines.filter((l) => l.includes('console "minimal: powering off\\n"'))).toHaveLength(2);
    expect(all.filter(({ outcome }) => outcome.exit === "STATUS").map(({ outcome }) => outcome.exitType)).toEqual([1, 1]);
    const firstExit = all.findIndex(({ outcome }) => outcome.exit === "STATUS");
    const loads = all.map(({ ev }, i) => [ev.kind, i] as const).filter(([k]) => k === "vmm_load_image").map(([, i]) => i);
    expect(loads.filter((i) => i < firstExit).length).toBe(loads.filter((i) => i > firstExit).length); // the same segments again
    expect(loads.some((i) => i > firstExit)).toBe(true);
  });

  const elfWithEntry = (entry: number): string => {
    const elf = new Uint8Array(readFileSync(MINIMAL));
    new DataView(elf.buffer).setBigUint64(24, BigInt(entry), true);
    writeFileSync(join(dir, "entry.elf"), elf);
    return "entry.elf";
  };
  const BAD: readonly [string, () => string, (file: string) => string][] = [
    ["image and guest steps both", () => "    image: a.elf\n    guest: [boot]\n", (f) => `${f}:6:12: vms[0].image: expected an image or guest steps, not both (VM 'app' has both), got 'a.elf'`],
    ["a missing image", () => "    image: nope.elf\n", (f) => `${f}:6:12: vms[0].image: nope.elf: no such file`],
    ["a directory", () => "    image: .\n", (f) => `${f}:6:12: vms[0].image: .: a directory, not a file`],
    ["a device", () => "    image: /dev/zero\n", (f) => `${f}:6:12: vms[0].image: /dev/zero: not a regular file (a device or a FIFO cannot be read as one)`],
    ["a file too big to be an image", () => (truncateSync((writeFileSync(join(dir, "big.img"), ""), join(dir, "big.img")), 2 ** 28 + 1), "    image: big.img\n"), (f) => `${f}:6:12: vms[0].image: big.img: 268435457 bytes, more than the 268435456 such a file may have`],
    ["an unparsable ELF", () => (writeFileSync(join(dir, "cut.elf"), Buffer.from("\x7fELF\x02\x01\x01")), "    image: cut.elf\n"), (f) => `${f}:6:12: vms[0].image: cut.elf: not a loadable AArch64 image: ELF header cut short (7 bytes)`],
    [
      "an ELF whose entry is not the image base",
      () => `    image: ${elfWithEntry(0x8000_0040)}\n`,
      (f) => `${f}:6:12: vms[0].image: entry.elf: the guest image's entry point is 0x80000040, but the VM boots at the start of its image region, 0x80000000: put the entry first (guests/lib/guest.ld does)`,
    ],
  ];
  it.each(BAD)("%s: one line naming the file, the VM's image and the path; exit 2; no stack trace", async (name, keys, line) => {
    const file = scenarioWith(name.replace(/\W+/g, "-"), keys());
    const r = await cli("record", file, "--seed", "1", "-o", join(dir, "x.hvt"));
    expect(r.stderr).toEqual([`hvsim: ${line(file)}`]);
    expect(r.code).toBe(2);
    expect(hasStackTrace([...r.stdout, ...r.stderr])).toBe(false);
  });

  it("a segment outside the VM's memory is refused when the file is read", async () => {
    copyFileSync(MINIMAL, join(dir, "a.elf"));
    const file = join(dir, "small.yaml");
    // 256 KiB of memory: minimal's data segment (0x8001_xxxx..) still fits, so shrink further via a raw image too big.
    writeFileSync(join(dir, "big.bin"), new Uint8Array(0x4_1000));
    writeFileSync(file, "description: d\nvms:\n  - name: app\n    memory: 256KiB\n    image: big.bin\nhost:\n  - create: app\n");
    const r = await cli("record", file, "--seed", "1", "-o", join(dir, "y.hvt"));
    expect(r.stderr).toEqual([`hvsim: ${file}:5:12: vms[0].image: big.bin: the segment at 0x80000000 (266240 bytes) lies outside the VM's memory (0x80000000, 262144 bytes)`]);
    expect(r.code).toBe(2);
  });
});
