import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SigninOutcome } from '../interaction/routes.js';
import type { WeChatAttempt } from '../wechat/client.js';
import { statusOf } from './request-log.js';
import type { LimitName } from '../limits/rate-limits.js';
import type { LimitedRoute } from '../limits/limited-routes.js';
import type { LogoutOutcome } from '../oidc/logout-delivery.js';
import type { PhoneOutcome } from '../interaction/phone-routes.js';

const SIGNIN_OUTCOMES: readonly SigninOutcome[] = [
  'registered',
  'signed_in',
  'refused',
  'snapshot',
  'blocked',
  'state_invalid',
  'wechat_error',
];

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * oidc-provider's endpoints (served behind our own routes, so no route pattern of ours matches
 * them) and the few fixed paths outside any router: their path is their label.
 */
const FIXED_ROUTES = new Set([
  '/auth',
  '/token',
  '/token/introspection',
  '/token/revocation',
  '/me',
  '/jwks',
  '/.well-known/openid-configuration',
  '/session/end',
  '/session/end/confirm',
  '/session/end/success',
  '/reg',
  '/request',
  '/device',
  '/device/auth',
  '/backchannel',
  '/challenge',
  '/credential',
  '/static/style.css',
]);

/**
 * A low-cardinality name for the route that answered: the @koa/router pattern that matched
 * (`/interaction/:uid/wechat/callback`), one of oidc-provider's endpoints, or `other`. Never a
 * raw path, which would carry ids (one time series per sign-in).
 */
export function routeLabel(ctx: Context): string {
  const matched = (ctx as Context & { _matchedRoute?: unknown })._matchedRoute;
  if (typeof matched === 'string') return matched;
  if (FIXED_ROUTES.has(ctx.path)) return ctx.path;
  if (/^\/auth\/[^/]+$/.test(ctx.path)) return '/auth/:uid'; // oidc-provider resuming after the login step
  return 'other';
}

/**
 * The service's Prometheus metrics, in a registry of its own (several instances may live in
 * one process, in tests), with Node's default process metrics alongside.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly signins = new Counter({
    name: 'idp_signins_total',
    help: 'WeChat callbacks handled, by outcome (as logged with event "signin").',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly wechatDuration = new Histogram({
    name: 'idp_wechat_request_duration_seconds',
    help: "Duration of each attempt at one of WeChat's API endpoints, retries included.",
    labelNames: ['endpoint'] as const,
    buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly wechatErrors = new Counter({
    name: 'idp_wechat_errors_total',
    help: "Failed attempts at WeChat's API: WeChat's errcode, or network, http_5xx, invalid_answer.",
    labelNames: ['endpoint', 'errcode'] as const,
    registers: [this.registry],
  });

  readonly rateLimitedRequests = new Counter({
    name: 'idp_rate_limited_total',
    help: 'Requests refused with 429, by the limit they went over (address, client) and the kind of route (page, program).',
    labelNames: ['limit', 'route'] as const,
    registers: [this.registry],
  });

  readonly backchannelLogouts = new Counter({
    name: 'idp_backchannel_logout_total',
    help: 'Logout tokens sent to apps (sign-out, block, merge), by outcome: sent, failed (retried after a block or merge), dropped.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly phoneSignins = new Counter({
    name: 'idp_phone_signins_total',
    help: 'Desktop sign-ins confirmed on a phone through the Official Account: QR codes shown, scanned, allowed, denied, expired.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'idp_http_request_duration_seconds',
    help: 'Duration of HTTP requests, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // Every outcome shows from the start, so rates and alerts work before the first of each.
    for (const outcome of SIGNIN_OUTCOMES) this.signins.inc({ outcome }, 0);
  }

  /** For the interaction router: one sign-in outcome. */
  readonly signin = (outcome: SigninOutcome): void => {
    this.signins.inc({ outcome });
  };

  /** For the rate limits: one request refused. */
  readonly rateLimited = (limit: LimitName, route: LimitedRoute): void => {
    this.rateLimitedRequests.inc({ limit, route });
  };

  /** For back-channel logout: one logout token sent, refused, or given up on. */
  readonly backchannelLogout = (outcome: LogoutOutcome): void => {
    this.backchannelLogouts.inc({ outcome });
  };

  /** For the desktop sign-in confirmed on a phone: one step. */
  readonly phone = (outcome: PhoneOutcome): void => {
    this.phoneSignins.inc({ outcome });
  };

  /** For the WeChat client: one attempt at an endpoint. */
  readonly wechatAttempt = (attempt: WeChatAttempt): void => {
    this.wechatDuration.observe({ endpoint: attempt.endpoint }, attempt.seconds);
    if (attempt.errcode !== undefined) this.wechatErrors.inc({ endpoint: attempt.endpoint, errcode: attempt.errcode });
  };

  /** Times every request below it; put it near the top of the chain. */
  http(): Middleware {
    return async (ctx, next) => {
      const started = process.hrtime.bigint();
      let status: number | undefined;
      try {
        await next();
        status = ctx.status;
      } catch (error) {
        status = statusOf(error);
        throw error;
      } finally {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        this.httpDuration.observe(
          {
            method: METHODS.has(ctx.method) ? ctx.method : 'other',
            route: routeLabel(ctx),
            status: String(status ?? 500),
          },
          seconds,
        );
      }
    };
  }

  /** `GET /metrics` in Prometheus' text format. */
  router(): Router {
    const router = new Router();
    router.get('/metrics', async (ctx) => {
      const body = await this.registry.metrics();
      ctx.set('Content-Type', this.registry.contentType);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = body;
    });
    return router;
  }
}
