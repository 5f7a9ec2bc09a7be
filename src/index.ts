/**
 * tinylab's public API: everything a notebook cell (where it is preloaded) or a plain script can call.
 * Knows nothing of Jupyter. Each module re-exports its public surface from its own index.ts.
 */
export * from './common';
export * from './data';
export * from './graph';
export * from './mcu';
export * from './backend';
export * from './models';
export * from './train';
export * from './sweep';
export * from './store';
export * from './distill';
export * from './compress';
export * from './charts';
export * from './quantize';
export * from './export';
