/**
 * Teacher-student knowledge distillation.
 *
 *   const t = buildCnn({ inputShape: [14, 14, 1], numClasses: 10, filters: 32, depth: 2, dense: 64, seed: 1 });
 *   await train(t, data, { epochs: 5 });
 *   const r = await distill({ teacher: t, data, temperature: 4, alpha: 0.3, epochs: 10 }); // student derived, 5× smaller
 *   const c = await compareDistillation({ teacher: t, student: s, data, board: 'NUCLEO-L476RG' });
 *   c  // table: teacher / student alone / distilled — accuracy, params, MACs, int8 flash; chart of accuracy vs flash
 */
export * from './loss';
export * from './student';
export * from './distill';
export * from './report';
export * from './price';
export { distillChart } from '../charts/distill';
