export { blasInfo, gemm, setBlasThreads, installBlasMatMul, uninstallBlasMatMul } from './blas.js';
export type { BlasInfo } from './blas.js';
