import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSafetensors } from '@vsae/data';
import { expectAllClose } from '@vsae/compute/testing';
import { MAX_MATRIX_PRIOR, checkPairs, matrixPriorFromFile, uniformPrior } from '../src/prior.js';
import { tmpDir } from './helpers.js';

describe('priors', () => {
  it('reads a prior covariance from a safetensors file (key corr) and inverts it', async () => {
    const dir = tmpDir();
    const d = 4;
    const corr = new Float32Array([1, 0.5, 0, 0, 0.5, 1, 0, 0, 0, 0, 1, -0.2, 0, 0, -0.2, 1]);
    const file = path.join(dir, 'corr.safetensors');
    await writeSafetensors(file, { corr: { data: corr, shape: [d, d] } });
    const p = matrixPriorFromFile(file, d);
    // Block inverse: [[1, .5], [.5, 1]]⁻¹ = [[4/3, −2/3], [−2/3, 4/3]]; [[1, −.2], [−.2, 1]]⁻¹ = [[1, .2], [.2, 1]] / 0.96.
    expectAllClose(p.P, [4 / 3, -2 / 3, 0, 0, -2 / 3, 4 / 3, 0, 0, 0, 0, 1 / 0.96, 0.2 / 0.96, 0, 0, 0.2 / 0.96, 1 / 0.96], { rtol: 1e-6, atol: 1e-7 });
    expectAllClose(p.logDet, Math.log(0.75 * 0.96), { rtol: 1e-6 });
    await writeSafetensors(path.join(dir, 'other.safetensors'), { sigma: { data: corr, shape: [d, d] } });
    expect(() => matrixPriorFromFile(path.join(dir, 'other.safetensors'), d)).toThrow(/no tensor named "corr" \(found: sigma\)/);
    expect(() => matrixPriorFromFile(file, 5)).toThrow(/"corr" has shape \[4, 4\] but the prior needs \[5, 5\]/);
    const bad = new Float32Array([1, 2, 2, 1]);
    await writeSafetensors(path.join(dir, 'bad.safetensors'), { corr: { data: bad, shape: [2, 2] } });
    expect(() => matrixPriorFromFile(path.join(dir, 'bad.safetensors'), 2)).toThrow(/not positive definite/);
    await writeSafetensors(path.join(dir, 'asym.safetensors'), { corr: { data: new Float32Array([1, 0.1, 0.3, 1]), shape: [2, 2] } });
    expect(() => matrixPriorFromFile(path.join(dir, 'asym.safetensors'), 2)).toThrow(/not symmetric/);
    expect(() => matrixPriorFromFile(file, MAX_MATRIX_PRIOR + 1)).toThrow(/limited to d_sae ≤ 4096 .* use --corr-rate/);
  });

  it('refuses pair counts that do not fit and ρ outside (−1/(d−1), 1)', () => {
    expect(() => checkPairs({ dSae: 10, nCorrelatedPairs: 3, nAnticorrelatedPairs: 3 })).toThrow(/need 12 latents but d_sae is 10/);
    expect(() => checkPairs({ dSae: 12, nCorrelatedPairs: 3, nAnticorrelatedPairs: 3 })).not.toThrow();
    expect(() => uniformPrior(-1 / 9, 10)).toThrow(/--corr-rate must lie in/);
    expect(() => uniformPrior(1, 10)).toThrow(/--corr-rate must lie in/);
    expect(() => uniformPrior(Number.NaN, 10)).toThrow(/--corr-rate must lie in/);
    expect(uniformPrior(-1 / 9 + 1e-6, 10).logDet).toBeLessThan(0);
  });
});
