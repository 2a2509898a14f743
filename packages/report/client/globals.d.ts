// Types for the client script (checked with client/tsconfig.json, never compiled): d3 is the
// global that the inlined d3.min.js defines.
declare const d3: typeof import('d3');

type Sel<E extends Element> = import('d3').Selection<E, unknown, null, undefined>;
type ReportData = import('../src/types.js').ReportData;
type RunReport = import('../src/types.js').RunReport;
type SweepReport = import('../src/types.js').SweepReport;
type FrontierPoint = import('../src/types.js').FrontierPoint;
type Histogram = import('../src/types.js').Histogram;
type Example = import('../src/types.js').Example;
type Num = import('../src/types.js').Num;
type AxisScale = import('d3').AxisScale<import('d3').NumberValue>;
type Delaunay = import('d3').Delaunay<number>;
type LogScale = import('d3').ScaleLogarithmic<number, number>;
