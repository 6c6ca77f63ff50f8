// oidc-provider warns on import that Node.js 20 is not a runtime it supports. This project
// supports Node.js 20.19 and later (package.json engines) and CI runs on 20, so the warning is
// expected: it would otherwise appear once per test file and bury what a failing run says.
// Likewise its note, at the first logout token sent, that it could not set up its filter of
// special-use addresses: the service sends those requests without it on purpose (the URLs come
// from the operator's clients file, see oidc/configuration.ts). Every other warning still shows.
const EXPECTED = ['oidc-provider WARNING: Unsupported runtime', 'oidc-provider WARNING: failed to setup SSRF protection'];
const warn = console.warn.bind(console);
console.warn = (...args: unknown[]) => {
  if (typeof args[0] === 'string' && EXPECTED.some((start) => (args[0] as string).startsWith(start))) return;
  warn(...args);
};
