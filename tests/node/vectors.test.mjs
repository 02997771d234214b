// The mws.v1 test vectors, read by a third party.
//
// docs/PROTOCOL.md says that another implementation can decode and encode
// mws.v1 from the page alone. This file is that implementation in
// JavaScript, on @msgpack/msgpack from npm (not on our C code): a decoder of
// the envelope schema that reads one msgpack value at a time, and an encoder
// that hands JavaScript values to msgpack's encode(). Every valid vector
// must decode to its fields and (unless marked decode only) encode back to
// exactly its bytes; every malformed vector must be rejected with its error
// name and close code. Needs no addon: only the binding's devDependencies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.resolve(here, '..', '..', 'bindings', 'node', 'package.json'));
const { Decoder, encode: msgpackEncode } = require('@msgpack/msgpack');

const VECTORS = JSON.parse(readFileSync(path.resolve(here, '..', 'vectors', 'mws_v1.json'), 'utf8'));

const TYPES = ['', 'hello', 'welcome', 'data', 'ack', 'ping', 'pong', 'goaway', 'batch', 'error'];
// [least, most] elements; most = Infinity: extension fields allowed.
const ARITY = {
  hello: [4, Infinity], welcome: [5, Infinity], data: [3, 4], ack: [2, 2], ping: [2, 2],
  pong: [2, 2], goaway: [4, 4], batch: [3, 4], error: [3, 3],
};
// PROTOCOL.md section 8: the close code of each decoder error.
const CLOSE = {
  ETRUNC: 4002, ETRAILING: 4002, EFORMAT: 4002, ETYPE: 4002, EARITY: 4002, EVALUE: 4002,
  EDEPTH: 4002, EUNKNOWN: 4003, ETOOBIG: 4009, EPAYLOAD: 4009, EBATCH: 4009,
};
const MAX_DEPTH = 8;
const U64_MAX = (1n << 64n) - 1n;
const JSON_SAFE = 2n ** 53n;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

class EnvError extends Error {
  constructor(name) {
    super(name);
    this.code = name;
  }
}

/** The msgpack family of a value from its first byte (the msgpack spec's format table). */
function family(b) {
  if (b <= 0x7f || b >= 0xe0 || (b >= 0xcc && b <= 0xd3)) return 'int';
  if ((b >= 0x80 && b <= 0x8f) || b === 0xde || b === 0xdf) return 'map';
  if ((b >= 0x90 && b <= 0x9f) || b === 0xdc || b === 0xdd) return 'array';
  if ((b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb)) return 'str';
  if (b >= 0xc4 && b <= 0xc6) return 'bin';
  if (b === 0xc0) return 'nil';
  if (b === 0xc2 || b === 0xc3) return 'bool';
  if (b === 0xca || b === 0xcb) return 'float';
  if (b === 0xc1) return 'never';
  return 'ext';
}

/** Left to right over one envelope: the first rule broken is the error. */
class Reader {
  constructor(bytes, limits) {
    this.b = bytes;
    this.off = 0;
    this.limits = limits;
  }

  left() {
    return this.b.length - this.off;
  }

  peek() {
    if (!this.left()) throw new EnvError('ETRUNC');
    const f = family(this.b[this.off]);
    if (f === 'never') throw new EnvError('EFORMAT');
    return f;
  }

  expect(...families) {
    const f = this.peek();
    if (!families.includes(f)) throw new EnvError('ETYPE');
    return f;
  }

  /** One whole value decoded by @msgpack/msgpack; returns [value, its bytes]. */
  value() {
    // useBigInt64: 64-bit integers come back as BigInt, exact up to 2^64 - 1.
    const dec = new Decoder({ useBigInt64: true });
    const start = this.off;
    let r;
    try {
      r = dec.decodeMulti(this.b.subarray(start)).next();
    } catch (e) {
      if (e instanceof RangeError) throw new EnvError('ETRUNC');
      throw new EnvError('EFORMAT');
    }
    // @msgpack/msgpack keeps its read position in `pos` (private in its
    // TypeScript, no public accessor): read here only to know where the
    // next value starts.
    this.off = start + dec.pos;
    return [r.value, this.b.subarray(start, this.off)];
  }

  /** An array or map header, read by hand (the decoder has no header-only call). */
  header() {
    const b = this.b[this.off];
    let n;
    let size = 1;
    if ((b >= 0x90 && b <= 0x9f) || (b >= 0x80 && b <= 0x8f)) n = b & 0x0f;
    else {
      size = b === 0xdc || b === 0xde ? 3 : 5;
      if (this.left() < size) throw new EnvError('ETRUNC');
      const v = new DataView(this.b.buffer, this.b.byteOffset + this.off + 1, size - 1);
      n = size === 3 ? v.getUint16(0) : v.getUint32(0);
    }
    if (family(b) === 'map') n *= 2;
    this.off += size;
    if (n > this.left()) throw new EnvError('ETRUNC'); // each element takes a byte at least
    return n;
  }

  uint() {
    this.expect('int');
    const v = BigInt(this.value()[0]);
    if (v < 0n) throw new EnvError('EVALUE');
    return v;
  }

  seq() {
    const v = this.uint();
    if (v === 0n) throw new EnvError('EVALUE');
    return v;
  }

  ident(nilOk = false) {
    if (this.expect('bin', 'nil') === 'nil') {
      if (!nilOk) throw new EnvError('ETYPE');
      this.value();
      return null;
    }
    const [v] = this.value();
    if (v.length !== 16) throw new EnvError('EVALUE');
    return Buffer.from(v).toString('hex');
  }

  /** The payload's own bytes: for a str, the UTF-8 bytes as sent (checked strictly). */
  raw() {
    const text = this.expect('bin', 'str') === 'str';
    const [v, all] = this.value();
    if (!text) return { bytes: v, text };
    const bytes = all.subarray(headerSize(all[0]));
    try {
      strictUtf8.decode(bytes);
    } catch {
      throw new EnvError('EVALUE');
    }
    return { bytes, text };
  }

  payload() {
    const { bytes, text } = this.raw();
    if (bytes.length > this.limits.max_payload_bytes) throw new EnvError('EPAYLOAD');
    return { hex: Buffer.from(bytes).toString('hex'), text };
  }

  reason() {
    this.expect('str');
    const [v] = this.value();
    if (Buffer.byteLength(v, 'utf8') > 123) throw new EnvError('EVALUE');
    return v;
  }

  code() {
    const v = this.uint();
    if (v < 1000n || v > 4999n) throw new EnvError('EVALUE');
    return Number(v);
  }

  bool() {
    this.expect('bool');
    return this.value()[0];
  }

  /** An extension field: any type, nested at most MAX_DEPTH levels. */
  skip(depth) {
    if (depth > MAX_DEPTH) throw new EnvError('EDEPTH');
    const f = this.peek();
    if (f === 'array' || f === 'map') {
      const n = this.header();
      for (let i = 0; i < n; i++) this.skip(depth + 1);
      return;
    }
    this.value();
  }
}

function headerSize(b) {
  if (b >= 0xa0 && b <= 0xbf) return 1;
  return { 0xd9: 2, 0xda: 3, 0xdb: 5 }[b];
}

/** Integers above 2^53 are decimal strings in the vectors file. */
const num = (v) => (v > JSON_SAFE ? v.toString() : Number(v));

function decode(bytes, limits = {}) {
  const lim = { ...VECTORS.default_limits, ...limits };
  if (bytes.length > lim.max_envelope_bytes) throw new EnvError('ETOOBIG');
  const r = new Reader(bytes, lim);
  if (r.peek() !== 'array') throw new EnvError('EFORMAT');
  const n = r.header();
  if (n === 0) throw new EnvError('EARITY');
  const t = r.uint();
  const name = t >= 1n && t <= 9n ? TYPES[Number(t)] : null;
  if (!name) throw new EnvError('EUNKNOWN');
  const [least, most] = ARITY[name];
  if (n < least || n > most) throw new EnvError('EARITY');
  let fields;
  switch (name) {
    case 'hello':
      fields = { session_id: r.ident(true), secret: r.ident(), last_recv_seq: num(r.uint()) };
      break;
    case 'welcome':
      fields = { session_id: r.ident(), resumed: r.bool(), last_recv_seq: num(r.uint()), session_ttl_ms: num(r.uint()) };
      break;
    case 'data':
      fields = { seq: num(r.seq()), payload: r.payload() };
      break;
    case 'ack':
      fields = { ack: num(r.uint()) };
      break;
    case 'ping':
    case 'pong':
      fields = { timestamp_ms: num(r.uint()) };
      break;
    case 'goaway':
      fields = { code: r.code(), retry_after_ms: num(r.uint()), reason: r.reason() };
      break;
    case 'error':
      fields = { code: r.code(), reason: r.reason() };
      break;
    default: {
      const first = r.seq();
      r.expect('array');
      const count = r.header();
      if (count === 0 || count > lim.max_batch_count) throw new EnvError('EBATCH');
      if (first + BigInt(count) - 1n > U64_MAX) throw new EnvError('EVALUE');
      const items = [];
      for (let i = 0; i < count; i++) items.push(r.payload());
      fields = { first_seq: num(first), items };
    }
  }
  if (name === 'data' || name === 'batch') {
    const ack = n === 4 ? r.uint() : 0n;
    fields.ack = ack ? num(ack) : null; // an ack of 0 is no ack
  }
  if (name === 'hello' || name === 'welcome') for (let i = least; i < n; i++) r.skip(1);
  if (r.left()) throw new EnvError('ETRAILING');
  return [name, fields];
}

function encode(name, f) {
  // Integers up to 2^32 - 1 as numbers (written in their shortest form),
  // larger ones as BigInt (written as uint 64, their shortest form): with
  // useBigInt64, @msgpack/msgpack writes a number above 2^32 - 1 as a
  // float 64, which a receiver rejects (ETYPE).
  const n = (v) => (BigInt(v) > 0xffffffffn ? BigInt(v) : Number(v));
  const p = (j) => (j.text ? Buffer.from(j.hex, 'hex').toString('utf8') : Uint8Array.from(Buffer.from(j.hex, 'hex')));
  const id = (h) => (h === null ? null : Uint8Array.from(Buffer.from(h, 'hex')));
  const env = {
    hello: () => [id(f.session_id), id(f.secret), n(f.last_recv_seq)],
    welcome: () => [id(f.session_id), f.resumed, n(f.last_recv_seq), n(f.session_ttl_ms)],
    data: () => [n(f.seq), p(f.payload)],
    ack: () => [n(f.ack)],
    ping: () => [n(f.timestamp_ms)],
    pong: () => [n(f.timestamp_ms)],
    goaway: () => [f.code, n(f.retry_after_ms), f.reason],
    error: () => [f.code, f.reason],
    batch: () => [n(f.first_seq), f.items.map(p)],
  }[name]();
  if ((name === 'data' || name === 'batch') && f.ack) env.push(n(f.ack));
  return Buffer.from(msgpackEncode([TYPES.indexOf(name), ...env], { useBigInt64: true }));
}

test('every error name has the close code of PROTOCOL.md', () => {
  for (const v of VECTORS.invalid) assert.equal(CLOSE[v.error], v.close_code, v.name);
});

for (const v of VECTORS.valid) {
  test(`valid ${v.name}: decodes to its fields, encodes to its bytes`, () => {
    const bytes = Buffer.from(v.hex, 'hex');
    assert.deepEqual(decode(bytes), [v.type, v.fields]);
    const out = encode(v.type, v.fields);
    if (v.encode) assert.equal(out.toString('hex'), v.hex);
    // Decode-only vectors use forms an encoder never writes.
    else assert.notEqual(out.toString('hex'), v.hex);
    assert.deepEqual(decode(out), [v.type, v.fields]);
  });

  test(`valid ${v.name}: cut short is ETRUNC, one byte more is ETRAILING`, () => {
    const bytes = Buffer.from(v.hex, 'hex');
    for (let cut = 0; cut < bytes.length; cut++) {
      assert.throws(() => decode(bytes.subarray(0, cut)), { code: 'ETRUNC' }, `cut at ${cut}`);
    }
    assert.throws(() => decode(Buffer.concat([bytes, Buffer.from([0])])), { code: 'ETRAILING' });
  });
}

for (const v of VECTORS.invalid) {
  test(`malformed ${v.name}: ${v.error}, close ${v.close_code}`, () => {
    assert.throws(() => decode(Buffer.from(v.hex, 'hex'), v.limits), { code: v.error });
    assert.equal(CLOSE[v.error], v.close_code);
  });
}
