export * from './types';
export * from './split';
export * from './mnist';
export * from './gestures';
export * from './loaders';
