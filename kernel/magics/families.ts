/**
 * Every magic family the kernel preloads. One file per family, each exporting `magics: MagicSpec[]`;
 * add a family here and its magics appear in %lsmagic and help.
 */
import type { MagicSpec } from './types';
import { magics as builtin } from './builtin';
import { magics as training } from './training';
import { magics as mcu } from './mcu';
import { magics as sweep } from './sweep';
import { magics as quantize } from './quantize';
import { magics as compress } from './compress';
import { magics as distill } from './distill';

export const MAGIC_FAMILIES: Record<string, MagicSpec[]> = {
  builtin,
  training,
  mcu,
  sweep,
  quantize,
  compress,
  distill,
};
