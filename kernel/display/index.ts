/** Display helpers for kernel code (magics, runner, report): bundles, tables, charts, and the cell-side API. */
export * from './bundle';
export * from './mime';
export * from './helpers';
export * from './vegalite';
export * from './runtime';
