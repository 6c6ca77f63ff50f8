import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { createLogger } from '../src/log.js';

// Log lines are JSON; whatever secret reaches the logger by mistake one level down (a WeChat
// answer, a request body, a request's headers) is written as "[redacted]".
function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return {
    logger: createLogger('info', sink),
    lines: () =>
      lines
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('log lines', () => {
  it('never carry an AppSecret, a code, a token or a client secret found one level down', () => {
    const { logger, lines } = capture();
    const answer = { access_token: 'ACCESS-TOKEN-1', refresh_token: 'REFRESH-1', openid: 'o-1' };
    const body = { code: 'WECHAT-CODE', client_secret: 'CLIENT-SECRET', grant_type: 'authorization_code' };
    logger.warn({ event: 'x', wechat: { appSecret: 'APP-SECRET', appId: 'wx1' }, answer, body, secretless: { n: 1 } }, 'message');
    const [line] = lines();
    expect(line).toMatchObject({
      event: 'x',
      wechat: { appSecret: '[redacted]', appId: 'wx1' },
      answer: { access_token: '[redacted]', refresh_token: '[redacted]', openid: 'o-1' },
      body: { code: '[redacted]', client_secret: '[redacted]', grant_type: 'authorization_code' },
      secretless: { n: 1 },
      msg: 'message',
    });
    expect(JSON.stringify(line)).not.toMatch(/APP-SECRET|WECHAT-CODE|CLIENT-SECRET|ACCESS-TOKEN|REFRESH-1/);
    // The objects handed to the logger are the caller's: they are left as they were.
    expect(answer.access_token).toBe('ACCESS-TOKEN-1');
    expect(body.code).toBe('WECHAT-CODE');
  });

  it("censor a logged request's cookie and authorization headers, and keep the rest", () => {
    const { logger, lines } = capture();
    const req = { method: 'POST', headers: { cookie: '_session=abc', authorization: 'Basic c2VjcmV0', 'user-agent': 'MicroMessenger' } };
    logger.info({ req }, 'request');
    expect(lines()[0]).toMatchObject({
      req: { method: 'POST', headers: { cookie: '[redacted]', authorization: '[redacted]', 'user-agent': 'MicroMessenger' } },
    });
    expect(req.headers.cookie).toBe('_session=abc');
  });

  it('keep top-level fields such as an error code, which are ours and never secrets', () => {
    const { logger, lines } = capture();
    logger.warn({ event: 'wechat_error', code: 'ECONNRESET', errcode: 40029 }, 'WeChat failed');
    expect(lines()[0]).toMatchObject({ code: 'ECONNRESET', errcode: 40029 });
  });
});
