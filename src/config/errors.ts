/**
 * The one error type for bad settings or a bad clients file. It stops the start, so its
 * message is written for the operator: each line names the environment variable, or the
 * file, the client and the field, and says what is wrong. Values are never quoted, because
 * the offending value may be a secret and start-up messages end up in logs.
 */
export class ConfigError extends Error {
  /** One entry per problem; `message` is these joined by newlines. */
  readonly problems: readonly string[];

  constructor(problems: string | readonly string[], options?: ErrorOptions) {
    const list = typeof problems === 'string' ? [problems] : [...problems];
    super(list.join('\n'), options);
    this.name = 'ConfigError';
    this.problems = list;
  }
}
