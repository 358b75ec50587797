import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The page's files: bundled by esbuild from `src/viewer/page` (Preact and TanStack Virtual are
 * compiled in, so the browser fetches nothing but these three files from this server). `npm ci`
 * builds them (the postinstall script); `hvsim view` rebuilds them when the sources are newer, so
 * an edited page is never served stale.
 */
export const ASSET_NAMES = ["index.html", "app.js", "app.css"] as const;
export type AssetName = (typeof ASSET_NAMES)[number];
export type Assets = Readonly<Record<AssetName, Buffer>>;

const pageDir = fileURLToPath(new URL("./page/", import.meta.url));
export const DIST_DIR = join(dirname(dirname(dirname(fileURLToPath(import.meta.url)))), "dist", "viewer");

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

const isFresh = (dir: string): boolean =>
  ASSET_NAMES.every((n) => existsSync(join(dir, n))) && statSync(join(dir, "app.js")).mtimeMs >= newestSource(pageDir);

/** Bundles the page into memory (and into `outDir` when given). */
export async function buildAssets(outDir?: string): Promise<Assets> {
  const { build } = await import("esbuild");
  const result = await build({
    entryPoints: { app: join(pageDir, "main.tsx") },
    bundle: true,
    write: false,
    outdir: "/",
    format: "esm",
    platform: "browser",
    target: ["chrome111", "firefox115", "safari16"],
    jsx: "automatic",
    jsxImportSource: "preact",
    minify: true,
    define: { "process.env.NODE_ENV": '"production"' },
    logLevel: "silent",
  });
  const file = (ext: string): Buffer => {
    const f = result.outputFiles.find((o) => o.path.endsWith(`app.${ext}`));
    if (f === undefined) throw new Error(`viewer bundle: esbuild produced no app.${ext}`);
    return Buffer.from(f.contents);
  };
  const assets: Assets = { "index.html": readFileSync(join(pageDir, "index.html")), "app.js": file("js"), "app.css": file("css") };
  if (outDir !== undefined) {
    mkdirSync(outDir, { recursive: true });
    // Whole files or none: another hvsim view starting at the same moment may be reading them.
    for (const n of ASSET_NAMES) {
      const tmp = join(outDir, `.${n}.${process.pid}.tmp`);
      writeFileSync(tmp, assets[n]);
      renameSync(tmp, join(outDir, n));
    }
  }
  return assets;
}

/** The bundled page: from `dist/viewer` when it is current, else built now (and saved when possible). */
export async function viewerAssets(dir = DIST_DIR): Promise<{ assets: Assets; built: boolean }> {
  if (isFresh(dir)) {
    const read = (n: AssetName): Buffer => readFileSync(join(dir, n));
    return { assets: { "index.html": read("index.html"), "app.js": read("app.js"), "app.css": read("app.css") }, built: false };
  }
  try {
    return { assets: await buildAssets(dir), built: true };
  } catch (e) {
    // A read-only install can still serve a page built in memory.
    if ((e as NodeJS.ErrnoException).code === "EACCES" || (e as NodeJS.ErrnoException).code === "EROFS") return { assets: await buildAssets(), built: true };
    throw e;
  }
}
