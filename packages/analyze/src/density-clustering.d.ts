// Types for the parts of density-clustering (plain CommonJS, no types shipped) that we use.
declare module 'density-clustering' {
  export class DBSCAN {
    /** Clusters as arrays of point indices; points in no cluster end up in `noise`. */
    run(dataset: number[][], epsilon: number, minPts: number, distance?: (a: number[], b: number[]) => number): number[][];
    noise: number[];
  }
  const clustering: { DBSCAN: typeof DBSCAN };
  export default clustering;
}
