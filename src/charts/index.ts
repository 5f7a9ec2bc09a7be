export * from './decision';
export * from './mcu';
