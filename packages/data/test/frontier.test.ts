import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatFrontierTable, isSweepDir, readFrontier, readTable, settingLabel, writeFrontier, writeTable, type FrontierRow } from '../src/index.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsae-frontier-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const ROWS: FrontierRow[] = [
  { run: 'sae', arch: 'sae', setting: { k: null, kl_coeff: null }, values: { l0: 5.714, explained_variance: 0.8921, frac_alive: 0.9875, train_s: 11.4 } },
  { run: 'vsae-topk-k3-kl-coeff0', arch: 'vsae-topk', setting: { k: 3, kl_coeff: 0 }, values: { l0: 3, explained_variance: null, frac_alive: 1, train_s: 9.6 } },
];

describe('frontier.arrow', () => {
  it('is written with run, arch, the settings and the figures, and read back the same', async () => {
    const dir = path.join(tmp, 'a');
    fs.mkdirSync(dir);
    expect(isSweepDir(dir)).toBe(false);
    await writeFrontier(dir, ['k', 'kl_coeff'], ['l0', 'explained_variance', 'frac_alive', 'train_s'], ROWS);
    expect(isSweepDir(dir)).toBe(true);
    // The file as Arrow: columns in order, Float64 settings with nulls, the swept columns named in the metadata.
    const t = readTable(path.join(dir, 'frontier.arrow'));
    expect(t.fields.map((f) => [f.name, f.type])).toEqual([['run', 'utf8'], ['arch', 'utf8'], ['k', 'float64'], ['kl_coeff', 'float64'], ['l0', 'float64'], ['explained_variance', 'float64'], ['frac_alive', 'float64'], ['train_s', 'float64']]);
    expect(t.column('k')).toEqual([null, 3]);
    expect(t.column('explained_variance')).toEqual([0.8921, null]);
    expect(t.metadata['vsae:swept']).toBe('["k","kl_coeff"]');
    const f = readFrontier(dir);
    expect(f).toEqual({
      dir,
      swept: ['k', 'kl_coeff'],
      metrics: ['l0', 'explained_variance', 'frac_alive', 'train_s'],
      rows: ROWS.map((r) => ({ ...r, values: { l0: r.values.l0, explained_variance: r.values.explained_variance, frac_alive: r.values.frac_alive, train_s: r.values.train_s } })),
    });
  });

  it('refuses a table that is not a frontier, naming the file', async () => {
    const dir = path.join(tmp, 'b');
    fs.mkdirSync(dir);
    await writeTable(path.join(dir, 'frontier.arrow'), { run: { type: 'utf8', values: ['x'] }, arch: { type: 'utf8', values: ['sae'] } }, { 'vsae:swept': '["k"]' });
    expect(() => readFrontier(dir)).toThrow(`${path.join(dir, 'frontier.arrow')}: has no readable vsae:swept metadata naming its setting columns; rerun vsae sweep`);
    await writeTable(path.join(dir, 'frontier.arrow'), { run: { type: 'utf8', values: ['x'] } });
    expect(() => readFrontier(dir)).toThrow(/has no "arch" column; it is not a frontier table/);
  });

  it('labels a point by its setting, or its arch when nothing was swept', () => {
    expect(settingLabel(ROWS[1]!)).toBe('k=3, kl_coeff=0');
    expect(settingLabel(ROWS[0]!)).toBe('sae');
  });
});

describe('formatFrontierTable', () => {
  it('prints settings and figures, — where a run has none', () => {
    const t = formatFrontierTable({
      swept: ['k'],
      metrics: ['l0', 'frac_alive', 'mmcs_represented', 'train_s'],
      rows: [
        { run: 'sae', arch: 'sae', setting: { k: null }, values: { l0: 5.714, frac_alive: 0.9875, mmcs_represented: 0.98941, train_s: 11.4 } },
        { run: 'topk-k3', arch: 'topk', setting: { k: 3 }, values: { l0: 3, frac_alive: 0.5, mmcs_represented: null, train_s: 9.6 } },
      ],
    }).split('\n');
    expect(lines(t[0]!)).toEqual(['run', 'arch', 'k', 'L0', 'alive', 'MMCS', '(repr.)', 'train', 's']);
    expect(lines(t[2]!)).toEqual(['sae', 'sae', '—', '5.71', '0.99', '0.989', '11']);
    expect(lines(t[3]!)).toEqual(['topk-k3', 'topk', '3', '3.00', '0.50', '—', '10']);
  });
  const lines = (s: string) => s.trim().split(/\s+/);
});

