// oidc-provider warns on import that Node.js 20 is not a runtime it supports. This project
// supports Node.js 20.19 and later (package.json engines) and CI runs on 20, so the warning is
// expected: it would otherwise appear once per test file and bury what a failing run says.
// Only that one message is dropped; every other warning still shows.
const warn = console.warn.bind(console);
console.warn = (...args: unknown[]) => {
  if (typeof args[0] === 'string' && args[0].startsWith('oidc-provider WARNING: Unsupported runtime')) return;
  warn(...args);
};
