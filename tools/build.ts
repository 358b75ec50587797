// Builds what `npm ci` builds (postinstall) and `npm run build` rebuilds: the CLI bundle
// (dist/cli/hvsim.mjs, see build-cli.ts) and the viewer page (dist/viewer).
import { buildCli, CLI_DIST_DIR } from "./build-cli.ts";
import { buildAssets, DIST_DIR, ASSET_NAMES } from "../src/viewer/assets.ts";

const cliBytes = await buildCli();
console.log(`cli: hvsim.mjs ${cliBytes} bytes in ${CLI_DIST_DIR}`);
const assets = await buildAssets(DIST_DIR);
console.log(`viewer page: ${ASSET_NAMES.map((n) => `${n} ${assets[n].length} bytes`).join(", ")} in ${DIST_DIR}`);
