// How the dashboard's files are served: index.html revalidated (no-cache +
// ETag, 304 when unchanged) and naming its scripts with a content hash, which
// are then cached for a year; a page only its own scripts may run in.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadUiAssets, uiApp } from './ui-assets.ts';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kjd-ui-'));
  await writeFile(join(dir, 'index.html'), '<script type="module" src="./main.js"></script>');
  await writeFile(join(dir, 'main.js'), 'console.log(1)');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('index.html: no-cache, ETag, 304, CSP; assets by content hash: immutable', async () => {
  const app = uiApp(await loadUiAssets(dir));
  const index = await app.request('/ui/');
  assert.equal(index.status, 200);
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  assert.match(index.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  const html = await index.text();
  const version = /main\.js\?v=([0-9a-f]{12})/.exec(html)?.[1];
  assert.ok(version !== undefined, html);
  const etag = index.headers.get('etag') ?? '';
  assert.equal((await app.request('/ui/', { headers: { 'if-none-match': etag } })).status, 304);
  const js = await app.request(`/ui/main.js?v=${version}`);
  assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.match(js.headers.get('content-type') ?? '', /text\/javascript/);
  // A stale or missing version is not cached for long: it may be a different file now.
  assert.equal((await app.request('/ui/main.js?v=000000000000')).headers.get('cache-control'), 'no-cache');
  assert.equal((await app.request('/ui/../package.json')).status, 404);
  assert.equal((await app.request('/ui')).status, 301);
});

test('not built: a 404 that says how to build it', async () => {
  const app = uiApp(await loadUiAssets(join(dir, 'missing')));
  const res = await app.request('/ui/');
  assert.equal(res.status, 404);
  assert.match(await res.text(), /npm run build/);
});
