import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runDashboard, runTable } from '../src/dashboard.js';
import { formatFrontierTable, readFrontier, writeFrontier, type FrontierRow } from '@vsae/data';
import { tempRunsDir, writeFixtureRuns, writeRun } from './fixtures.js';

const root = tempRunsDir('vsae-tui-dash-');
const fixture = writeFixtureRuns(root);
fixture.live.writer?.close();
fs.mkdirSync(path.join(root, 'name\x1b]0;pwned\x07'));
fs.writeFileSync(path.join(root, 'name\x1b]0;pwned\x07', 'cfg.json'), '{}');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A stream that records what is written, as stdout/stderr of a process that is not a terminal. */
function sink(isTTY = false): NodeJS.WriteStream & { text(): string } {
  const s = new PassThrough() as unknown as NodeJS.WriteStream & { text(): string };
  const chunks: Buffer[] = [];
  (s as unknown as PassThrough).on('data', (c: Buffer) => chunks.push(c));
  Object.assign(s, { isTTY, text: () => Buffer.concat(chunks).toString('utf8') });
  return s;
}

describe('runDashboard without a terminal', () => {
  it('prints the run list once as a plain table and resolves with exit code 0', async () => {
    const stdout = sink();
    const stderr = sink();
    const code = await runDashboard({ runsDir: root, stdout, stderr, stdin: process.stdin });
    expect(code).toBe(0);
    const out = stdout.text();
    expect(out).toBe(runTable(root));
    const rows = out.trimEnd().split('\n');
    expect(rows.map((l) => l.split(/\s+/)[0])).toEqual(['run', 'gpt2-vsae', 'live-sae', 'name␛]0;pwned␇', 'toy-sae']);
    expect(rows.find((l) => l.startsWith('name'))).toMatch(/\?\s+unknown\s/); // unreadable cfg.json: listed, not fatal
    expect(out).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
    expect(stderr.text()).toBe('');
  });

  it('says on stderr when there are no runs yet', async () => {
    const empty = tempRunsDir('vsae-tui-empty-');
    const stdout = sink();
    const stderr = sink();
    expect(await runDashboard({ runsDir: empty, stdout, stderr })).toBe(0);
    expect(stdout.text()).toMatch(/^run\s+arch/);
    expect(stderr.text()).toContain(`no runs in ${empty} yet`);
    fs.rmSync(empty, { recursive: true });
  });

  it('prints the table, and says why, when stdout is a terminal but stdin is not', async () => {
    const stdout = sink(true);
    const stderr = sink();
    const stdin = new PassThrough() as unknown as NodeJS.ReadStream;
    expect(await runDashboard({ runsDir: root, stdout, stderr, stdin })).toBe(0);
    expect(stdout.text()).toBe(runTable(root));
    expect(stderr.text()).toContain('stdin is not a terminal');
  });

  it('names the directory and the fix when it does not exist or is a file', async () => {
    await expect(runDashboard({ runsDir: path.join(root, 'nope'), stdout: sink() })).rejects.toThrow(/nope: no such directory; pass the directory that holds your runs/);
    const file = path.join(root, 'toy-sae', 'cfg.json');
    await expect(runDashboard({ runsDir: file, stdout: sink() })).rejects.toThrow(/cfg\.json: is not a directory/);
  });
});

describe('a sweep directory', () => {
  const sweep = tempRunsDir('vsae-tui-sweep-');
  afterAll(() => fs.rmSync(sweep, { recursive: true, force: true }));

  it('lists its runs, then its frontier table, sanitized', async () => {
    writeRun(sweep, { name: 'topk-k3', arch: 'sae' });
    writeRun(sweep, { name: 'topk-k6', arch: 'sae' });
    const rows: FrontierRow[] = [
      { run: 'topk-k3', arch: 'topk', setting: { k: 3 }, values: { l0: 2.88, frac_alive: 0.9875 } },
      { run: 'topk-k6', arch: 'topk', setting: { k: 6 }, values: { l0: 5.84, frac_alive: 1 } },
      { run: 'gone\x1b[2J', arch: 'topk', setting: { k: 9 }, values: { l0: null, frac_alive: null } },
    ];
    await writeFrontier(sweep, ['k'], ['l0', 'frac_alive'], rows);
    const stdout = sink();
    const stderr = sink();
    expect(await runDashboard({ runsDir: sweep, stdout, stderr, stdin: process.stdin })).toBe(0);
    const lines = stdout.text().trimEnd().split('\n');
    expect(lines.slice(0, 3).map((l) => l.split(/\s+/)[0])).toEqual(['run', 'topk-k3', 'topk-k6']);
    expect(lines[3]).toBe('');
    expect(lines[4]).toBe('frontier (frontier.arrow):');
    expect(lines.slice(5)).toEqual(formatFrontierTable(readFrontier(sweep)).replace('\x1b', '␛').split('\n'));
    expect(lines[9]).toMatch(/^gone␛\[2J\s+topk\s+9\s+—\s+—$/);
    expect(stdout.text()).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
    expect(stderr.text()).toBe('');
  });

  it('says which file cannot be read instead of a table', async () => {
    const bad = tempRunsDir('vsae-tui-badsweep-');
    fs.writeFileSync(path.join(bad, 'frontier.arrow'), 'not arrow');
    const text = runTable(bad);
    expect(text).toMatch(new RegExp(`frontier \\(frontier\\.arrow\\):\\n${path.join(bad, 'frontier.arrow').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: .*\\n$`));
    fs.rmSync(bad, { recursive: true, force: true });
  });
});
