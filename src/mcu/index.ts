export * from './boards';
export * from './cost';
export * from './planner';
export * from './estimate';
export { formatReport, reportHtml, reportBundle, formatComparison, VEGA_LITE_MIME } from './report';
export type { BoardRow, BoardComparison, PlainMimeBundle } from './report';
export * from './compare';
export * from './instructions';
