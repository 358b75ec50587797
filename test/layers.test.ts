import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve, dirname } from "node:path";

/**
 * The project's two structural rules, checked on the sources themselves:
 * - a lower room never imports a higher one (rooms are the folders under src/);
 * - nothing under src/core, src/cpu or src/model reads time, randomness, the environment or the
 *   file system, because the same scenario and seed must give a byte-identical trace.
 */
const SRC = resolve(import.meta.dirname, "../src");

/** Rank of each room: a room may import its own and lower-ranked rooms only. */
const RANK: Readonly<Record<string, number>> = {
  core: 0,
  cpu: 1,
  net: 1,
  model: 2,
  trace: 3,
  timetravel: 4,
  sim: 5,
  export: 6,
  gdb: 6,
  viewer: 7,
  cli: 8,
};
const DETERMINISTIC = ["core", "cpu", "model"];

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (/\.tsx?$/.test(e.name) && !/\.test\.tsx?$/.test(e.name)) out.push(p);
  }
  return out;
}

const roomOf = (file: string): string => relative(SRC, file).split(/[\\/]/)[0]!;
const files = sources(SRC);
const text = new Map(files.map((f) => [f, readFileSync(f, "utf8")]));

/** Every module specifier a file imports or re-exports (static and dynamic). */
function specifiers(src: string): string[] {
  const out: string[] = [];
  for (const m of src.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)|^import\s+["']([^"']+)["']/gm)) {
    out.push((m[1] ?? m[2] ?? m[3])!);
  }
  return out;
}

describe("rooms", () => {
  it("every folder under src/ has a rank", () => {
    const rooms = [...new Set(files.map(roomOf))].filter((r) => !r.includes("."));
    expect(rooms.filter((r) => RANK[r] === undefined)).toEqual([]);
  });

  it("no room imports a higher one", () => {
    const wrong: string[] = [];
    for (const f of files) {
      const from = roomOf(f);
      for (const spec of specifiers(text.get(f)!)) {
        if (!spec.startsWith(".")) continue;
        const target = resolve(dirname(f), spec);
        if (!target.startsWith(SRC)) continue;
        const to = roomOf(target);
        if ((RANK[to] ?? Infinity) > (RANK[from] ?? -1)) wrong.push(`${relative(SRC, f)} imports ${spec} (${from} may not import ${to})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("the checker sees imports: a known one is found", () => {
    // Guards the regex above: if it stopped matching, the test before would pass vacuously.
    const f = join(SRC, "timetravel/state-at.ts");
    expect(specifiers(text.get(f)!)).toContain("../core/json.ts");
    expect(specifiers('import { a } from "../x.ts";\nexport * from "./y.ts";\nconst m = await import("../z.ts");')).toEqual(["../x.ts", "./y.ts", "../z.ts"]);
  });
});

describe("determinism: src/core, src/cpu and src/model read nothing from outside", () => {
  const FORBIDDEN: readonly [RegExp, string][] = [
    [/\bDate\.now\b|\bnew Date\b/, "the time of day"],
    [/\bperformance\.now\b|\bprocess\.hrtime\b/, "a clock"],
    [/\bMath\.random\b|\bcrypto\.random|\bgetRandomValues\b|\brandomBytes\b|\brandomUUID\b/, "randomness"],
    [/\bprocess\.(env|argv|cwd|platform|pid)\b/, "the environment"],
    [/["']node:(fs|fs\/promises|os|child_process|net|http|https|dgram|worker_threads|perf_hooks|readline|process)["']/, "a system module"],
    [/["'](fs|os|child_process|seedrandom)["']/, "a system module or a random source"],
  ];
  for (const room of DETERMINISTIC) {
    it(`src/${room}`, () => {
      const found: string[] = [];
      for (const f of files.filter((x) => roomOf(x) === room)) {
        const lines = text.get(f)!.split("\n");
        lines.forEach((line, i) => {
          if (/^\s*(\/\/|\*|\/\*)/.test(line)) return; // comments may name what is forbidden
          for (const [re, what] of FORBIDDEN) if (re.test(line)) found.push(`${relative(SRC, f)}:${i + 1}: reads ${what}: ${line.trim()}`);
        });
      }
      expect(found).toEqual([]);
    });
  }

  it("the checker catches each kind of read", () => {
    const probe = ["Date.now()", "performance.now()", "Math.random()", "process.env.X", 'import { readFileSync } from "node:fs";', 'import sr from "seedrandom";'];
    for (const line of probe) expect(FORBIDDEN.some(([re]) => re.test(line)), line).toBe(true);
  });
});
