// Opens d2h's HTML reports in headless Chromium, as a person would: each page
// loads from disk with no console error, no page error and no request but its
// own file; its filters change what is visible (and the count it shows); and a
// screenshot of the top of the page is saved.
//
// Run by scripts/html-report-check.sh, which renders the reports and installs
// playwright-core; by hand:
//   PLAYWRIGHT_CORE=path/to/node_modules/playwright-core CHROMIUM=/usr/bin/chromium \
//     node scripts/html-report-check.cjs SHOTS_DIR PAGE.html:FILTER=VALUE[,FILTER=VALUE...] ...
// Each FILTER=VALUE is chosen in turn (the others reset), and must leave
// visible exactly the items whose data-FILTER is VALUE, fewer than all of them.
"use strict";

const path = require("path");
const { chromium } = require(process.env.PLAYWRIGHT_CORE || "playwright-core");

async function checkPage(browser, file, filters, shotsDir) {
  const problems = [];
  const page = await browser.newPage({ viewport: { width: 1280, height: 1500 } });
  const url = "file://" + path.resolve(file);
  page.on("console", (msg) => {
    if (msg.type() === "error" || msg.type() === "warning") {
      problems.push(`console ${msg.type()}: ${msg.text()}`);
    }
  });
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("request", (req) => {
    if (req.url() !== url) {
      problems.push(`request: ${req.url()}`);
    }
  });
  await page.goto(url, { waitUntil: "load" });

  const summary = await page.evaluate(() => ({
    items: document.querySelectorAll("[data-item]").length,
    plots: document.querySelectorAll("figure.plot svg").length,
    title: document.title,
  }));
  const lines = [`${path.basename(file)}: "${summary.title}", ${summary.plots} plots, ${summary.items} filterable items`];
  if (summary.plots === 0) {
    problems.push("no plot");
  }
  const visible = () =>
    page.evaluate(() => ({
      shown: Array.from(document.querySelectorAll("[data-item]")).filter((e) => e.offsetParent !== null).length,
      counter: document.getElementById("shown") ? document.getElementById("shown").textContent : null,
    }));
  const before = await visible();
  if (before.shown !== summary.items || before.counter !== String(summary.items)) {
    problems.push(`before filtering: ${before.shown} visible, counter ${before.counter}, of ${summary.items}`);
  }
  for (const filter of filters) {
    const [name, value] = filter.split("=");
    await page.selectOption(`#filter-${name}`, value);
    const expected = await page.evaluate(
      ([n, v]) => document.querySelectorAll(`[data-item][data-${n}="${CSS.escape(v)}"]`).length,
      [name, value],
    );
    const after = await visible();
    lines.push(`  ${name}=${value}: ${after.shown} of ${summary.items} visible (counter ${after.counter}, expected ${expected})`);
    if (after.shown !== expected || after.counter !== String(expected) || expected === 0 || expected >= summary.items) {
      problems.push(`filter ${name}=${value} shows ${after.shown} (counter ${after.counter}), expected ${expected} of ${summary.items}`);
    }
    await page.click("#filter-reset");
    await page.waitForFunction((n) => document.getElementById("shown").textContent === String(n), summary.items);
  }
  // A file link in a table picks the file filter.
  const link = await page.$("[data-set-file]");
  if (link && filters.length > 0) {
    const file = await link.getAttribute("data-set-file");
    await link.click();
    const expected = await page.evaluate(
      (f) => document.querySelectorAll(`[data-item][data-file="${CSS.escape(f)}"]`).length,
      file,
    );
    const after = await visible();
    lines.push(`  file link ${file}: ${after.shown} visible (expected ${expected})`);
    if (after.shown !== expected) {
      problems.push(`file link ${file} shows ${after.shown}, expected ${expected}`);
    }
    await page.click("#filter-reset");
    await page.waitForFunction((n) => document.getElementById("shown").textContent === String(n), summary.items);
  }
  await page.evaluate(() => window.scrollTo(0, 0));
  const shot = path.join(shotsDir, path.basename(file, ".html") + ".png");
  await page.screenshot({ path: shot });
  lines.push(`  screenshot ${shot}`);
  await page.close();
  return { lines, problems };
}

async function main() {
  const [shotsDir, ...pages] = process.argv.slice(2);
  if (!shotsDir || pages.length === 0) {
    console.error("usage: html-report-check.cjs SHOTS_DIR PAGE.html[:FILTER=VALUE,...] ...");
    process.exit(2);
  }
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
  let failed = false;
  for (const spec of pages) {
    const [file, filterList] = spec.split(":");
    const filters = filterList ? filterList.split(",") : [];
    const { lines, problems } = await checkPage(browser, file, filters, shotsDir);
    console.log(lines.join("\n"));
    for (const problem of problems) {
      console.log(`  FAIL ${problem}`);
      failed = true;
    }
    if (problems.length === 0) {
      console.log("  ok: no console errors, no requests, filters work");
    }
  }
  await browser.close();
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
