/**
 * `npm run screenshots:console`: takes the console screenshots in docs/screenshots/ from the demo
 * (`npm run demo -- --console`) with Debian's Chromium through playwright-core: the overview, an
 * instance's timeline and the error queue page.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { launchChromium } from './browser.js';

const out = new URL('../../docs/screenshots/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });

const demo = spawn(process.execPath, ['--import', 'tsx', 'samples/demo.ts', '--console', '--port', '0'], {
  cwd: new URL('../..', import.meta.url).pathname,
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise<string>((resolve, reject) => {
  let text = '';
  demo.stdout.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
    const found = /Console: (http:\/\/\S+)/.exec(text);
    if (found) resolve(found[1] as string);
  });
  demo.once('exit', (code) => reject(new Error(`the demo exited (${code}) before serving the console`)));
});

const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  const shot = async (path: string, file: string): Promise<void> => {
    await page.goto(new URL(path, url).href);
    await page.screenshot({ path: `${out}${file}`, fullPage: true });
    console.log(`docs/screenshots/${file}`);
  };
  await shot('/', 'console-overview.png');
  await shot('/instances/workflow/demo.GiftCard/gift-o-1', 'console-instance.png');
  await shot('/errors/shop', 'console-error-queue.png');
} finally {
  await browser.close();
  demo.kill('SIGINT');
}
