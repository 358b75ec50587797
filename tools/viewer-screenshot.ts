// Writes docs/viewer.png: the viewer on the protected-VM boot, taken by the same tooling as the
// viewer's browser tests (test/viewer-harness.ts). Run it after changing the page: npm run docs:viewer
import { screenshotViewer } from "../test/viewer-harness.ts";

const out = process.argv[2] ?? "docs/viewer.png";
await screenshotViewer("traces/pvm-boot-s1.hvt", out);
console.log(`wrote ${out}`);
