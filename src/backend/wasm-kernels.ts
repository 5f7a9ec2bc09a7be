/**
 * Training kernels for @tensorflow/tfjs-backend-wasm, which ships forward convolutions only.
 *
 * Registered for 'wasm':
 *   Conv2DBackpropFilter               (missing upstream)
 *   DepthwiseConv2dNativeBackpropFilter (missing upstream)
 *   DepthwiseConv2dNativeBackpropInput  (missing upstream)
 *   Conv2DBackpropInput                 (override: upstream is a scalar loop, up to 12x slower than the forward conv)
 * and a FusedBatchNorm gradient without `tile` (WASM Tile was ~35 % of a DS-CNN step; broadcasting Mul does the same)
 * that on wasm is two kernel calls (TinylabBatchNormGradParams + TinylabBatchNormGradX, batchnorm-stats.ts),
 * plus the stock-kernel overrides in wasm-overrides.ts (incl. widened per-channel broadcasts, channel-broadcast.ts).
 * Training-step fusions (one kernel instead of a chain of tfjs ops, measured by kernel counts per step in the
 * bench models: MNIST CNN 228 → 114, DS-CNN 1274 → 515, ResNet-8 1235 → 495, autoencoder 1513 → 637):
 *   TinylabAdamUpdate   fused Adam step per variable (adam-update.ts; src/train/adam.ts uses it)
 *   TinylabMoments      tf.moments over leading axes + closed-form gradient TinylabMomentsGrad (moments.ts)
 *   TinylabReluGrad     ReLU gradient in one pass (relu-grad.ts)
 * and the first layer's unused input gradient is skipped during training (unused-input-grad.ts).
 * Elementwise/reduction loops run as WASM SIMD128 on the backend's heap (simd.ts), JS loops where SIMD is absent.
 *
 * Strategy, per kernel (see the measured choice in bench/train.ts and test/train/kernels.test.ts):
 *  - Where the maths is a GEMM, compose XNNPACK-backed WASM kernels (Conv2D, _FusedMatMul, Transpose, PadV2) called
 *    directly through the kernel registry, so no tape/engine bookkeeping runs and intermediates are freed at once.
 *  - Everything else (depthwise filter gradients, odd strides/dilations) runs tight loops over the WASM heap (SIMD128
 *    where the channel count allows, simd.ts; JS otherwise): no copies in or out, inner loops contiguous along channels.
 * All support NHWC, any stride, dilation, 'same'/'valid'/explicit padding, channel multipliers (depthwise).
 */
import * as tf from '@tensorflow/tfjs';
import { backend_util } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import { conv2dBackpropFilterWasm, conv2dBackpropInputWasm } from './conv-grads';
import { depthwiseBackpropFilterWasm, depthwiseBackpropInputWasm } from './depthwise-grads';
import { fusedBatchNormGradConfig, meanGradConfig, sumGradConfig } from './batchnorm-grad';
import { overrideConfigs } from './wasm-overrides';
import {
  BATCHNORM_GRAD_PARAMS, BATCHNORM_GRAD_SUMS, BATCHNORM_GRAD_X, batchNormGradParamsWasm, batchNormGradSumsWasm, batchNormGradXWasm,
} from './batchnorm-stats';
import { ADAM_UPDATE, adamUpdateWasm } from './adam-update';
import { RELU_GRAD, reluGradConfig, reluGradWasm } from './relu-grad';
import { installMoments, MOMENTS, MOMENTS_GRAD, momentsGradConfig, momentsGradWasm, momentsWasm } from './moments';

export const WASM_KERNEL_OVERRIDES = [
  'Conv2DBackpropFilter',
  'Conv2DBackpropInput',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'FusedBatchNorm (gradient)',
  'BatchMatMul/_FusedMatMul (transposed operands)',
  'Sum/Mean (leading-axis reductions)',
  'MaxPoolGrad',
  'Fill',
  'Tile',
  'Identity/Cast (zero-copy)',
  'Sum/Mean (gradients: broadcast dy, no full-size ones())',
  'FusedBatchNorm (per-channel)',
  'TinylabBatchNormGradSums (fused BatchNorm gradient reductions)',
  'TinylabBatchNormGradParams/TinylabBatchNormGradX (whole BatchNorm gradient in two calls, C % 4 = 0)',
  'Multiply/Add/Sub/RealDiv (per-channel broadcast on narrow channels)',
  'TinylabAdamUpdate (fused Adam step, used by the training loop\'s Adam)',
  'TinylabMoments (one-pass tf.moments over leading axes with a closed-form gradient; BatchNorm in training)',
  'TinylabMomentsGrad (that gradient in one SIMD pass)',
  'TinylabReluGrad (ReLU gradient in one SIMD pass)',
] as const;

let registered = false;

type Impl = (inputs: NamedTensorInfoMap, attrs: NamedAttrMap, backend: unknown) => TensorInfo | TensorInfo[];

function config(kernelName: string, impl: Impl): KernelConfig {
  const kernelFunc = ((args: { inputs: NamedTensorInfoMap; attrs?: NamedAttrMap; backend: unknown }) =>
    impl(args.inputs, args.attrs ?? {}, args.backend)) as unknown as KernelFunc;
  return { kernelName, backendName: 'wasm', kernelFunc };
}

/**
 * Register (or re-register) tinylab's WASM training kernels. Safe to call many times; the wasm backend module must
 * have been imported first (initBackend does that).
 */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  const configs: KernelConfig[] = [
    config('Conv2DBackpropFilter', conv2dBackpropFilterWasm),
    config('Conv2DBackpropInput', conv2dBackpropInputWasm),
    config('DepthwiseConv2dNativeBackpropFilter', depthwiseBackpropFilterWasm),
    config('DepthwiseConv2dNativeBackpropInput', depthwiseBackpropInputWasm),
    config(BATCHNORM_GRAD_SUMS, batchNormGradSumsWasm),
    config(BATCHNORM_GRAD_PARAMS, batchNormGradParamsWasm),
    config(BATCHNORM_GRAD_X, batchNormGradXWasm),
    config(ADAM_UPDATE, adamUpdateWasm),
    config(RELU_GRAD, reluGradWasm),
    config(MOMENTS, momentsWasm),
    config(MOMENTS_GRAD, momentsGradWasm),
    ...overrideConfigs(),
  ];
  for (const c of configs) {
    if (tf.getKernel(c.kernelName, 'wasm')) tf.unregisterKernel(c.kernelName, 'wasm');
    tf.registerKernel(c);
  }
  // The gradient registry is global (not per backend); ours is the same maths with broadcasting instead of tile,
  // exact on every backend. Silence tfjs' "overriding gradient" warning for this one call.
  const warn = console.warn;
  console.warn = () => undefined;
  try {
    tf.registerGradient(fusedBatchNormGradConfig);
    tf.registerGradient(sumGradConfig);
    tf.registerGradient(meanGradConfig);
    tf.registerGradient(momentsGradConfig);
    tf.registerGradient(reluGradConfig);
  } finally {
    console.warn = warn;
  }
  installMoments();
  registered = true;
}

export { backend_util };
