import { randomBytes } from 'node:crypto';

/**
 * The sandbox's pretend Official Account. The id is fixed so that links and logs read the
 * same on every run; the secret is new for each process, so nothing outside this process can
 * hold a working sandbox credential.
 */
export const SANDBOX_APP_ID = 'wxsandbox0000000';

/** And its pretend Open Platform website app, for QR sign-in on desktops. */
export const SANDBOX_WEB_APP_ID = 'wxsandboxweb0000';

/** And its pretend mini-program and Open Platform mobile app, whose codes are exchanged at /token. */
export const SANDBOX_MINI_APP_ID = 'wxsandboxmini000';
export const SANDBOX_MOBILE_APP_ID = 'wxsandboxapp0000';

let appSecret: string | undefined;
let webAppSecret: string | undefined;
let miniAppSecret: string | undefined;
let mobileAppSecret: string | undefined;

export function sandboxApp(): { appId: string; appSecret: string } {
  appSecret ??= randomBytes(16).toString('hex');
  return { appId: SANDBOX_APP_ID, appSecret };
}

export function sandboxWebApp(): { appId: string; appSecret: string } {
  webAppSecret ??= randomBytes(16).toString('hex');
  return { appId: SANDBOX_WEB_APP_ID, appSecret: webAppSecret };
}

export function sandboxMiniApp(): { appId: string; appSecret: string } {
  miniAppSecret ??= randomBytes(16).toString('hex');
  return { appId: SANDBOX_MINI_APP_ID, appSecret: miniAppSecret };
}

export function sandboxMobileApp(): { appId: string; appSecret: string } {
  mobileAppSecret ??= randomBytes(16).toString('hex');
  return { appId: SANDBOX_MOBILE_APP_ID, appSecret: mobileAppSecret };
}
