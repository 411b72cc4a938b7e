/**
 * Building ONNX models in code (no Python, no exporter): a small graph builder over the generated protobuf
 * types of `onnx-proto`. Used for the criteria LM's graph (lm/onnx-export.ts) and the matmul benchmark.
 */
import { createRequire } from 'node:module';
import type { onnx as OnnxNamespace } from 'onnx-proto';

export type { onnx as OnnxTypes } from 'onnx-proto';
type OnnxModule = typeof OnnxNamespace;

// onnx-proto is CommonJS; its namespace is only reachable through require from ESM.
const { onnx } = createRequire(import.meta.url)('onnx-proto') as { onnx: OnnxModule };

/** TensorProto.DataType values. */
export const FLOAT = 1;
export const INT64 = 7;

/** An integer-valued number is written as an INT attribute; `{ float: x }` forces FLOAT (e.g. -1e9). */
type AttrValue = number | number[] | string | { floats: number[] } | { float: number };

export class GraphBuilder {
  readonly nodes: OnnxNamespace.INodeProto[] = [];
  readonly initializers: OnnxNamespace.ITensorProto[] = [];
  private counter = 0;

  /** Domains other than the default one that nodes use (each needs an opset import). */
  readonly domains = new Set<string>();

  /** `domain`: '' for standard ONNX ops, e.g. 'com.microsoft' for onnxruntime's contrib ops. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, nOutputs = 1, domain = ''): string[] {
    const id = this.counter++;
    const outputs = Array.from({ length: nOutputs }, (_, i) => `${opType}_${id}${nOutputs > 1 ? `_${i}` : ''}`);
    if (domain) this.domains.add(domain);
    this.nodes.push({ opType, domain, input: inputs, output: outputs, name: `${opType}_${id}`, attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)) });
    return outputs;
  }

  one(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, domain = ''): string {
    return this.op(opType, inputs, attrs, 1, domain)[0];
  }

  /** Renames the output of the last node (used for graph outputs). */
  nameLastOutput(name: string): string {
    const node = this.nodes[this.nodes.length - 1];
    node.output = [name];
    return name;
  }

  float(name: string, data: Float32Array, dims: number[]): string {
    this.initializers.push({ name, dims, dataType: FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  int64(name: string, values: number[]): string {
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims: [values.length], dataType: INT64, rawData: new Uint8Array(data.buffer) });
    return name;
  }

  scalarFloat(name: string, value: number): string {
    this.initializers.push({ name, dims: [], dataType: FLOAT, rawData: new Uint8Array(Float32Array.of(value).buffer) });
    return name;
  }
}

function attribute(name: string, v: AttrValue): OnnxNamespace.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if (typeof v === 'object') return 'float' in v ? { name, type: T.FLOAT, f: v.float } : { name, type: T.FLOATS, floats: v.floats };
  return Number.isInteger(v) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
}

export function valueInfo(name: string, elemType: number, dims: (number | string)[]): OnnxNamespace.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

export interface ModelSpec {
  name: string;
  inputs: OnnxNamespace.IValueInfoProto[];
  outputs: OnnxNamespace.IValueInfoProto[];
  /** Default opset 20 (LayerNormalization, Gelu with approximate="tanh"). */
  opset?: number;
}

/** Serialises the builder's nodes and initializers as an ONNX ModelProto. */
export function encodeModel(g: GraphBuilder, spec: ModelSpec): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 9,
    producerName: 'cladmop',
    opsetImport: [{ domain: '', version: spec.opset ?? 20 }, ...[...g.domains].map((domain) => ({ domain, version: 1 }))],
    graph: { name: spec.name, node: g.nodes, initializer: g.initializers, input: spec.inputs, output: spec.outputs },
  }).finish();
}
