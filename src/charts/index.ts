export * from './decision';
export * from './mcu';
export * from './training';
