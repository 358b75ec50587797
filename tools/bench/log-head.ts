/**
 * `hvsim log BIG.hvt | head -1`: how soon the log stops once its reader has gone. Not a test: it
 * prints figures measured in one run, and compares them with the process's own start-up
 * (`hvsim --version`) and with writing the whole log to /dev/null, measured the same way.
 *
 *   node bin/run-ts.mjs tools/bench/log-head.ts                 # records long-run to 1M events first
 *   node bin/run-ts.mjs tools/bench/log-head.ts --trace lr.hvt  # or uses a trace you have
 *   ... --json                                                  # one JSON object
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";

const bin = fileURLToPath(new URL("../../bin/hvsim.mjs", import.meta.url));
const args = process.argv.slice(2);
const json = args.includes("--json");
const at = args.indexOf("--trace");
let trace = at >= 0 ? args[at + 1]! : "";
const TIME = "/usr/bin/time";

const scratch = mkdtempSync(join(tmpdir(), "hvsim-bench-"));

/** Wall seconds and peak RSS (MB, from /usr/bin/time when installed) of a shell pipeline. */
function measure(pipeline: string): { seconds: number; peakMb: number | null } {
  const timed = existsSync(TIME);
  const rss = join(scratch, "rss");
  const t0 = performance.now();
  // The pipeline's first command runs under time(1): its figure is the hvsim process's own.
  const r = spawnSync("sh", ["-c", timed ? `${TIME} -f '%M' -o '${rss}' ${pipeline}` : pipeline], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${pipeline}: exit ${r.status}: ${r.stderr}`);
  const kb = timed ? Number(readFileSync(rss, "utf8").trim().split("\n").at(-1)) : Number.NaN;
  return { seconds, peakMb: Number.isFinite(kb) ? Math.round(kb / 1024) : null };
}

if (trace === "") {
  trace = join(scratch, "lr-1m.hvt");
  if (!json) console.log(`recording long-run to 1,000,000 events: ${trace}`);
  const r = spawnSync(process.execPath, [bin, "record", "long-run", "--max-events", "1000000", "-o", trace], { stdio: "ignore" });
  if (r.status !== 0) throw new Error("recording failed");
}

const node = `'${process.execPath}' '${bin}'`;
const startup = measure(`${node} --version > /dev/null`);
const head = measure(`${node} log '${trace}' | head -1 > /dev/null`);
const whole = measure(`${node} log '${trace}' > /dev/null`);
const figures = {
  trace,
  startupSeconds: +startup.seconds.toFixed(2),
  logHeadSeconds: +head.seconds.toFixed(2),
  logHeadPeakMb: head.peakMb,
  logHeadBeyondStartupSeconds: +(head.seconds - startup.seconds).toFixed(2),
  logWholeSeconds: +whole.seconds.toFixed(2),
  logWholePeakMb: whole.peakMb,
  headOverWhole: +(head.seconds / whole.seconds).toFixed(3),
};
if (json) console.log(JSON.stringify(figures));
else {
  console.log(`hvsim --version (start-up)          ${figures.startupSeconds} s`);
  console.log(`hvsim log | head -1                 ${figures.logHeadSeconds} s (${figures.logHeadBeyondStartupSeconds} s beyond start-up), peak ${figures.logHeadPeakMb ?? "?"} MB`);
  console.log(`hvsim log > /dev/null (all lines)   ${figures.logWholeSeconds} s, peak ${figures.logWholePeakMb ?? "?"} MB`);
  console.log(`head / whole                        ${figures.headOverWhole}`);
}
