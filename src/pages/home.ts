import Router from '@koa/router';

/** The landing page: what this service is, and where a newcomer can try it. */
export function homeRouter(options: { demo: boolean; issuer: string }): Router {
  const router = new Router();
  router.get('/', async (ctx) => {
    await ctx.render('home', { demo: options.demo, discovery: `${options.issuer}/.well-known/openid-configuration` });
  });
  return router;
}
