export * from './types';
export * from './builder';
export * from './deploy';
export * from './arch';
export * from './tfjs';
export * from './onnx';
export * from './summary';
