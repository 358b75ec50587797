/**
 * Recording speed of this checkout against another commit, measured in one run: both builds of
 * tools/bench/record-profile.ts are bundled (as the CLI is), then run in turn, `--runs` times each,
 * in fresh processes; the fastest CPU time of each is kept (the least disturbed by the machine's
 * other load) and their ratio printed. Also says whether the two traces are the same bytes.
 * `--measure decode` compares instead decoding what each build wrote (the build's own format):
 * issue 15 asks that a newer format decode no slower than the build before decoded its own.
 * This checkout's record-profile.ts is the measuring code in both builds (it only records and
 * reads through APIs every build has), so only the sources under test differ.
 *
 *   node bin/run-ts.mjs tools/bench/record-compare.ts --base HEAD~3 [--events 200000] [--runs 3] [--scenario long-run] [--measure decode]
 */
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { benchArgs } from "./args.ts";

const { opts, usage } = benchArgs("record-compare", { base: "", events: 200_000, runs: 3, scenario: "long-run", measure: "record" });
if (opts.base === "") usage("--base REF is required (the commit to compare with)");
if (opts.measure !== "record" && opts.measure !== "decode") usage(`--measure is record or decode, not '${opts.measure}'`);
const decode = opts.measure === "decode";

const root = resolve(".");
const node = process.execPath;
const bundleIn = (dir: string): string => {
  execFileSync(node, ["bin/run-ts.mjs", "tools/bundle.ts", "tools/bench/record-profile.ts"], { cwd: dir, stdio: ["ignore", "ignore", "inherit"] });
  return join(dir, "dist", "tools", "record-profile.mjs");
};

// The base commit's sources, with this checkout's libraries (what is compared is our code).
const baseDir = mkdtempSync(join(tmpdir(), "hvsim-record-base-"));
try {
  execFileSync("sh", ["-c", `git archive "$1" | tar -x -C "$2"`, "sh", opts.base, baseDir], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
  symlinkSync(join(root, "node_modules"), join(baseDir, "node_modules"));
  copyFileSync(join(root, "tools/bench/record-profile.ts"), join(baseDir, "tools/bench/record-profile.ts"));
  const builds = [
    { name: opts.base, file: bundleIn(baseDir), best: Number.POSITIVE_INFINITY, events: 0, sha: "" },
    { name: "this checkout", file: bundleIn(root), best: Number.POSITIVE_INFINITY, events: 0, sha: "" },
  ];
  for (let run = 0; run < opts.runs; run++) {
    for (const b of builds) {
      const r = spawnSync(node, [b.file, String(opts.events), opts.scenario, ...(decode ? ["decode"] : [])], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`${b.name}: exit ${r.status}: ${r.stderr}`);
      const m = decode ? /decoded (\d+) events, best ([\d.]+) s CPU/.exec(r.stdout) : /(\d+) events in [\d.]+ s wall .*?, ([\d.]+) s CPU/.exec(r.stdout);
      if (m === null) throw new Error(`${b.name}: unexpected output: ${r.stdout}`);
      b.events = Number(m[1]);
      b.best = Math.min(b.best, Number(m[2]));
      b.sha = /trace sha256 (\w+)/.exec(r.stdout)?.[1] ?? "";
    }
  }
  for (const b of builds) console.log(`${b.name.padEnd(16)} ${b.events} events, best ${b.best.toFixed(3)} s CPU: ${Math.round(b.events / b.best / 1000)}k events/s`);
  const [base, head] = builds as [(typeof builds)[0], (typeof builds)[0]];
  console.log(`${decode ? "decoding" : "recording"}: speed-up ${(base.best / head.best).toFixed(2)}x (CPU time, best of ${opts.runs} each, ${opts.scenario})`);
  if (base.sha !== "" && head.sha !== "") console.log(base.sha === head.sha ? "traces: the same bytes" : `traces DIFFER: ${base.sha} vs ${head.sha} (expected only where the trace format, the model or the state hash changed between them)`);
} finally {
  rmSync(baseDir, { recursive: true, force: true });
}
