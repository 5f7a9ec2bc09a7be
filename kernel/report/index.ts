export * from './render';
export { run as reportCli, REPORT_USAGE } from './cli';
export { addStaticCharts } from './static-charts';
