// The dashboard in a real browser (Debian's chromium through playwright-core)
// against a real `kjd serve` on the local control plane and Redis (issue 15):
// live counts, a dead letter fixed and redriven into exactly one Job, a Job's
// logs, a token that may not see a route, no console errors or failed
// requests, and axe-core. Saves the README's screenshots under docs/images/.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { accountToken, FIXED, STRICT, writeTemplate } from '../support/dead-letter-fixture.ts';
import { launch, seriousViolations, watchedPage } from '../support/browser.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { results, useServeFixture } from '../support/serve-fixture.ts';
import type { ServeProcess } from '../support/serve.ts';

const images = new URL('../../docs/images/', import.meta.url).pathname;
const behaving = new URL('../fixtures/behaving-job.yaml', import.meta.url).pathname;

describe('the dashboard, in chromium', () => {
  const nsa = useNamespace('dash-a');
  const nsb = useNamespace('dash-b');
  const fx = useServeFixture(nsa, '');
  const tokens = { operator: '', outsider: '' };
  let browser: Browser;
  let template = '';

  before(async () => {
    template = await writeTemplate(await mkdtemp(join(tmpdir(), 'kjd-dash-')), STRICT);
    const all = ['get', 'list', 'watch', 'create', 'delete'];
    tokens.operator = await accountToken(nsa.name, 'operator', all, true);
    // The outsider has every right in namespace B and none in A.
    tokens.outsider = await accountToken(nsb.name, 'outsider', all, true);
    browser = await launch();
  });
  after(async () => {
    await browser.close();
  });

  const routes = (p: string) => [
    {
      name: 'work',
      template,
      namespace: nsa.name,
      source: { type: 'redis-list', key: `${p}:work`, heartbeatTtlMs: 1000 },
    },
    {
      name: 'other',
      template: behaving,
      namespace: nsb.name,
      source: { type: 'redis-list', key: `${p}:other`, heartbeatTtlMs: 1000 },
    },
  ];

  /** By keyboard alone: Tab reaches the token field first, Enter signs in. */
  async function signIn(page: Page, kjd: ServeProcess, token: string): Promise<void> {
    await page.goto(`${kjd.url}/ui/`);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement?.id'), 'token');
    await page.keyboard.type(token);
    await page.keyboard.press('Enter');
    await page.locator('#status', { hasText: /live|no route/ }).waitFor();
  }
  const count = (page: Page, route: string, what: string) =>
    page.locator(`tr[data-route="${route}"] [data-count="${what}"]`);

  test('live counts, dead letter -> fix -> redrive -> exactly one Job, logs, access, no dead ends, axe', async () => {
    const p = fx.prefix();
    let kjd = await fx.serve(p, { routes: routes(p) });
    const { page, problems } = await watchedPage(browser);
    await signIn(page, kjd, tokens.operator);
    await page.locator('tr[data-route="work"]').waitFor();

    // Live: items pushed now show up as Jobs and counts, without a reload.
    const navigations: string[] = [];
    page.on('framenavigated', (f) => navigations.push(f.url()));
    for (let i = 1; i <= 3; i++)
      await fx.redis.lpush(`${p}:work`, JSON.stringify({ id: `ok-${i}`, CUSTOM_ID: String(i) }));
    await count(page, 'work', 'succeeded').filter({ hasText: /^3$/ }).waitFor({ timeout: 60_000 });
    await page.locator('#jobs tr[data-job]').nth(2).waitFor();
    assert.deepEqual(navigations, [], 'the page was not reloaded');

    // A bad parameter: dead-lettered, with its reason, on the page.
    await fx.redis.lpush(`${p}:work`, JSON.stringify({ id: 'bad-1', CUSTOM_ID: 'abc' }));
    await count(page, 'work', 'deadLettered').filter({ hasText: /^1$/ }).waitFor({ timeout: 30_000 });
    await page.locator('#dead-route').selectOption('work');
    const deadRow = page.locator('tr[data-dead="bad-1"]');
    await deadRow.filter({ hasText: 'PARAMETER_INVALID' }).waitFor();
    assert.match(await deadRow.innerText(), /CUSTOM_ID/);
    await page.locator('#dead-section').screenshot({ path: join(images, 'dashboard-dead-letters.png') });
    assert.deepEqual(await seriousViolations(page), []);

    // Fix the template, roll kjd, redrive from the page. Signed out first: a
    // stream reconnecting to a stopped server is a failed request by design.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await fx.stop(kjd);
    await writeTemplate(dirname(template), FIXED);
    kjd = await fx.serve(p, { routes: routes(p) });
    await signIn(page, kjd, tokens.operator);
    await page.locator('#dead-route').selectOption('work');
    await page.getByRole('button', { name: 'Redrive bad-1' }).click();
    await page.locator('#dead-message', { hasText: 'bad-1 requeued.' }).waitFor();
    const row = page.locator('#jobs tr[data-job]', { hasText: 'bad-1' });
    await row.filter({ hasText: 'Succeeded' }).waitFor({ timeout: 60_000 });
    await eventually(
      'the result of bad-1',
      async () => (await fx.redis.exists(`${results(p, 'work')}bad-1`)) || undefined,
    );
    assert.equal((await fx.jobsFor(nsa.name, 'bad-1')).length, 1, 'exactly one Job for the redriven item');
    assert.equal(await fx.redis.llen(`${p}:work:dead`), 0);

    // More items, so the charts have something to show (3 + bad-1 + 6 succeeded), then the overview's picture.
    for (let i = 4; i <= 9; i++) {
      await fx.redis.lpush(`${p}:work`, JSON.stringify({ id: `ok-${i}`, CUSTOM_ID: String(i) }));
      await new Promise((r) => setTimeout(r, 700));
    }
    await count(page, 'work', 'succeeded').filter({ hasText: /^10$/ }).waitFor({ timeout: 60_000 });
    await page.locator('#overview').screenshot({ path: join(images, 'dashboard-overview.png') });

    // The Job's detail: its result and its logs.
    await row.getByRole('button').first().click();
    await page.locator('#result', { hasText: 'Succeeded' }).waitFor();
    await page.locator('#logs', { hasText: 'kwok: done' }).waitFor({ timeout: 30_000 });
    await page.locator('#events', { hasText: 'SuccessfulCreate' }).waitFor();
    await page.locator('#detail').screenshot({ path: join(images, 'dashboard-job-detail.png') });
    assert.deepEqual(await seriousViolations(page), []);
    await page.getByRole('button', { name: 'Close' }).click();

    assert.deepEqual(problems, [], problems.join('\n'));

    // A token with no rights in namespace A: route "work" and its Jobs are not there, and the server refuses.
    const outsider = await watchedPage(browser);
    await signIn(outsider.page, kjd, tokens.outsider);
    await outsider.page.locator('tr[data-route="other"]').waitFor();
    assert.equal(await outsider.page.locator('tr[data-route="work"]').count(), 0);
    assert.equal(await outsider.page.locator('#jobs tr[data-job]').count(), 0);
    assert.deepEqual(await outsider.page.locator('#dead-route option').allInnerTexts(), ['other']);
    // Where it has rights it can act: cancel a Job that would run forever.
    await fx.redis.lpush(`${p}:other`, JSON.stringify({ id: 'forever', CUSTOM_ID: 'f', OUTCOME: 'never' }));
    await outsider.page.getByRole('button', { name: /^Cancel / }).click({ timeout: 30_000 });
    await outsider.page.locator('#status', { hasText: 'cancelled' }).waitFor();
    await eventually('the cancelled Job to be gone', async () =>
      (await fx.jobsFor(nsb.name, 'forever')).length === 0 ? true : undefined,
    );
    assert.deepEqual(outsider.problems, [], outsider.problems.join('\n'));
    const job = (await fx.jobsFor(nsa.name, 'bad-1'))[0]?.metadata?.name ?? '';
    const refused = async (method: string, path: string) =>
      (await fetch(`${kjd.url}${path}`, { method, headers: { authorization: `Bearer ${tokens.outsider}` } }))
        .status;
    assert.equal(await refused('GET', '/v1/routes/work/dead-letters'), 403);
    assert.equal(await refused('POST', '/v1/routes/work/dead-letters/redrive'), 403);
    assert.equal(await refused('GET', `/v1/jobs?namespace=${nsa.name}`), 403);
    assert.equal(await refused('GET', `/v1/jobs/${job}?namespace=${nsa.name}`), 403);
    assert.equal(await refused('GET', `/v1/jobs/${job}/logs?namespace=${nsa.name}`), 403);
    assert.equal(await refused('GET', `/v1/jobs/${job}/events?namespace=${nsa.name}`), 403);
    assert.equal(await refused('DELETE', `/v1/jobs/${job}?namespace=${nsa.name}`), 403);
    assert.equal((await fx.jobsFor(nsa.name, 'bad-1')).length, 1);
    await fx.stop(kjd);
  });
});
