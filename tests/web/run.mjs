// Runs one of the tests of this folder, or skips it (exit 77, CTest's
// SKIP_RETURN_CODE) when its tooling is missing: the npm packages
// (scripts/install-deps.sh runs `npm ci` here) or, for a browser test, the
// Chromium binary named by --chromium. With CHAT_REQUIRE_WEB_TESTS=1 (set by
// `make test`, whose package step installs both) missing tooling fails the
// test instead: a skipped check must never pass for a run check.
// Usage: node run.mjs <script.mjs> [--name value]...
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const missing = process.env.CHAT_REQUIRE_WEB_TESTS === "1" ? 1 : 77;
const [script, ...args] = process.argv.slice(2);
if (!existsSync(path.join(here, "node_modules", ".package-lock.json"))) {
  console.log(`SKIPPED: ${here}/node_modules is missing; run scripts/install-deps.sh (npm ci --prefix tests/web)`);
  process.exit(missing);
}
const chromium = args.indexOf("--chromium");
if (chromium >= 0 && !existsSync(args[chromium + 1] || "")) {
  console.log(`SKIPPED: no Chromium at '${args[chromium + 1] || ""}'; run scripts/install-deps.sh (Debian chromium)`);
  process.exit(missing);
}
process.argv = [process.argv[0], path.join(here, script), ...args];
await import(pathToFileURL(path.join(here, script)).href);
