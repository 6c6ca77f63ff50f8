import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../src/paths.js';

// `npm run bench` on a few sign-ins: every step of every sign-in must succeed against both
// servers (the run stops at the first failed step), and the report must hold the figures the
// README quotes. No timing is asserted: figures come from the real run, not from tests.
describe('npm run bench', () => {
  it('drives complete sign-ins, refresh grants and userinfo calls against ours and the baseline, in rounds, and reports them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idp-bench-'));
    const out = join(dir, 'result.json');
    const postgres = process.env.TEST_DATABASE_URL?.startsWith('postgres') ? process.env.TEST_DATABASE_URL : undefined;
    try {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [
          join(projectRoot, 'dist', 'bench', 'run.js'),
          '--signins',
          '24',
          '--warmup',
          '4',
          '--concurrency',
          '4',
          '--rounds',
          '2',
          '--out',
          out,
          ...(postgres ? ['--databases', 'postgres', '--postgres-url', postgres] : ['--databases', 'sqlite']),
        ],
        { env: { PATH: process.env.PATH ?? '' }, timeout: 120_000 },
      );
      const report = JSON.parse(readFileSync(out, 'utf8')) as {
        machine: { cpus: number };
        results: {
          kind: string;
          database: string;
          roundRatios: number[];
          roundSigninsPerSecond: number[];
          signins: {
            count: number;
            new: number;
            returning: number;
            perSecond: number;
            cpuMsPerSignin: number;
            requestsPerSignin: number;
            latencyMs: { p99: number };
          };
          refresh: { count: number };
          userinfo: { count: number };
          rss: { peakMB: number };
          ratioToBaseline: number;
        }[];
      };
      expect(report.results.map((r) => [r.kind, r.database])).toEqual([
        ['baseline', 'memory'],
        ['ours', postgres ? 'postgres' : 'sqlite'],
      ]);
      for (const result of report.results) {
        expect(result.signins.count).toBe(24);
        expect(result.signins.new + result.signins.returning).toBe(24);
        expect(result.signins.new).toBeGreaterThan(0);
        expect(result.refresh.count).toBe(24);
        expect(result.userinfo.count).toBe(24);
        expect(result.signins.perSecond).toBeGreaterThan(0);
        expect(result.signins.cpuMsPerSignin).toBeGreaterThan(0);
        expect(result.rss.peakMB).toBeGreaterThan(0);
      }
      expect(report.results[1]!.ratioToBaseline).toBeGreaterThan(0);
      // The limit: /auth, its login page, WeChat's callback, /auth/:uid, token, userinfo. Ours
      // inside WeChat: /auth straight to WeChat, the callback straight back to the app.
      expect(report.results.map((r) => r.signins.requestsPerSignin)).toEqual([6, 4]);
      // Two rounds: each target measured twice, each time against the limit of its round.
      for (const result of report.results) expect(result.roundSigninsPerSecond).toHaveLength(2);
      expect(report.results[1]!.roundRatios).toHaveLength(2);
      expect(report.results[1]!.roundRatios).toContain(report.results[1]!.ratioToBaseline);
      expect(stdout).toMatch(
        /sign-ins\/s +vs limit +p50 ms +p95 ms +p99 ms +CPU ms\/sign-in +requests\/sign-in +refresh\/s +userinfo\/s +peak RSS MB +RSS growth/,
      );
      // The ratio is judged against the limit of the same run; memory only over a long run.
      const [target] = (
        JSON.parse(readFileSync(out, 'utf8')) as { targets: { ratio: { ok: boolean | null }; rssGrowth: { ok: boolean | null } }[] }
      ).targets;
      expect(typeof target!.ratio.ok).toBe('boolean');
      expect(target!.rssGrowth.ok).toBeNull();
      expect(stdout).toMatch(/RSS growth \S+% \(<= 10 % over 20000 sign-ins\) not judged by this run/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});
