import type { MagicSpec } from './types';

export const magics: MagicSpec[] = [];
