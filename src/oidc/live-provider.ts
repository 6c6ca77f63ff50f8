import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Knex } from 'knex';
import type Provider from 'oidc-provider';
import type { JWK } from 'oidc-provider';
import type { Logger } from '../log.js';
import { currentKeySet, type KeySet } from './keys.js';

/** How often every instance re-reads the signing keys: a rotation made by the command (on
 * any machine) reaches every instance within this time, well inside the publication period. */
export const KEY_RELOAD_MS = 30_000;

type Callback = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * The oidc-provider instance in use, rebuilt when the signing keys in the database change.
 * oidc-provider reads its JWKS once, at construction; a rotation therefore means a new
 * Provider. Everything it keeps lives in the database (sessions, grants, tokens), and cookies
 * are signed with COOKIE_KEYS, so requests are served the same by the old and the new one.
 */
export class LiveProvider {
  #provider: Provider;
  #callback: Callback;
  #fingerprint: string;

  constructor(
    private readonly build: (keys: JWK[]) => Provider,
    initial: KeySet,
  ) {
    this.#provider = build(initial.keys);
    this.#callback = this.#provider.callback();
    this.#fingerprint = initial.fingerprint;
  }

  /** The provider to use for this request: read it per request, never keep it. */
  get current(): Provider {
    return this.#provider;
  }

  /** Hands a request to the current provider. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    return this.#callback(req, res);
  }

  /**
   * Reads the key set that should be served at `now` and rebuilds the provider when it is not
   * the one in use (a new key was published, a key started signing, or one retired).
   * Returns whether it rebuilt.
   */
  async reload(db: Knex, now = Date.now()): Promise<boolean> {
    const set = await currentKeySet(db, now);
    if (set.fingerprint === this.#fingerprint) return false;
    const provider = this.build(set.keys);
    this.#provider = provider;
    this.#callback = provider.callback();
    this.#fingerprint = set.fingerprint;
    return true;
  }

  /** Reloads every `everyMs` until stopped; a failed reload (database away) keeps the keys in use. */
  watch(db: Knex, logger: Logger, everyMs = KEY_RELOAD_MS): { stop(): void } {
    const timer = setInterval(() => {
      this.reload(db).then(
        (changed) => {
          if (changed) logger.info({ event: 'keys_reloaded', kids: this.#fingerprint.split(',') }, 'signing keys changed');
        },
        (error: unknown) => {
          logger.warn(
            { event: 'keys_reload_failed', message: (error as Error).message },
            'could not re-read the signing keys; keeping the current ones',
          );
        },
      );
    }, everyMs);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }
}
