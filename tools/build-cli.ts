/**
 * Bundles the CLI (src/cli/main.ts and everything it imports, libraries included) into one ES
 * module, dist/cli/hvsim.mjs, so that `hvsim` starts without compiling TypeScript: run by `npm ci`
 * (postinstall, through tools/build.ts) and `npm run build`. bin/hvsim.mjs runs it when it is at least
 * as new as every source it was built from (dist/cli/inputs.json lists them) and falls back to tsx
 * otherwise, so an edited checkout never runs stale code.
 */
import { readFile, mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const CLI_DIST_DIR = join(ROOT, "dist", "cli");

/** Packages that load native code or are only used by tools: left to Node's resolver at run time. */
const EXTERNAL = ["esbuild", "tsx", "playwright-core", "msgpackr-extract", "cbor-extract", "fsevents"];

/**
 * Files that find the repository's folders (scenarios/, guests/, dist/viewer) from their own
 * location keep that meaning in the bundle: `import.meta.url` becomes the URL the source file had.
 */
const META_URL = /(?<!["'`])\bimport\.meta\.url\b(?!["'`])/g;
// Spelled in pieces so that bundling this file (tools/bundle.ts bundles benches that import it)
// does not rewrite it too.
const BUNDLE_URL = ["import", "meta", "url"].join(".");

function sourceLocations(outDir: string) {
  return {
    name: "source-locations",
    setup(b: { onLoad: (o: { filter: RegExp }, f: (a: { path: string }) => Promise<{ contents: string; loader: "ts" | "tsx" }>) => void }) {
      b.onLoad({ filter: /\.tsx?$/ }, async (a) => {
        let contents = await readFile(a.path, "utf8");
        // Code, not text: an occurrence in quotes (a string, or a comment naming it) stays as it is.
        contents = contents.replace(META_URL, `new URL(${JSON.stringify(relative(outDir, a.path))}, ${BUNDLE_URL}).href`);
        return { contents, loader: a.path.endsWith(".tsx") ? "tsx" : "ts" };
      });
    },
  };
}

/** Builds hvsim.mjs (+ source map and inputs.json) into `outDir`; returns the bundle's size. */
export async function buildCli(outDir = CLI_DIST_DIR): Promise<number> {
  return bundle(join(ROOT, "src/cli/main.ts"), outDir, "hvsim.mjs");
}

/**
 * Bundles one entry module into `outDir/name` (+ map and inputs.json), as the CLI is bundled:
 * benchmarks and profiles use it to measure the code users run (no tsx, no keepNames).
 */
export async function bundle(entry: string, outDir: string, name: string): Promise<number> {
  const { build } = await import("esbuild");
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    write: false,
    outfile: join(outDir, name),
    external: EXTERNAL,
    sourcemap: "linked",
    metafile: true,
    logLevel: "silent",
    // Bundled CommonJS libraries call require(); an ES module has none of its own.
    banner: { js: 'import { createRequire as __hvsimCreateRequire } from "node:module";\nconst require = __hvsimCreateRequire(import.meta.url);' },
    plugins: [sourceLocations(outDir)],
  });
  await mkdir(outDir, { recursive: true });
  const inputs = Object.keys(result.metafile.inputs)
    .filter((p) => !p.includes("node_modules/"))
    .map((p) => relative(outDir, resolve(p)));
  const files: [string, Uint8Array | string][] = [
    ...result.outputFiles.map((f) => [f.path, f.contents] as [string, Uint8Array]),
    // Written last: bin/hvsim.mjs trusts the bundle only when this file is newer than every input.
    [join(outDir, "inputs.json"), JSON.stringify({ inputs }) + "\n"],
  ];
  // Whole files or none: another hvsim may be starting from this folder at the same moment.
  for (const [path, contents] of files) {
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, contents);
    await rename(tmp, path);
  }
  return result.outputFiles.find((f) => f.path.endsWith(".mjs"))!.contents.length;
}
