import { describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { main } from "../src/cli/main.ts";
import { memoryIo, type Io } from "../src/cli/io.ts";
import { smokeScenario } from "../src/sim/builtin/smoke.ts";
import { pvmBootScenario } from "../src/sim/builtin/pvm.ts";
import { changedRanges, changeText, readableBrief, readableJson } from "../src/timetravel/readable.ts";
import { cli, recordBytes, tempDir } from "./helpers.ts";

const dir = tempDir();
const smoke = join(dir, "smoke.hvt");
writeFileSync(smoke, recordBytes(smokeScenario, { seed: 1, maxEvents: 3000, blockEvents: 256 }));
const pvm = join(dir, "pvm.hvt");
writeFileSync(pvm, recordBytes(pvmBootScenario, { seed: 1 }));

const run = async (io: Io, ...argv: string[]) => main(["node", "hvsim", ...argv], io);

describe("long output streams and stops when the reader does", () => {
  it("log to a reader that leaves after 5 lines offers no line after that, and exits 0", async () => {
    const io = memoryIo([], { readerLeavesAfter: 5 });
    expect(await run(io, "log", smoke)).toBe(0);
    expect(io.stdout).toHaveLength(5);
    expect(io.writesAfterClose).toBe(0);
    expect(io.stderr).toEqual([]);
  });

  it("export to stdout likewise", async () => {
    const io = memoryIo([], { readerLeavesAfter: 3 });
    expect(await run(io, "export", smoke, "--format", "perfetto")).toBe(0);
    expect(io.stdout).toHaveLength(3);
    expect(io.writesAfterClose).toBe(0);
  });
});

describe("readable numbers", () => {
  it("state: addresses keep their number and gain a hex string; hypercall counts by Gunyah's names", async () => {
    const r = await cli("state", pvm, "--at", "100", "--path", "rm.vms.byId[128].config.memory[0]");
    expect(JSON.parse(r.stdout.join("\n"))).toEqual({ label: 1, base: 0x81000000, baseHex: "0x81000000" });
    const counts = JSON.parse((await cli("state", pvm, "--at", "100", "--path", "hypercallCounts")).stdout.join("\n"));
    expect(counts).toEqual({ msgqueue_send: 29, msgqueue_receive: 58, vcpu_run: 41 });
    expect((await cli("state", pvm, "--at", "100", "--path", "hypercallCounts.msgqueue_send")).stdout).toEqual(["29"]);
    const raw = JSON.parse((await cli("state", pvm, "--at", "100", "--path", "hypercallCounts", "--raw")).stdout.join("\n"));
    expect(raw).toEqual({ "0x1b": 29, "0x1c": 58, "0x65": 41 });
  });

  it("log --json adds hex strings beside address fields", async () => {
    const r = await cli("log", pvm, "--kind", "host_read", "--json");
    const ev = JSON.parse(r.stdout[0]!);
    expect(typeof ev.ipa).toBe("number");
    expect(ev.ipaHex).toBe(`0x${ev.ipa.toString(16)}`);
  });

  it("a page change reads as the byte ranges that changed, not <4096 bytes>", () => {
    const a = new Uint8Array(4096);
    const b = a.slice();
    b.set([0xde, 0xad, 0xbe, 0xef], 0x40);
    b[0xfff] = 1;
    expect(changedRanges(a, b)).toEqual([[0x40, 0x43], [0xfff, 0xfff]]);
    expect(changeText(["content", "pages", "2164260864", "bytes"], a, b)).toBe("content.pages[2164260864].bytes: 5 of 4096 bytes changed: [0x40..0x43] 00000000 -> deadbeef, [0xfff..0xfff] 00 -> 01");
    expect(readableBrief(a)).toBe("<4096 bytes, all zero>");
    expect(changeText(["rm", "vms", "byId", "128", "config", "baseAddress"], 0x80000000, 0x80200000)).toBe("rm.vms.byId[128].config.baseAddress: 0x80000000 -> 0x80200000");
    expect(readableJson({ hypercallCounts: { "0x65": 3, "0x33": 1 } })).toBe('{"hypercallCounts":{"vcpu_run":3,"0x33":1}}');
  });

  it("hvsim abi looks one call, error or message up by number or name", async () => {
    expect((await cli("abi", "vcpu_run")).stdout).toEqual(["hypercall vcpu_run: number 0x65, HVC #0x6065, SMCCC function ID 0xc6008065"]);
    expect((await cli("abi", "0x6065")).stdout).toEqual(["hypercall vcpu_run: number 0x65, HVC #0x6065, SMCCC function ID 0xc6008065"]);
    expect((await cli("abi", "denied")).stdout).toEqual(["error ERROR_DENIED: 30"]);
    expect((await cli("abi", "MEM_LEND")).stdout).toEqual(["rm message MEM_LEND: 0x51000012"]);
    expect((await cli("abi", "0x6033")).stdout).toEqual(["hypercall 0x33: no handler in the modelled build (HVC #0x6033 returns ERROR_UNIMPLEMENTED)"]);
    const bad = await cli("abi", "vcpu_rum");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toEqual(["hvsim: abi: nothing is called or numbered 'vcpu_rum' (did you mean 'vcpu_run'?)"]);
  });
});

describe("colour on a terminal, honouring NO_COLOR", () => {
  const terminal = (env: Record<string, string>) => ({ ...memoryIo([], { env }), isTTY: true });
  it("log colours the event kind on a terminal, not with NO_COLOR, not into a pipe", async () => {
    const tty = terminal({});
    await run(tty, "log", smoke, "--to", "0");
    expect(tty.stdout[0]).toMatch(/\x1b\[1mhypercall\x1b\[0m/);
    const noColor = terminal({ NO_COLOR: "1" });
    await run(noColor, "log", smoke, "--to", "0");
    expect(noColor.stdout[0]).not.toMatch(/\x1b/);
    const pipe = memoryIo();
    await run(pipe, "log", smoke, "--to", "0");
    expect(pipe.stdout[0]).toBe(noColor.stdout[0]);
    expect(tty.stdout[0]!.replace(/\x1b\[\d+m/g, "")).toBe(pipe.stdout[0]);
  });
});

describe("what to do next, and names that are nearly right", () => {
  it("check after a violation prints the debugger at the violation, bisect and minimize", async () => {
    const r = await cli("check", "bug-reclaim-without-sanitise");
    expect(r.code).toBe(1);
    const next = r.stdout.slice(r.stdout.indexOf("next:") + 1).map((l) => l.replace(/\s+#.*$/, "").trim());
    expect(next).toEqual([
      "hvsim check bug-reclaim-without-sanitise --seed 1 -o bug-reclaim-without-sanitise-s1.hvt",
      expect.stringMatching(/^hvsim debug bug-reclaim-without-sanitise-s1\.hvt --at \d+$/),
      "hvsim bisect bug-reclaim-without-sanitise-s1.hvt --invariant isolation.reclaimed_memory_sanitised",
      "hvsim minimize bug-reclaim-without-sanitise-s1.hvt --invariant isolation.reclaimed_memory_sanitised -o bug-reclaim-without-sanitise-s1-min.hvt",
    ]);
  });

  it("run after a violation does the same, with the trace it wrote", async () => {
    const out = join(dir, "bug.hvt");
    const r = await cli("run", "bug-host-s2-kept-after-lend", "-o", out);
    expect(r.code).toBe(1);
    expect(r.stdout).toContainEqual(expect.stringMatching(new RegExp(`^  npx hvsim debug ${out.replace(/[.]/g, "\\.")} --at \\d+ +# the state at the violation`)));
  });

  it("a misspelt scenario gets 'did you mean'; a file that is neither a trace nor a scenario says so", async () => {
    const r = await cli("record", "pvm-bot");
    expect(r.code).toBe(2);
    expect(r.stderr).toEqual(["hvsim: unknown scenario 'pvm-bot' (did you mean 'pvm-boot'?): not a built-in (`hvsim scenarios` lists them) nor a scenario file"]);
    const c = await cli("check", "README.md");
    expect(c.code).toBe(2);
    expect(c.stderr).toEqual(["hvsim: README.md: not a trace (no HVSIMTRC magic at offset 0) nor a scenario file (a .yaml file; `hvsim scenarios` lists the built-ins)"]);
  });

  it("check --assert on a path that cannot exist is a usage error naming it; an absent count is 0", async () => {
    const r = await cli("check", smoke, "--assert", "foo.bar < 3");
    expect(r.code).toBe(2);
    expect(r.stderr[0]).toMatch(/^hvsim: predicate 'foo\.bar < 3': column 1: 'foo' does not exist: the state has no key 'foo' \(its keys: seq, t, /);
    const ok = await cli("check", smoke, "--assert", "hypercallCounts.vcpu_run < 40");
    expect(ok.code).toBe(0);
  });
});
