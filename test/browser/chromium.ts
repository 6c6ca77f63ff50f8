import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, expect } from '@jest/globals';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { startProvider, type RunningProvider } from '../helpers/provider.js';
import { WECHAT_UA } from '../helpers/browser.js';

/** Debian's Chromium (`apt-get install chromium`), never a browser downloaded by a tool. */
export const CHROMIUM = '/usr/bin/chromium';
/**
 * Pictures of every page: into docs/screenshots/ (the README shows them) with
 * UPDATE_SCREENSHOTS=1, else into a temporary folder, so that an ordinary run (ports, ids and
 * suggested nicknames differ each time) leaves the committed ones alone.
 */
export const SCREENSHOTS =
  process.env.UPDATE_SCREENSHOTS === '1'
    ? fileURLToPath(new URL('../../docs/screenshots/', import.meta.url))
    : join(tmpdir(), 'wechat-oidc-screenshots/');
const REAL_CLIENTS_FILE = fileURLToPath(new URL('../../config/clients.json', import.meta.url));

export const DESKTOP: BrowserContextOptions = { viewport: { width: 1024, height: 720 }, locale: 'zh-CN' };
export const WECHAT_PHONE: BrowserContextOptions = {
  viewport: { width: 390, height: 844 },
  userAgent: WECHAT_UA,
  isMobile: true,
  hasTouch: true,
  locale: 'zh-CN',
};

export interface BrowserSuite {
  op: RunningProvider;
  /** A fresh browser profile (no cookies), watched for trouble; closed after the test. */
  open(options?: BrowserContextOptions): Promise<Page>;
}

/**
 * One provider as a newcomer runs it (no WeChat credentials, so the sandbox plays WeChat, and
 * the shipped clients file with its demo app; `env` adds settings) and one headless Chromium
 * for a test file.
 * After each test, nothing any page did may have been refused by the Content Security Policy
 * (Chromium reports that in the console), failed to load, raised a script error or opened a
 * dialog (an escaped nickname never runs).
 */
export function useBrowser(env: Record<string, string | undefined> = {}): BrowserSuite {
  let browser: Browser;
  let contexts: BrowserContext[] = [];
  let trouble: string[] = [];
  const suite = {
    async open(options: BrowserContextOptions = DESKTOP): Promise<Page> {
      const context = await browser.newContext(options);
      contexts.push(context);
      const page = await context.newPage();
      page.on('console', (message) => {
        // A page shown with an error status (an expired sign-in is a 400) is logged as a
        // failed load; what did fail to load is caught by the two listeners below.
        if (message.text().startsWith('Failed to load resource: the server responded with a status of')) return;
        if (message.type() === 'error' || message.type() === 'warning') trouble.push(`${message.type()}: ${message.text()}`);
      });
      page.on('response', (response) => {
        if (!response.request().isNavigationRequest() && response.status() >= 400) trouble.push(`${response.status()}: ${response.url()}`);
      });
      page.on('requestfailed', (request) => {
        // ERR_ABORTED: the page was left before the file arrived (a click moved on), not a fault.
        const reason = request.failure()?.errorText ?? '';
        if (reason !== 'net::ERR_ABORTED') trouble.push(`failed: ${request.url()} ${reason}`);
      });
      page.on('pageerror', (error) => trouble.push(`script error: ${error.message}`));
      page.on('dialog', (dialog) => {
        trouble.push(`dialog: ${dialog.message()}`);
        void dialog.dismiss();
      });
      return page;
    },
  } as BrowserSuite;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    suite.op = await startProvider({ WECHAT_APP_ID: undefined, WECHAT_APP_SECRET: undefined, CLIENTS_FILE: REAL_CLIENTS_FILE, ...env });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });
  afterEach(async () => {
    await Promise.all(contexts.map((context) => context.close()));
    contexts = [];
    const seen = trouble;
    trouble = [];
    expect(seen).toEqual([]);
  });
  afterAll(async () => {
    await browser?.close();
    await suite.op?.close();
  });
  return suite;
}

/** Keeps a picture of the page for the README. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });
}

/** The page's path and query, without the origin. */
export function pathOf(page: Page): string {
  const url = new URL(page.url());
  return url.pathname + url.search;
}

/** True when the page is no wider than the screen: nothing to scroll sideways on a phone. */
export async function fitsWidth(page: Page): Promise<boolean> {
  return page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth');
}

/** On the sandbox's WeChat page: a new test user with this nickname allows the sign-in. */
export async function allowAsNewUser(page: Page, nickname: string): Promise<void> {
  await page.getByLabel('新建测试用户').fill(nickname);
  await page.getByRole('button', { name: '新建并允许' }).click();
  await page.waitForURL(/\/interaction\/[\w-]+$/);
}

/** From the demo app's sign-in button to the consent page, as a new test user, on a desktop. */
export async function demoToConsent(page: Page, issuer: string, nickname: string): Promise<void> {
  await page.goto(`${issuer}/demo/login`);
  await page.getByRole('link', { name: '微信登录' }).click();
  await allowAsNewUser(page, nickname);
}

/** A whole sign-in to the demo app by a new test user, in Chinese, ending on its claims. */
export async function signInToDemo(page: Page, issuer: string, nickname: string): Promise<void> {
  await demoToConsent(page, issuer, nickname);
  await page.getByRole('button', { name: '允许', exact: true }).click();
  await page.waitForURL(`${issuer}/demo`);
}
