export * from './notebook';
export * from './params';
export * from './execute';
export { run as runCli, parseRunArgs, RUN_USAGE } from './cli';
