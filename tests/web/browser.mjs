// Headless Chromium (Debian's, through puppeteer-core: no browser download)
// against a chatd started for the test.
export async function launch(executablePath) {
  const { default: puppeteer } = await import("puppeteer-core");
  const args = ["--headless=new", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage"];
  // Chromium refuses to run as root with its sandbox (containers, CI).
  if (process.getuid && process.getuid() === 0) args.push("--no-sandbox");
  return puppeteer.launch({ executablePath, headless: true, args, timeout: 60000 });
}

// Collects what a page must not produce: console errors, uncaught exceptions,
// failed requests and any request to an origin outside `allowed`.
export function watch(page, allowed) {
  const problems = [];
  page.on("console", (m) => { if (m.type() === "error") problems.push("console error: " + m.text()); });
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on("request", (r) => {
    const u = r.url();
    if (!u.startsWith("data:") && !allowed.some((o) => u.startsWith(o + "/"))) problems.push("request to another origin: " + u);
  });
  return problems;
}
