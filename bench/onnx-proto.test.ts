// Tests of the minimal protobuf / ONNX writer used by the matmul benchmark. Not part of `npm test` (which
// collects src/ and test/ only); run with:
//   node --import tsx --import ./src/runtime/node20-shim.mjs --test bench/onnx-proto.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, matmulModel, ProtoWriter, varint, type DecodedField } from './onnx-proto.ts';

const hex = (b: Uint8Array | number[]) => Buffer.from(Uint8Array.from(b)).toString('hex');

test('varint matches the protobuf encoding', () => {
  assert.deepEqual(varint(0), [0]);
  assert.deepEqual(varint(1), [1]);
  assert.deepEqual(varint(127), [0x7f]);
  assert.deepEqual(varint(128), [0x80, 0x01]);
  assert.deepEqual(varint(150), [0x96, 0x01]);
  assert.deepEqual(varint(300), [0xac, 0x02]);
  assert.deepEqual(varint(2 ** 32), [0x80, 0x80, 0x80, 0x80, 0x10]);
  assert.deepEqual(varint(2 ** 53 - 1), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]);
  assert.throws(() => varint(-1));
  assert.throws(() => varint(1.5));
});

test('messages match the examples of the protobuf encoding guide', () => {
  // message Test1 { int32 a = 1; } with a = 150
  assert.equal(hex(new ProtoWriter().int(1, 150).finish()), '089601');
  // message Test2 { string b = 2; } with b = "testing"
  assert.equal(hex(new ProtoWriter().string(2, 'testing').finish()), '120774657374696e67');
  // message Test3 { Test1 c = 3; }
  assert.equal(hex(new ProtoWriter().message(3, new ProtoWriter().int(1, 150)).finish()), '1a03089601');
  // A field number above 15 takes a two-byte key.
  assert.equal(hex(new ProtoWriter().int(16, 1).finish()), '800101');
});

test('decodeMessage reads back what ProtoWriter wrote', () => {
  const bytes = new ProtoWriter().int(1, 300).string(2, 'x').message(3, new ProtoWriter().int(1, 7)).finish();
  const f = decodeMessage(bytes);
  assert.deepEqual(f.map((x) => [x.field, x.wireType]), [[1, 0], [2, 2], [3, 2]]);
  assert.equal(f[0].value, 300);
  assert.equal(new TextDecoder().decode(f[1].value as Uint8Array), 'x');
  assert.deepEqual(decodeMessage(f[2].value as Uint8Array), [{ field: 1, wireType: 0, value: 7 }]);
});

const sub = (fields: DecodedField[], n: number) => fields.filter((f) => f.field === n).map((f) => f.value as Uint8Array);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

test('matmulModel is a ModelProto with one MatMul node, opset 13 and the given shapes', () => {
  const model = decodeMessage(matmulModel(1024, 512, 256));
  assert.equal(model.find((f) => f.field === 1)?.value, 7, 'ir_version');
  const opset = decodeMessage(sub(model, 8)[0]);
  assert.equal(str(sub(opset, 1)[0]), '', 'default domain');
  assert.equal(opset.find((f) => f.field === 2)?.value, 13, 'opset version');
  const graph = decodeMessage(sub(model, 7)[0]);
  const nodes = sub(graph, 1).map(decodeMessage);
  assert.equal(nodes.length, 1);
  assert.deepEqual(sub(nodes[0], 1).map(str), ['A', 'B']);
  assert.deepEqual(sub(nodes[0], 2).map(str), ['Y']);
  assert.equal(str(sub(nodes[0], 4)[0]), 'MatMul');
  const shapeOf = (vi: Uint8Array) => {
    const v = decodeMessage(vi);
    const tensor = decodeMessage(sub(decodeMessage(sub(v, 2)[0]), 1)[0]);
    assert.equal(tensor.find((f) => f.field === 1)?.value, 1, 'elem_type FLOAT');
    const dims = sub(decodeMessage(sub(tensor, 2)[0]), 1).map((d) => decodeMessage(d)[0].value);
    return [str(sub(v, 1)[0]), dims];
  };
  assert.deepEqual(sub(graph, 11).map(shapeOf), [['A', [1024, 512]], ['B', [512, 256]]]);
  assert.deepEqual(sub(graph, 12).map(shapeOf), [['Y', [1024, 256]]]);
});

test('onnxruntime loads the model and computes the product', async (t) => {
  let ort: typeof import('onnxruntime-node');
  try {
    ort = await import('onnxruntime-node');
  } catch (err) {
    t.skip(`onnxruntime-node unavailable: ${(err as Error).message}`);
    return;
  }
  const session = await ort.InferenceSession.create(matmulModel(2, 3, 2));
  assert.deepEqual(session.inputNames, ['A', 'B']);
  assert.deepEqual(session.outputNames, ['Y']);
  const a = new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
  const b = new ort.Tensor('float32', Float32Array.from([7, 8, 9, 10, 11, 12]), [3, 2]);
  const { Y } = await session.run({ A: a, B: b });
  assert.deepEqual(Y.dims, [2, 2]);
  assert.deepEqual(Array.from(Y.data as Float32Array), [58, 64, 139, 154]);
  await session.release();
});
