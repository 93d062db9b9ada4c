// The dashboard's build after `tsc -p web/tsconfig.json` has compiled its
// scripts into dist/web: copies the page and its stylesheet next to them and
// prints the total size (what a browser downloads, uncompressed).
import { copyFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'dist/web');
for (const f of ['index.html', 'style.css']) await copyFile(join(root, 'web', f), join(out, f));
let bytes = 0;
for (const f of await readdir(out)) if (/\.(js|css|html)$/.test(f)) bytes += (await stat(join(out, f))).size;
console.log(`dashboard: ${(bytes / 1024).toFixed(1)} KiB in dist/web`);
