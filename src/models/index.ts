export * from './builders';
export * from './summary';
