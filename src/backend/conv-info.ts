/**
 * The geometry every convolution gradient kernel starts from: tfjs' Conv2DInfo for an NHWC request, from the kernel
 * attrs (strides, pad incl. explicit, dilations, dimRoundingMode). Shared by the dense and depthwise gradients so the
 * two cannot disagree about padding or rounding.
 */
import { backend_util } from '@tensorflow/tfjs';
import type { NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import { asWasm, isChannelsLast, WasmBackend } from './wasm-heap';

type Pad = 'same' | 'valid' | number | backend_util.ExplicitPadding;

export function nhwcConvInfo(
  xShape: number[],
  filterShape: number[],
  attrs: NamedAttrMap,
  depthwise: boolean,
): backend_util.Conv2DInfo {
  if (!isChannelsLast(attrs.dataFormat)) {
    throw new Error(`tinylab wasm ${depthwise ? 'depthwise ' : ''}conv gradients support NHWC (channelsLast) only`);
  }
  const dil = (attrs.dilations as number | [number, number] | undefined) ?? 1;
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as number | [number, number],
    dil,
    attrs.pad as Pad,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    depthwise,
    'channelsLast',
  );
}

/**
 * Padding of the stride-1 "full" correlation that computes an input gradient as a forward conv of dy with the
 * flipped filter: [top, bottom, left, right], or null when one is negative (the forward conv dropped input rows or
 * columns that no output reads, which a forward conv cannot reproduce).
 */
export function transposedPadding(c: backend_util.Conv2DInfo): [number, number, number, number] | null {
  const padT = (c.filterHeight - 1) * c.dilationHeight - c.padInfo.top;
  const padL = (c.filterWidth - 1) * c.dilationWidth - c.padInfo.left;
  // Output size of the correlation must be the input size: OH + padT + padB − (KH−1)·dh = H.
  const padB = c.inHeight - c.outHeight + c.padInfo.top;
  const padR = c.inWidth - c.outWidth + c.padInfo.left;
  return padT >= 0 && padL >= 0 && padB >= 0 && padR >= 0 ? [padT, padB, padL, padR] : null;
}

/** The unpacked arguments of a filter-gradient kernel (Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter). */
export interface FilterGradArgs {
  backend: WasmBackend;
  x: TensorInfo;
  dy: TensorInfo;
  filterShape: number[];
  c: backend_util.Conv2DInfo;
}

export function filterGradArgs(inputs: NamedTensorInfoMap, attrs: NamedAttrMap, b: unknown, depthwise: boolean): FilterGradArgs {
  const x = inputs.x as TensorInfo;
  const filterShape = attrs.filterShape as number[];
  return { backend: asWasm(b), x, dy: inputs.dy as TensorInfo, filterShape, c: nhwcConvInfo(x.shape, filterShape, attrs, depthwise) };
}

/** The unpacked arguments of an input-gradient kernel (Conv2DBackpropInput, DepthwiseConv2dNativeBackpropInput). */
export interface InputGradArgs {
  backend: WasmBackend;
  dy: TensorInfo;
  filter: TensorInfo;
  inputShape: number[];
  c: backend_util.Conv2DInfo;
}

export function inputGradArgs(inputs: NamedTensorInfoMap, attrs: NamedAttrMap, b: unknown, depthwise: boolean): InputGradArgs {
  const filter = inputs.filter as TensorInfo;
  const inputShape = attrs.inputShape as number[];
  return { backend: asWasm(b), dy: inputs.dy as TensorInfo, filter, inputShape, c: nhwcConvInfo(inputShape, filter.shape, attrs, depthwise) };
}
