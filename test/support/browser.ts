// Debian's chromium driven by playwright-core, with every console error,
// failed request and error response a page makes collected, so a test can
// assert the page had no dead ends.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

export function chromiumPath(): string | undefined {
  return process.env.KJD_CHROMIUM ?? CANDIDATES.find((p) => existsSync(p));
}

export async function launch(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (executablePath === undefined)
    throw new Error('chromium is missing: scripts/setup.sh installs it (apt-get install chromium)');
  // --no-sandbox: the tests run as root in a container, where chromium's sandbox cannot start.
  return chromium.launch({ executablePath, args: ['--no-sandbox'] });
}

export interface Watched {
  readonly page: Page;
  /** Console errors, failed requests and 4xx/5xx responses, as text. */
  readonly problems: string[];
}

/**
 * A page in a fresh context (its own sessionStorage), watched. `bypassCSP` so
 * axe-core can be injected into a page whose policy allows only its own scripts.
 */
export async function watchedPage(browser: Browser): Promise<Watched> {
  const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    // A stream the page itself ended (the log tail on close, the event stream on sign-out).
    if (r.failure()?.errorText !== 'net::ERR_ABORTED')
      problems.push(`failed: ${r.url()} ${r.failure()?.errorText ?? ''}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${r.status()}: ${r.url()}`);
  });
  return { page, problems };
}

/** axe-core's serious and critical violations on the page as it is now. */
export async function seriousViolations(page: Page): Promise<string[]> {
  const source = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(source);
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: {
          run: () => Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }>;
        };
      }
    ).axe;
    return (await axe.run()).violations;
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}
