// Drive Debian's chromium (puppeteer-core) through one page and print what
// it shows as JSON, for tests/browser/check_browser.py to compare with the
// oracles.  Why a separate script: the checks are Python like every other
// test driver; only the browser needs node.
//   node page.js explorer FILE.html '{"search": "...", "click": "0x..."}'
//   node page.js speedscope SPEEDSCOPE_INDEX.html FILE.collapsed
// Any request other than the page itself (and, for speedscope, its own
// files) is reported in "requests" (the page's CSP also forbids them).
"use strict";
const puppeteer = require("puppeteer-core");
const path = require("path");
const url = require("url");

async function main() {
  const [mode, file, arg] = process.argv.slice(2);
  const browser = await puppeteer.launch({
    executablePath: process.env.PAG_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu-sandbox", "--enable-unsafe-swiftshader", "--use-angle=swiftshader",
           "--no-first-run", "--disable-background-networking", "--disable-component-update"],
  });
  const out = { requests: [], errors: [] };
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 900 });
    page.on("pageerror", (e) => out.errors.push(String(e)));
    page.on("console", (m) => { if (m.type() === "error") out.errors.push(m.text()); });
    const own = url.pathToFileURL(path.resolve(file)).href;
    const ownDir = url.pathToFileURL(path.dirname(path.resolve(file))).href + "/";
    // every request is seen (not intercepted: that would stream the page
    // through the DevTools protocol and slow its load several times)
    page.on("request", (r) => {
      const u = r.url();
      const ok = mode === "explorer" ? u === own : u.startsWith(ownDir) || u.startsWith("data:") || u.startsWith("blob:");
      if (!ok) out.requests.push(u);
    });
    if (mode === "explorer") await explorer(page, own, JSON.parse(arg || "{}"), out);
    else await speedscope(page, own, arg, out);
    if (process.env.PAG_SCREENSHOT) await page.screenshot({ path: process.env.PAG_SCREENSHOT });
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}

async function explorer(page, own, acts, out) {
  const t0 = Date.now();
  await page.goto(own, { waitUntil: "load", timeout: 600000 });
  await page.waitForSelector("body[data-ready='1']", { timeout: 600000 });
  out.load_ms = Date.now() - t0;
  out.first_view_ms = Number(await page.$eval("body", (e) => e.dataset.readyMs));
  for (let k = 1; k < (acts.loads || 1); k++) { // the best of several loads: a busy machine is noisy
    await page.reload({ waitUntil: "load", timeout: 600000 });
    await page.waitForSelector("body[data-ready='1']", { timeout: 600000 });
    out.first_view_ms = Math.min(out.first_view_ms, Number(await page.$eval("body", (e) => e.dataset.readyMs)));
  }
  out.script_ms = Number(await page.$eval("body", (e) => e.dataset.scriptMs));
  out.head = await page.$eval("#head", (e) => e.textContent);
  out.roots = await page.$$eval("#tree > .node > .row", (rows) => rows.map((r) => ({
    label: r.querySelector(".lbl").textContent,
    count: r.querySelector(".count") ? r.querySelector(".count").textContent : "",
  })));
  out.cycles = await page.$$eval("#alerts .cycle", (es) => es.map((e) => e.textContent));
  out.running = await page.$$eval("#alerts .running", (es) => es.map((e) => e.textContent));
  if (acts.expand) { // open every node down to acts.expand levels, then list marked labels
    for (let d = 0; d < acts.expand; d++) {
      const togs = await page.$$(".tog");
      for (const t of togs) if ((await t.evaluate((e) => e.textContent)) === "\u25b8") await t.click();
    }
    out.marked_cycle = await page.$$eval("#tree .lbl.cycle", (es) => es.map((e) => e.textContent));
    out.marked_running = await page.$$eval("#tree .lbl.running", (es) => es.map((e) => e.textContent));
  }
  if (acts.search) {
    await page.type("#search", acts.search);
    await page.waitForFunction(() => document.getElementById("nhits").textContent !== "", { timeout: 60000 });
    out.nhits = await page.$eval("#nhits", (e) => e.textContent);
    out.hits = await page.$$eval("#results .hit", (es) => es.map((e) => e.dataset.task));
  }
  if (acts.click) {
    await page.evaluate((id) => {
      const e = document.querySelector("[data-task='" + id + "']");
      if (e) e.click();
    }, acts.click);
    out.graph = await page.$eval("#graph", (e) => e.textContent);
  }
}

async function speedscope(page, own, collapsed, out) {
  await page.goto(own, { waitUntil: "load", timeout: 120000 });
  const input = await page.waitForSelector("input[type=file]", { timeout: 60000 });
  await input.uploadFile(collapsed);
  // loaded: the file's name shows; then the sandwich view ("3") lists every
  // frame with its total and self counts as DOM text
  const name = path.basename(collapsed);
  await page.waitForFunction((n) => document.body.innerText.includes(n), { timeout: 60000 }, name);
  await page.keyboard.press("3");
  await page.waitForFunction(() => document.body.innerText.includes("Symbol Name"), { timeout: 60000 });
  await new Promise((r) => setTimeout(r, 500));
  out.text = await page.evaluate(() => document.body.innerText);
}

main().catch((e) => { process.stdout.write(JSON.stringify({ fatal: String(e && e.stack || e) }) + "\n"); process.exit(1); });
