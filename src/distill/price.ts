/** Pricing a model on a board for the comparison table (params, MACs, int8 flash) through src/graph + src/mcu. */
import type * as tf from '@tensorflow/tfjs';
import { graphFromLayersModel } from '../graph/tfjs';
import { estimate } from '../mcu/estimate';
import type { McuReport } from '../mcu/estimate';

/** int8 deployment estimate of `model` on `board` (BN folded, activations fused, int8 weights, int32 biases). */
export function priceInt8(model: tf.LayersModel, board: string): McuReport {
  return estimate(graphFromLayersModel(model), board, { dtype: 'int8' });
}
