/** The analyses, one module each, in ANALYSIS_LIST's order (@vsae/data: names and tables). */
import { ANALYSIS_NAMES, type AnalysisName } from '@vsae/data';
import { dictionarySimilarity } from './dictionary-similarity.js';
import { featureSparsity } from './feature-sparsity.js';
import { latentSpace } from './latent-space.js';
import type { AnalysisModule } from './module.js';
import { neuronActivations } from './neuron-activations.js';
import { reconstructionQuality } from './reconstruction-quality.js';

const BY_NAME: Record<AnalysisName, AnalysisModule> = {
  'feature-sparsity': featureSparsity,
  'reconstruction-quality': reconstructionQuality,
  'dictionary-similarity': dictionarySimilarity,
  'neuron-activations': neuronActivations,
  'latent-space': latentSpace,
};

export const ANALYSIS_MODULES: readonly AnalysisModule[] = ANALYSIS_NAMES.map((n) => BY_NAME[n]);

export type { AnalysisContext, AnalysisModule, AnalysisSteps, Pass1Needs, Pass2Needs } from './module.js';
