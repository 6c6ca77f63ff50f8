import { randomBytes } from 'node:crypto';

/**
 * The sandbox's pretend Official Account. The id is fixed so that links and logs read the
 * same on every run; the secret is new for each process, so nothing outside this process can
 * hold a working sandbox credential.
 */
export const SANDBOX_APP_ID = 'wxsandbox0000000';

/** And its pretend Open Platform website app, for QR sign-in on desktops. */
export const SANDBOX_WEB_APP_ID = 'wxsandboxweb0000';

let appSecret: string | undefined;
let webAppSecret: string | undefined;

export function sandboxApp(): { appId: string; appSecret: string } {
  appSecret ??= randomBytes(16).toString('hex');
  return { appId: SANDBOX_APP_ID, appSecret };
}

export function sandboxWebApp(): { appId: string; appSecret: string } {
  webAppSecret ??= randomBytes(16).toString('hex');
  return { appId: SANDBOX_WEB_APP_ID, appSecret: webAppSecret };
}
