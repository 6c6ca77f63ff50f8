// ESLint: typescript-eslint's type-checked rules, and the layers of src/ (docs/architecture.md).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Each layer of src/ imports only from the layers below it. `forbidden` lists the folders
 * (and top-level modules) above it; an import of one fails the lint with the rule's name.
 */
const TOP = ['**/observability/*', '**/sandbox/*', '**/demo/*', '**/server.js', '**/main.js', '**/cleanup-tasks.js', '**/*-cli.js'];
const LAYERS = [
  {
    files: ['src/{config,db,http,cli}/**', 'src/{log,paths,request-context,migrate}.ts'],
    forbidden: ['wechat', 'pages', 'limits', 'accounts', 'oidc', 'interaction', 'exchange'],
  },
  { files: ['src/wechat/**'], forbidden: ['db', 'pages', 'limits', 'accounts', 'oidc', 'interaction', 'exchange'] },
  { files: ['src/pages/**'], forbidden: ['wechat', 'limits', 'accounts', 'oidc', 'interaction', 'exchange'] },
  { files: ['src/limits/**'], forbidden: ['wechat', 'accounts', 'oidc', 'interaction', 'exchange'] },
  { files: ['src/accounts/**'], forbidden: ['wechat', 'pages', 'limits', 'oidc', 'interaction', 'exchange'] },
  { files: ['src/oidc/**'], forbidden: ['wechat', 'interaction', 'exchange'] },
  { files: ['src/interaction/**'], forbidden: ['exchange'] },
  // The token exchange signs people in as the login step does (interaction/wechat-login.ts).
  { files: ['src/exchange/**'], forbidden: [] },
];

// oidc-provider's own modules are its internals: only its package entry is used, anywhere.
const NO_PROVIDER_INTERNALS = { group: ['oidc-provider/*'], message: 'oidc-provider internals: go through src/oidc/internals.ts' };

const layerRules = LAYERS.map(({ files, forbidden }) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          NO_PROVIDER_INTERNALS,
          ...forbidden.map((folder) => ({
            group: [`**/${folder}/*`],
            message: `layers: this folder may not import from ${folder}/ (docs/architecture.md)`,
          })),
          { group: TOP, message: 'layers: only the top of the service composes it (docs/architecture.md)' },
        ],
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/results/**', 'bench/profiles/**', 'public/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'scripts/*.mjs', 'test/*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // knex answers rows as `any` by design; each store turns its rows into typed objects in
      // one place (toAccount, toKey, …), where the types are written down.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // oidc-provider's and Koa's hooks take async functions whether or not they await.
      '@typescript-eslint/require-await': 'off',
      // A promise nobody awaits loses its errors: every one is awaited, returned or marked `void`.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      // Koa's request handler returns a promise it handles itself; Node's `request` listeners
      // and knex's query-builder callbacks take such functions by design.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unnecessary-condition': 'off',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      // A variable a closure reads before its one assignment (a server handler and its server) stays `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      'no-restricted-imports': ['error', { patterns: [NO_PROVIDER_INTERNALS] }],
    },
  },
  ...layerRules,
  {
    // Keygrip forges oidc-provider's cookies: only the fence may.
    files: ['src/**'],
    ignores: ['src/oidc/internals.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: "ImportDeclaration[source.value='keygrip']", message: 'only src/oidc/internals.ts signs oidc-provider cookies' },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly' } },
  },
);
