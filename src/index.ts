/**
 * tinylab's public API: everything a notebook cell (where it is preloaded) or a plain script can call.
 * Knows nothing of Jupyter. Each module re-exports its public surface from its own index.ts.
 */
export * from './common';
export * from './data';
