// Minimal .npy reader/writer for the ONNX Runtime oracle (format 1.0/2.0/3.0, C order,
// little-endian). Tensors are {type, dims, data} with ONNX Runtime's JS type names; float16
// travels as raw uint16 bits (Uint16Array) so no rounding happens on the way through.
import { readFileSync, writeFileSync } from 'node:fs';

// numpy descr (without byte-order char) <-> ORT type name and typed-array constructor.
const TYPES = [
  ['f4', 'float32', Float32Array],
  ['f8', 'float64', Float64Array],
  ['f2', 'float16', Uint16Array],
  ['i1', 'int8', Int8Array],
  ['i2', 'int16', Int16Array],
  ['i4', 'int32', Int32Array],
  ['i8', 'int64', BigInt64Array],
  ['u1', 'uint8', Uint8Array],
  ['u2', 'uint16', Uint16Array],
  ['u4', 'uint32', Uint32Array],
  ['u8', 'uint64', BigUint64Array],
  ['b1', 'bool', Uint8Array],
];
const BY_DESCR = new Map(TYPES.map(([d, t, c]) => [d, { type: t, ctor: c }]));
const BY_TYPE = new Map(TYPES.map(([d, t, c]) => [t, { descr: d, ctor: c }]));

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

export function parseNpy(buf, what = 'npy') {
  const fail = (msg) => { throw new Error(`${what}: ${msg}`); };
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) fail('not a .npy file (bad magic)');
  const major = buf[6];
  let hlen, hstart;
  if (major === 1) { hlen = buf.readUInt16LE(8); hstart = 10; }
  else if (major === 2 || major === 3) {
    if (buf.length < 12) fail('truncated header');
    hlen = buf.readUInt32LE(8); hstart = 12;
  } else fail(`unsupported .npy version ${major}`);
  if (hstart + hlen > buf.length) fail('truncated header');
  const header = buf.subarray(hstart, hstart + hlen).toString(major === 3 ? 'utf8' : 'latin1');

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) fail(`malformed header ${JSON.stringify(header)}`);
  if (fortran[1] === 'True') fail('fortran_order arrays are not supported');
  const d = descr[1];
  const order = d[0];
  if (order === '>') fail(`big-endian dtype ${d} not supported`);
  const code = (order === '<' || order === '|' || order === '=') ? d.slice(1) : d;
  const t = BY_DESCR.get(code);
  if (!t) fail(`unsupported dtype ${d}`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length)
    .map((s) => { const n = Number(s.replace(/L$/, '')); if (!Number.isInteger(n) || n < 0) fail(`bad dim ${s}`); return n; });
  const count = dims.reduce((a, b) => a * b, 1);
  const nbytes = count * t.ctor.BYTES_PER_ELEMENT;
  const dstart = hstart + hlen;
  if (buf.length - dstart < nbytes) fail(`truncated data: need ${nbytes} bytes, have ${buf.length - dstart}`);
  // Copy into a fresh, aligned ArrayBuffer: typed arrays need element-aligned offsets.
  const ab = new ArrayBuffer(nbytes);
  new Uint8Array(ab).set(buf.subarray(dstart, dstart + nbytes));
  return { type: t.type, dims, data: new t.ctor(ab) };
}

export function readNpy(path) {
  return parseNpy(readFileSync(path), path);
}

export function formatNpy({ type, dims, data }) {
  const t = BY_TYPE.get(type);
  if (!t) throw new Error(`cannot write tensor of type ${type} to .npy`);
  const order = (t.descr === 'b1' || t.descr.endsWith('1')) ? '|' : '<';
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${order}${t.descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Pad with spaces so that the data starts on a 64-byte boundary; the header ends in '\n'.
  let major = 1, pre = 10;
  if (header.length + 1 + pre > 65535) { major = 2; pre = 12; }
  const total = Math.ceil((pre + header.length + 1) / 64) * 64;
  header = header + ' '.repeat(total - pre - header.length - 1) + '\n';
  const head = Buffer.alloc(pre);
  MAGIC.copy(head, 0);
  head[6] = major; head[7] = 0;
  if (major === 1) head.writeUInt16LE(header.length, 8); else head.writeUInt32LE(header.length, 8);
  let bytes;
  if (type === 'bool') {
    // Normalise to 0/1: ORT hands bools back as Uint8Array, but be strict about the encoding.
    bytes = Buffer.from(Uint8Array.from(data, (v) => (v ? 1 : 0)));
  } else {
    const arr = data instanceof t.ctor ? data : t.ctor.from(data);
    bytes = Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength);
  }
  return Buffer.concat([head, Buffer.from(header, 'latin1'), bytes]);
}

export function writeNpy(path, tensor) {
  writeFileSync(path, formatNpy(tensor));
}
