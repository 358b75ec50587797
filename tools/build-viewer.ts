// Bundles the viewer page (src/viewer/page) into dist/viewer with esbuild: run by `npm ci`
// (postinstall) and `npm run build:viewer`. `hvsim view` also rebuilds it when the sources are newer.
import { buildAssets, DIST_DIR, ASSET_NAMES } from "../src/viewer/assets.ts";

const assets = await buildAssets(DIST_DIR);
console.log(`viewer page: ${ASSET_NAMES.map((n) => `${n} ${assets[n].length} bytes`).join(", ")} in ${DIST_DIR}`);
