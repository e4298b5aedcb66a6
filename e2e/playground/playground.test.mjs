// End-to-end test of the playground in headless Chromium: the page is served on 127.0.0.1, every fixture manifest
// is pasted into it, and the verdicts it shows must equal those of `host-harness check --output json` (the real
// policy.wasm through the real harness) on the same file with the same settings. A screenshot of each fixture's
// page is kept under target/e2e-playground/ (or $PLAYGROUND_ARTIFACTS).
//
// Run it with e2e/playground/run.sh (or `make e2e-playground`), which builds and installs what it needs.
// Needs: e2e/playground/pkg (scripts/build-js.sh), node_modules (npm ci), /usr/bin/chromium, policy.wasm and the
// host-harness binary ($POLICY and $HARNESS override their default places).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { startServer } from './serve.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const REPO = resolve(HERE, '../..');
const HARNESS = process.env.HARNESS ?? join(REPO, 'target/release/host-harness');
const POLICY = process.env.POLICY ?? join(REPO, 'policy.wasm');
const FIXTURES = join(REPO, 'tests/fixtures/manifests');
const SETTINGS = join(REPO, 'tests/fixtures/manifest-settings.yaml');
const ARTIFACTS = process.env.PLAYGROUND_ARTIFACTS ?? join(REPO, 'target/e2e-playground');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const DIGEST = 'sha256:2c8b08da5ce60398e1f19af0e5dccc744df274b826abe585eaba68c525434806';

for (const [what, path, fix] of [
  ['the playground module', join(HERE, 'pkg/require_digest.js'), 'scripts/build-js.sh'],
  ['the YAML parser', join(HERE, 'node_modules/yaml/browser/index.js'), 'npm ci in e2e/playground'],
  ['host-harness', HARNESS, 'cargo build --release -p host-harness'],
  ['policy.wasm', POLICY, 'scripts/build-policy.sh'],
  ['Chromium', CHROMIUM, 'apt-get install chromium'],
]) {
  if (!existsSync(path)) throw new Error(`${what} is missing at ${path}: run ${fix} (or e2e/playground/run.sh)`);
}

/** `host-harness check --output json` on `file`: its report, or an Error with what it printed. */
function harnessCheck(args, { input } = {}) {
  const run = spawnSync(HARNESS, ['check', POLICY, '--output', 'json', ...args], { input, encoding: 'utf8' });
  if (run.status !== 0 && run.status !== 1) {
    return { error: run.stderr.trim(), status: run.status };
  }
  return { report: JSON.parse(run.stdout) };
}

/** What both sides show of an object, in check's terms. */
function expectedObjects(report) {
  assert.equal(report.files.length, 1, 'one file per check');
  return report.files[0].objects.map((object) => ({
    line: object.line,
    kind: object.kind ?? '',
    name: object.name ?? '',
    namespace: object.namespace ?? '',
    verdict: object.verdict,
    message: object.verdict === 'rejected' ? object.message : null,
    warnings: object.warnings ?? [],
  }));
}

/** The objects the page shows, read from its DOM. */
function shownObjects(page) {
  return page.$$eval('#results article.object', (articles) => articles.map((article) => ({
    line: Number(article.dataset.line),
    kind: article.dataset.kind,
    name: article.dataset.name,
    namespace: article.dataset.namespace,
    verdict: article.dataset.verdict,
    message: article.querySelector('.message')?.textContent ?? null,
    warnings: [...article.querySelectorAll('.warnings li')].map((item) => item.textContent),
    images: [...article.querySelectorAll('tr.image')].map((row) => ({
      site: row.querySelector('.site').textContent,
      image: row.querySelector('.image code').textContent,
      status: row.dataset.status,
      reason: row.querySelector('.reason').textContent,
      pinned: row.querySelector('.pinned')?.textContent ?? null,
    })),
  })));
}

let server;
let context;
let page;
let userDataDir;
const pageErrors = [];

/** Fills the editors and presses Check; resolves once the page has checked that input. */
async function checkInPage({ manifest, settings, digests = '' }) {
  const runsBefore = Number(await page.evaluate(() => document.body.dataset.runs ?? 0));
  await page.fill('#settings', settings);
  await page.fill('#digests', digests);
  await page.fill('#manifest', manifest);
  await page.click('#check');
  await page.waitForFunction((before) => Number(document.body.dataset.runs ?? 0) > before, runsBefore);
}

before(async () => {
  const started = await startServer();
  server = started.server;
  userDataDir = mkdtempSync(join(tmpdir(), 'playground-chromium-'));
  mkdirSync(ARTIFACTS, { recursive: true });
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1400, height: 1000 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (error) => pageErrors.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(`console error: ${message.text()}`);
  });
  await page.goto(started.url);
  await page.waitForFunction(() => ['ready', 'failed'].includes(document.body.dataset.state), null, { timeout: 30_000 });
  const state = await page.evaluate(() => document.body.dataset.state);
  assert.equal(state, 'ready', `the page did not load the policy: ${await page.textContent('#problem')}`);
});

after(async () => {
  await context?.close();
  server?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

describe('the playground shows the verdicts host-harness check gives', () => {
  const settings = readFileSync(SETTINGS, 'utf8');
  const fixtures = readdirSync(FIXTURES).filter((name) => /\.(ya?ml|json)$/.test(name)).sort();
  assert.ok(fixtures.length >= 4, `expected the fixture manifests under ${FIXTURES}`);

  for (const fixture of fixtures) {
    test(fixture, { timeout: 60_000 }, async () => {
      const file = join(FIXTURES, fixture);
      const { report, error } = harnessCheck(['--settings-path', SETTINGS, file]);
      assert.equal(error, undefined, `host-harness check failed on ${fixture}: ${error}`);

      await checkInPage({ manifest: readFileSync(file, 'utf8'), settings });
      const shown = await shownObjects(page);
      await page.screenshot({ path: join(ARTIFACTS, `playground-${fixture}.png`), fullPage: true });

      assert.deepEqual(shown.map(({ images, ...object }) => object), expectedObjects(report));
      assert.equal(
        await page.textContent('#summary'),
        `checked ${shown.length} objects: ${report.summary.accepted} accepted, ${report.summary.rejected} rejected, ${report.summary.skipped} skipped`,
      );

      // Each image's status agrees with its object's verdict: every violation line is about an image shown as not
      // accepted, and an accepted object has no image shown as not accepted.
      for (const object of shown) {
        const failing = object.images.filter((image) => image.status === 'violation');
        if (object.verdict === 'accepted') {
          assert.deepEqual(failing, [], `${object.kind} ${object.name} is accepted, yet shows failing images`);
        }
        if (object.verdict === 'rejected') {
          // A rejection for an object the policy cannot read names no image; its message says what is wrong.
          const aboutImages = object.message.split('\n').filter((line) => !line.startsWith('malformed admission request:'));
          for (const line of aboutImages) {
            assert.ok(
              failing.some((image) => line.includes(`${image.site} `) && line.endsWith(image.reason)),
              `no image row shows the violation ${JSON.stringify(line)}`,
            );
          }
        }
      }
    });
  }

  test('each image has its status, reason and the pinned form to use', { timeout: 60_000 }, async () => {
    await checkInPage({ manifest: readFileSync(join(FIXTURES, 'web-apps.yaml'), 'utf8'), settings });
    const checkout = (await shownObjects(page)).find((object) => object.name === 'checkout');
    assert.deepEqual(checkout.images[0], {
      site: 'container "app" (spec.template.spec.containers[0])',
      image: 'ghcr.io/acme/checkout:1.8.0',
      status: 'violation',
      reason: 'is not pinned by a digest',
      pinned: 'ghcr.io/acme/checkout:1.8.0@sha256:<digest>',
    });
    const frontend = (await shownObjects(page)).find((object) => object.name === 'frontend' && object.kind === 'Deployment');
    assert.deepEqual(frontend.images.map((image) => image.status), ['pinned', 'pinned', 'pinned']);
  });
});

describe('the settings editor drives the same rule', () => {
  const pod = 'apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n    - name: app\n      image: nginx:1.27\n';

  test('invalid settings are refused with the words check uses', { timeout: 60_000 }, async () => {
    const settings = 'requireTag: "yes"\n';
    const { error, status } = harnessCheck(['--settings-json', JSON.stringify({ requireTag: 'yes' }), '-'], { input: pod });
    assert.equal(status, 2);
    await checkInPage({ manifest: pod, settings });
    const problem = await page.textContent('#problem');
    assert.equal(await page.isVisible('#problem'), true);
    assert.ok(error.endsWith(problem), `check said ${JSON.stringify(error)}, the page ${JSON.stringify(problem)}`);
    assert.equal(await page.$$eval('#results article', (articles) => articles.length), 0);
  });

  test('resolveTags with a known digest pins the image, as check does with the same digests', { timeout: 60_000 }, async () => {
    const digests = `nginx:1.27: ${DIGEST}\n`;
    const digestsFile = join(mkdtempSync(join(tmpdir(), 'playground-digests-')), 'digests.yaml');
    writeFileSync(digestsFile, digests);
    const settings = { resolveTags: true };
    const { report } = harnessCheck(['--settings-json', JSON.stringify(settings), '--digests', digestsFile, '-'], { input: pod });
    assert.equal(report.files[0].objects[0].mutated, true, 'check pins the image');

    await checkInPage({ manifest: pod, settings: JSON.stringify(settings), digests });
    const [shown] = await shownObjects(page);
    await page.screenshot({ path: join(ARTIFACTS, 'playground-resolve-tags.png'), fullPage: true });
    assert.equal(shown.verdict, report.files[0].objects[0].verdict);
    assert.equal(shown.images[0].status, 'resolved');
    assert.equal(shown.images[0].pinned, `nginx:1.27@${DIGEST}`);

    // Without the digest, both reject: the browser cannot ask a registry, and check was told to ask none.
    writeFileSync(digestsFile, '{}\n');
    const unknown = harnessCheck(['--settings-json', JSON.stringify(settings), '--digests', digestsFile, '-'], { input: pod });
    assert.equal(unknown.error, undefined, `check failed: ${unknown.error}`);
    await checkInPage({ manifest: pod, settings: JSON.stringify(settings), digests: '' });
    const [rejected] = await shownObjects(page);
    assert.equal(unknown.report.files[0].objects[0].verdict, 'rejected');
    assert.equal(rejected.verdict, 'rejected');
    assert.equal(rejected.images[0].status, 'violation');
    assert.match(rejected.images[0].reason, /^could not be resolved to a digest: /);
  });

  test('the page logged no errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
