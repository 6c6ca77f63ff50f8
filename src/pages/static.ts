import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Middleware } from 'koa';
import { staticDir } from '../paths.js';

const TYPES: Record<string, string> = { css: 'text/css; charset=utf-8', js: 'text/javascript; charset=utf-8', svg: 'image/svg+xml' };

/**
 * The few files our pages need (one stylesheet, the tab's icon), read once at start and served from memory.
 * Only files listed here are reachable: no path from the URL ever touches the filesystem.
 */
export function staticFiles(names: string[]): Middleware {
  const files = new Map(
    names.map((name) => {
      const ext = name.split('.').pop() ?? '';
      return [`/static/${name}`, { body: readFileSync(join(staticDir, name)), type: TYPES[ext] ?? 'application/octet-stream' }];
    }),
  );
  return async (ctx, next) => {
    const file = ctx.method === 'GET' || ctx.method === 'HEAD' ? files.get(ctx.path) : undefined;
    if (!file) return next();
    ctx.type = file.type;
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = file.body;
  };
}
