export * from './wire';
export * from './connection';
export * from './kernelspec';
export * from './client';
export * from './launch';
