/**
 * A minimal protobuf encoder, just enough to write an ONNX model with one MatMul node (no `onnx` package or
 * protobuf library is needed). Field numbers are those of onnx/onnx.proto (ONNX 1.8+):
 *
 *   ModelProto         ir_version = 1 (int64), producer_name = 2, graph = 7, opset_import = 8
 *   OperatorSetIdProto domain = 1 (string), version = 2 (int64)
 *   GraphProto         node = 1, name = 2, input = 11, output = 12
 *   NodeProto          input = 1, output = 2, name = 3, op_type = 4
 *   ValueInfoProto     name = 1, type = 2
 *   TypeProto          tensor_type = 1
 *   TypeProto.Tensor   elem_type = 1 (int32; FLOAT = 1), shape = 2
 *   TensorShapeProto   dim = 1
 *   Dimension          dim_value = 1 (int64)
 *
 * Wire format: a field is `varint(field << 3 | wireType)` then its value; wire type 0 = varint, 2 = length-
 * delimited (strings, bytes, embedded messages). Only non-negative integers are written (all we need).
 */

/** Bytes of a protobuf varint (non-negative integer up to 2^53). */
export function varint(value: number): number[] {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`varint: ${value} is not a non-negative safe integer`);
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

/** Builds one protobuf message: fields are appended in call order. */
export class ProtoWriter {
  private readonly bytes: number[] = [];

  private tag(field: number, wireType: 0 | 2): void {
    this.bytes.push(...varint(field * 8 + wireType));
  }

  /** Varint field (int32/int64/uint64/enum/bool with a non-negative value). */
  int(field: number, value: number): this {
    this.tag(field, 0);
    this.bytes.push(...varint(value));
    return this;
  }

  /** Length-delimited field with raw bytes. */
  bytesField(field: number, value: Uint8Array | number[]): this {
    this.tag(field, 2);
    this.bytes.push(...varint(value.length));
    for (const b of value) this.bytes.push(b);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytesField(field, new TextEncoder().encode(value));
  }

  message(field: number, value: ProtoWriter): this {
    return this.bytesField(field, value.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

export const ONNX_FLOAT = 1;

function tensorValueInfo(name: string, shape: number[]): ProtoWriter {
  const dims = new ProtoWriter();
  for (const d of shape) dims.message(1, new ProtoWriter().int(1, d));
  const tensorType = new ProtoWriter().int(1, ONNX_FLOAT).message(2, dims);
  return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
}

/**
 * ONNX model bytes computing Y = A @ B for float32 A [m, k] and B [k, n]: one MatMul node, opset 13, IR version 7
 * (the IR version of ONNX 1.8, which introduced opset 13).
 */
export function matmulModel(m: number, k: number, n: number): Uint8Array {
  const node = new ProtoWriter().string(1, 'A').string(1, 'B').string(2, 'Y').string(3, 'matmul').string(4, 'MatMul');
  const graph = new ProtoWriter()
    .message(1, node)
    .string(2, 'cladmop_bench_matmul')
    .message(11, tensorValueInfo('A', [m, k]))
    .message(11, tensorValueInfo('B', [k, n]))
    .message(12, tensorValueInfo('Y', [m, n]));
  return new ProtoWriter()
    .int(1, 7)
    .string(2, 'cladmop-bench')
    .message(7, graph)
    .message(8, new ProtoWriter().string(1, '').int(2, 13))
    .finish();
}

/** A decoded field (for tests): varints as numbers, length-delimited values as bytes. */
export type DecodedField = { field: number; wireType: number; value: number | Uint8Array };

/** Decodes one message level (varint and length-delimited fields only). Used by the tests. */
export function decodeMessage(bytes: Uint8Array): DecodedField[] {
  const out: DecodedField[] = [];
  let i = 0;
  const readVarint = (): number => {
    let result = 0;
    let mul = 1;
    for (;;) {
      if (i >= bytes.length) throw new Error('truncated varint');
      const b = bytes[i++];
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 0x80;
    }
  };
  while (i < bytes.length) {
    const key = readVarint();
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    if (wireType === 0) out.push({ field, wireType, value: readVarint() });
    else if (wireType === 2) {
      const len = readVarint();
      if (i + len > bytes.length) throw new Error('truncated length-delimited field');
      out.push({ field, wireType, value: bytes.subarray(i, i + len) });
      i += len;
    } else throw new Error(`unsupported wire type ${wireType}`);
  }
  return out;
}
