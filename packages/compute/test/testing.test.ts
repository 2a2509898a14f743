import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/index.js';
import { expectAllClose, expectNoLeaks, expectNoLeaksSync } from '../src/testing.js';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('expectAllClose', () => {
  it('passes within tolerance and compares every element', () => {
    expectAllClose([1, 2, 3], [1, 2, 3 + 1e-7], { rtol: 1e-6, atol: 0 });
    expect(() => expectAllClose([1, 2, 3, 4], [1, 2, 3, 4.1], { rtol: 1e-3, atol: 0 })).toThrow(/1 of 4 elements/);
  });

  it('checks the shape first', () => {
    expect(() => expectAllClose({ data: [1, 2, 3, 4], shape: [2, 2] }, { data: [1, 2, 3, 4], shape: [4] })).toThrow(/shape \[2, 2\] differs from the expected \[4\]/);
    expect(() => expectAllClose([1, 2], [1, 2, 3])).toThrow(/2 elements, expected 3/);
  });

  it('reports the worst element with its multi-index', () => {
    const a = tf.tensor2d([[0, 0, 0], [0, 0, 5]]);
    const e = tf.tensor2d([[0, 1, 0], [0, 0, 0]]);
    expect(() => expectAllClose(a, e, { rtol: 0, atol: 0.5, what: 'W' })).toThrow(/W: 2 of 6 elements.*worst at \[1, 2\]: got 5, expected 0/);
    tf.dispose([a, e]);
  });

  it('treats NaN as equal only to NaN, and infinities by identity', () => {
    expectAllClose([NaN, Infinity], [NaN, Infinity]);
    expect(() => expectAllClose([NaN], [0])).toThrow(/worst/);
    expect(() => expectAllClose([1], [NaN])).toThrow(/worst/);
    expect(() => expectAllClose([NaN], [NaN], { equalNaN: false })).toThrow();
    expect(() => expectAllClose([Infinity], [-Infinity])).toThrow();
  });
});

describe('expectNoLeaks', () => {
  it('catches a tensor left alive and allows returned ones', async () => {
    let kept: tf.Tensor | undefined;
    await expect(expectNoLeaks(() => { kept = tf.ones([2]); })).rejects.toThrow(/1 tensor\(s\) leaked/);
    kept?.dispose();
    const t = await expectNoLeaks(() => tf.tidy(() => tf.add(tf.ones([2]), 1)), { allowReturned: 1 });
    t.dispose();
    expectNoLeaksSync(() => tf.tidy(() => { tf.ones([3]); }));
    expect(() => expectNoLeaksSync(() => { kept = tf.zeros([1]); })).toThrow(/leaked/);
    kept?.dispose();
  });
});
