/**
 * Vega-Lite spec for distillation: accuracy against int8 flash for the teacher, the student trained alone and the
 * distilled student (plain object; the kernel's display layer renders it). Typed structurally so it does not depend
 * on src/distill.
 */
import type { VegaLiteSpec } from './mcu';

export interface DistillPointLike {
  role: string;
  accuracy: number;
  int8WeightsFlashBytes: number;
  params: number;
  macs: number;
}

export function distillChart(points: DistillPointLike[], title = 'accuracy vs int8 weights flash'): VegaLiteSpec {
  const values = points.map((p) => ({
    model: p.role,
    accuracy: Number((100 * p.accuracy).toFixed(2)),
    flashKiB: Number((p.int8WeightsFlashBytes / 1024).toFixed(2)),
    params: p.params,
    macs: p.macs,
  }));
  const enc = {
    x: { field: 'flashKiB', type: 'quantitative', title: 'int8 weights flash (KiB, log)', scale: { type: 'log' } },
    y: { field: 'accuracy', type: 'quantitative', title: 'test accuracy (%)', scale: { zero: false } },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 360,
    height: 240,
    data: { values },
    layer: [
      {
        mark: { type: 'point', filled: true, size: 90 },
        encoding: {
          ...enc,
          color: { field: 'model', type: 'nominal', title: null, sort: ['teacher', 'student alone', 'student distilled'] },
          tooltip: [
            { field: 'model' },
            { field: 'accuracy', title: 'accuracy %' },
            { field: 'flashKiB', title: 'flash KiB' },
            { field: 'params', format: ',' },
            { field: 'macs', title: 'MACs', format: ',' },
          ],
        },
      },
      { mark: { type: 'text', dy: -12, fontSize: 11 }, encoding: { ...enc, text: { field: 'model' } } },
    ],
  };
}
