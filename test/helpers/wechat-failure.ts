import { expect } from '@jest/globals';
import { WeChatError } from '../../src/wechat/errors.js';

/** The WeChatError a call to WeChat fails with; fails the test if it succeeds or throws anything else. */
export async function wechatFailure(promise: Promise<unknown>): Promise<WeChatError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(WeChatError);
    return error as WeChatError;
  }
  throw new Error('expected a WeChatError');
}
