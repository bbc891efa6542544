// GET /api/docs in headless Chromium: loads without console errors or outside
// requests, renders every operation of the OpenAPI document with its auth and
// responses, and leaves a screenshot in the build directory.
// Usage: node docs_page.mjs --chatd <binary> --chromium <path> --doc <openapi.json> --out <dir>
import { readFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import assert from "node:assert/strict";
import { startChatd, flags } from "./chatd.mjs";
import { launch, watch } from "./browser.mjs";

const opts = flags();
const doc = JSON.parse(readFileSync(opts.doc, "utf8"));
const operations = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0);
mkdirSync(opts.out, { recursive: true });

const d = await startChatd(opts.chatd);
const browser = await launch(opts.chromium);
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  const problems = watch(page, [d.url]);
  const res = await page.goto(d.url + "/api/docs", { waitUntil: "networkidle0", timeout: 60000 });
  assert.equal(res.status(), 200);
  await page.waitForSelector("body[data-routes]", { timeout: 30000 });
  const seen = await page.evaluate(() => ({
    routes: Number(document.body.dataset.routes),
    sections: document.querySelectorAll("section.op").length,
    nav: document.querySelectorAll("nav a").length,
    heads: [...document.querySelectorAll("section.op .head")].map((h) => h.textContent),
    examples: document.querySelectorAll("pre.example").length,
    responses: document.querySelectorAll("tr.response").length,
    title: document.title,
  }));
  await page.screenshot({ path: path.join(opts.out, "api-docs.png") });
  await page.screenshot({ path: path.join(opts.out, "api-docs-full.png"), fullPage: true });
  assert.deepEqual(problems, []);
  assert.equal(seen.title, "chatd API reference");
  assert.equal(seen.routes, operations);
  assert.equal(seen.sections, operations);
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const m of Object.keys(item)) {
      assert.ok(seen.heads.some((h) => h.startsWith(m.toUpperCase() + p)), `rendered: ${m} ${p}`);
    }
  }
  assert.ok(seen.heads.some((h) => h.includes("bearer token (admin)")));
  assert.ok(seen.heads.some((h) => h.includes("anonymous, or a bearer token")));
  assert.ok(seen.examples >= 15, "request examples rendered");
  console.log(`docs page: ${seen.sections} routes, ${seen.examples} examples, ${seen.responses} responses; ` +
              `screenshots in ${opts.out}`);
} finally {
  await browser.close();
  await d.stop();
}
