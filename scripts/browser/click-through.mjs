// Clicks through `slipway serve` as a maintainer would, in headless Chromium (Debian's, driven
// by playwright-core): Jobs → Run now → the run → its failing test's text and a file → the
// grid and its filter → a slow job run now, its live log, Abort → Dashboards, Clusters, Leases,
// Releases. Fails on any console error or page error (a Content Security Policy violation is
// one), and saves a screenshot of every page it visits into $SHOTS.
//
// Usage: PLAYWRIGHT_PREFIX=DIR node click-through.mjs BASE_URL SHOTS_DIR (DIR holds
// node_modules/playwright-core).
import { createRequire } from 'node:module';

const { chromium } = createRequire(`${process.env.PLAYWRIGHT_PREFIX ?? '.'}/`)('playwright-core');

const [base, shots] = process.argv.slice(2);
if (!base || !shots) {
  console.error('usage: node click-through.mjs BASE_URL SHOTS_DIR');
  process.exit(2);
}
const problems = [];
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
page.on('console', (message) => {
  if (message.type() === 'error') problems.push(`console: ${message.text()} (${message.location().url || page.url()})`);
});
page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
page.on('response', (response) => {
  if (response.status() >= 400) problems.push(`${response.status()} for ${response.request().method()} ${response.url()}`);
});
page.setDefaultTimeout(20000);
let shot = 0;
const snap = async (name) => page.screenshot({ path: `${shots}/${String(++shot).padStart(2, '0')}-${name}.png`, fullPage: true });
const step = (text) => console.log(`- ${text}`);
const expect = (condition, what) => {
  if (!condition) throw new Error(`expected ${what}`);
};
// Reloads until `locator` shows (a run finishing, a state changing), at most `seconds`.
async function until(locator, seconds, what) {
  const deadline = Date.now() + seconds * 1000;
  while (!(await locator.count())) {
    if (Date.now() > deadline) throw new Error(`waited ${seconds} s for ${what}`);
    await page.waitForTimeout(300);
    await page.reload();
  }
}

try {
  step('Jobs: Run now on unit');
  await page.goto(`${base}/jobs`);
  await snap('jobs');
  await page.locator('tr', { hasText: 'unit' }).first().getByRole('button', { name: 'Run now' }).click();
  await page.waitForURL(/\/runs\?job=unit/);

  step('Runs: the run finishes (it fails: one test fails)');
  await until(page.locator('td.state-failure'), 60, 'the unit run to fail');
  await snap('runs');
  await page.locator('table.runs tbody tr').first().locator('a').first().click();
  await page.waitForURL(/\/runs\/[^/?]+$/);

  step('The run: its failing test and its text, its files');
  await page.getByRole('heading', { name: 'Test results' }).waitFor();
  const failure = page.locator('ul.failures details').first();
  await failure.locator('summary').click();
  expect(await failure.locator('pre').isVisible(), 'the failure text to show when opened');
  expect((await failure.locator('pre').textContent()).includes('by zero'), 'the failure text');
  await snap('run');
  const junit = page.locator('ul.files a', { hasText: 'junit_unit.xml' }).first();
  await junit.click();
  expect((await page.content()).includes('divides'), 'the JUnit file served as text');
  await page.goBack();

  step('The grid: the filter narrows the tests');
  await page.getByRole('link', { name: 'its tests' }).click();
  await page.waitForURL(/\/grid\/unit/);
  await page.locator('#filter').fill('divides');
  await page.waitForFunction(() => document.getElementById('shown').textContent.startsWith('1 of'));
  await snap('grid');

  step('Jobs: Run now on slow, its live log, then Abort');
  await page.goto(`${base}/jobs`);
  await page.locator('tr', { hasText: 'slow' }).first().getByRole('button', { name: 'Run now' }).click();
  await page.waitForURL(/\/runs\?job=slow/);
  await until(page.locator('td.state-running'), 30, 'the slow run to start');
  await page.locator('table.runs tbody tr').first().locator('a').first().click();
  await page.locator('#log', { hasText: 'still going' }).waitFor({ timeout: 20000 });
  await snap('live-log');
  await page.getByRole('button', { name: 'Abort' }).click();
  await until(page.locator('#state.state-aborted'), 30, 'the run to be aborted');
  expect((await page.content()).includes('aborted on request'), 'the run to say why it ended');
  await snap('aborted');

  for (const [name, heading] of [['Dashboards', 'Dashboards'], ['Clusters', null], ['Leases', 'Leases'], ['Releases', 'Releases']]) {
    step(name);
    await page.locator('nav').getByRole('link', { name, exact: true }).click();
    if (heading) await page.getByRole('heading', { name: heading, exact: true }).waitFor();
    await snap(name.toLowerCase());
    if (name === 'Dashboards') {
      await page.locator('ul.dashboards a').first().click();
      await page.locator('.status').first().waitFor();
      await snap('dashboard');
    }
  }
} catch (error) {
  problems.push(`${error.message} (on ${page.url()})`);
  await snap('failed').catch(() => {});
}
await browser.close();
if (problems.length) {
  console.error(`the click-through failed:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`clicked through every page; screenshots in ${shots}`);
