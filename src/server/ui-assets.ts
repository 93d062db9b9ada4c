// The dashboard's files (built by `npm run build` into dist/web), served at
// /ui from memory. They are public: the page holds no data until its user
// types a token, and every request it makes after that goes through the API's
// authentication and authorization like any other client's.
//
// Caching: index.html is revalidated every time (no-cache + ETag); it names
// the other files with `?v=<content hash>`, so those may be cached for a year
// (immutable) and a new build is picked up at the next page load.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { Hono } from 'hono';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Where `npm run build` puts the dashboard, from this module in dist/src/server/. */
export const DEFAULT_UI_DIR = new URL('../../web/', import.meta.url).pathname;

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
  readonly hash: string;
}

/** The files under `dir` (recursively), or undefined when the dashboard was not built. */
export async function loadUiAssets(dir: string = DEFAULT_UI_DIR): Promise<Map<string, Asset> | undefined> {
  let names: string[];
  try {
    names = (await readdir(dir, { recursive: true })).filter((n) => TYPES[extname(n)] !== undefined);
  } catch {
    return undefined;
  }
  const assets = new Map<string, Asset>();
  for (const name of names) {
    const body = await readFile(join(dir, name));
    const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
    assets.set(name.split('\\').join('/'), {
      body,
      type: TYPES[extname(name)] ?? '',
      etag: `"${hash}"`,
      hash,
    });
  }
  const index = assets.get('index.html');
  if (index !== undefined) assets.set('index.html', versioned(index, assets));
  return assets;
}

/** index.html with every local asset it names given `?v=<hash>`: the cache key of that content. */
function versioned(index: Asset, assets: ReadonlyMap<string, Asset>): Asset {
  const html = index.body
    .toString('utf8')
    .replace(/(src|href)="\.\/([^"?]+)"/g, (whole, attr: string, path: string) => {
      const a = assets.get(path);
      return a === undefined ? whole : `${attr}="./${path}?v=${a.hash}"`;
    });
  const body = Buffer.from(html, 'utf8');
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
  return { body, type: index.type, etag: `"${hash}"`, hash };
}

export function uiApp(assets: ReadonlyMap<string, Asset> | undefined): Hono {
  const app = new Hono();
  app.get('/ui', (c) => c.redirect('/ui/', 301));
  app.get('/ui/*', (c) => {
    if (assets === undefined)
      return c.text('the dashboard was not built: run `npm run build`\n', 404, {
        'cache-control': 'no-store',
      });
    const path = c.req.path.slice('/ui/'.length) || 'index.html';
    const asset = assets.get(path);
    if (asset === undefined) return c.text('not found\n', 404);
    const headers: Record<string, string> = {
      'content-type': asset.type,
      etag: asset.etag,
      'x-content-type-options': 'nosniff',
      'cache-control':
        path !== 'index.html' && c.req.query('v') === asset.hash
          ? 'public, max-age=31536000, immutable'
          : 'no-cache',
      ...(path === 'index.html'
        ? {
            // Everything is local: no CDN, no inline script, nothing framed.
            'content-security-policy':
              "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
            'referrer-policy': 'no-referrer',
          }
        : {}),
    };
    if (c.req.header('if-none-match') === asset.etag) return c.body(null, 304, headers);
    return c.body(new Uint8Array(asset.body), 200, headers);
  });
  return app;
}
