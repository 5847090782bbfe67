// The envelope framer on its own: prefixes, declarations, markup that looks like an end tag, every split,
// bounded memory, and the errors it must raise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from '../../src/errors.js';
import { createEnvelopeFramer } from '../../src/ews/framer.js';
import { seededRandom } from './feed.js';

function frame(chunks: string[], max = 1 << 20): { envelopes: string[]; error?: string } {
  const envelopes: string[] = [];
  const f = createEnvelopeFramer({ maxEnvelopeBytes: max, onEnvelope: (x) => envelopes.push(x) });
  try {
    for (const c of chunks) f.push(c);
    f.end();
    return { envelopes };
  } catch (err) {
    assert.ok(err instanceof ProtocolError, `only ProtocolError may escape, got ${String(err)}`);
    return { envelopes, error: err.message };
  }
}

/** Frames `text` whole, split at every offset, and one character at a time; all must agree with `expected`. */
function assertFrames(text: string, expected: { envelopes: string[]; error?: string }): void {
  assert.deepEqual(frame([text]), expected, 'whole');
  for (let i = 0; i <= text.length; i++) assert.deepEqual(frame([text.slice(0, i), text.slice(i)]), expected, `split at ${i}`);
  for (let i = 0; i < text.length; i++) {
    for (let j = i + 1; j <= text.length; j += 7) {
      const got = frame([text.slice(0, i), text.slice(i, j), text.slice(j)]);
      if (JSON.stringify(got) !== JSON.stringify(expected)) assert.deepEqual(got, expected, `splits at ${i} and ${j}`);
    }
  }
  assert.deepEqual(frame([...text]), expected, 'one character at a time');
}

test('framer: unprefixed Exchange envelopes back to back, no declaration, no separator', () => {
  const a = '<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><soap11:Body xmlns:soap11="http://schemas.xmlsoap.org/soap/envelope/"><x>1</x></soap11:Body></Envelope>';
  const b = a.replace('<x>1</x>', '<x>2</x>');
  assertFrames(a + b + a, { envelopes: [a, b, a] });
});

test('framer: any prefix, declarations, whitespace, comments and PIs between envelopes are skipped', () => {
  const s = '<s:Envelope xmlns:s="urn:s"><s:Body/></s:Envelope >';
  const soap = '<SOAP:Envelope xmlns:SOAP="urn:s"><SOAP:Body/></SOAP:Envelope>';
  const text = `<?xml version="1.0" encoding="utf-8"?>\r\n${s}\n\n<?xml version="1.0"?><!-- keep-alive -->\t<?pi x?> ${soap}  \n`;
  assertFrames(text, { envelopes: [s, soap] });
});

test("framer: '>' and '</Envelope>' inside attribute values of both quote kinds do not end the envelope", () => {
  // Literal '<' in an attribute is not well-formed XML (saxes rejects it later), but framing must still be right.
  const env = `<Envelope a="1 > 0" b='</Envelope>' c="it's </s:Envelope>" d='say "</Envelope>"'><t a=">" z="</Envelope>"/><u b='>' y='</s:Envelope> <Envelope>'>x > y</u></Envelope>`;
  assertFrames(env + env, { envelopes: [env, env] });
});

test("framer: '</Envelope>' inside comments, CDATA and processing instructions is not an end tag", () => {
  const env = '<Envelope><!-- </Envelope> -- > --><![CDATA[ </Envelope> ]] > ]]><?pi </Envelope> ? > ?><b/></Envelope>';
  assertFrames(env, { envelopes: [env] });
});

test('framer: nested elements whose local name is Envelope are counted; FooEnvelope and EnvelopeX are not', () => {
  const env = '<Envelope><x:Envelope><Envelope a="b"/><y:Envelope></y:Envelope></x:Envelope><t:FooEnvelope></t:FooEnvelope><EnvelopeX/></Envelope>';
  assertFrames(env + '<Envelope/>', { envelopes: [env, '<Envelope/>'] });
});

test('framer: a self-closed root envelope is a whole envelope', () => {
  assertFrames('<s:Envelope xmlns:s="urn:s" a="/>"/><Envelope/>', { envelopes: ['<s:Envelope xmlns:s="urn:s" a="/>"/>', '<Envelope/>'] });
});

test('framer: several envelopes in one push are all emitted before push returns', () => {
  const seen: string[] = [];
  const f = createEnvelopeFramer({ maxEnvelopeBytes: 1000, onEnvelope: (x) => seen.push(x) });
  f.push('<Envelope>1</Envelope><Envelope>2</Envelope><Envelope>3</Envelope><Envel');
  assert.deepEqual(seen, ['<Envelope>1</Envelope>', '<Envelope>2</Envelope>', '<Envelope>3</Envelope>']);
  assert.equal(f.buffered, '<Envel'.length);
  f.push('ope>4</Envelope>');
  assert.deepEqual(seen.at(-1), '<Envelope>4</Envelope>');
  assert.equal(f.buffered, 0);
});

test('framer: non-whitespace text between envelopes is a ProtocolError', () => {
  const r = frame(['<Envelope/>garbage<Envelope/>']);
  assert.deepEqual(r.envelopes, ['<Envelope/>']);
  assert.match(r.error ?? '', /unexpected text outside an envelope: "garbage<Envelope\/>"/);
});

test('framer: other roots, stray end tags and DOCTYPEs are ProtocolErrors', () => {
  assert.match(frame(['<html><body>502 Bad Gateway</body></html>']).error ?? '', /expected a SOAP Envelope, got: "<html>/);
  assert.match(frame(['<Envelope/></Envelope>']).error ?? '', /unexpected end tag outside an envelope/);
  assert.match(frame(['<!DOCTYPE x [<!ENTITY a "b">]><Envelope/>']).error ?? '', /unexpected markup declaration/);
  assert.match(frame(['<Envelope><!DOCTYPE x></Envelope>']).error ?? '', /unexpected markup declaration/);
  assert.match(frame(['<EnvelopeX/>']).error ?? '', /expected a SOAP Envelope/);
  assert.match(frame(['< Envelope/>']).error ?? '', /malformed tag/);
});

test('framer: error excerpts carry no control characters', () => {
  const r = frame(['<Envelope/>\u001b[31mred\u0007']);
  assert.ok(r.error);
  assert.doesNotMatch(r.error, /[\u0000-\u001f]/);
});

test('framer: end() inside an envelope or a declaration is a ProtocolError; after whole envelopes it is not', () => {
  assert.deepEqual(frame(['<Envelope><a>']), { envelopes: [], error: 'the stream ended inside an envelope' });
  assert.deepEqual(frame(['<Envelope/><s:Env']), { envelopes: ['<Envelope/>'], error: 'the stream ended inside an envelope' });
  assert.match(frame(['<Envelope/><?xml version="1.0"']).error ?? '', /ended inside markup between envelopes/);
  assert.deepEqual(frame(['<Envelope/>\n  ']), { envelopes: ['<Envelope/>'] });
  assert.deepEqual(frame(['']), { envelopes: [] });
});

test('framer: after an error every call throws the same ProtocolError', () => {
  const f = createEnvelopeFramer({ maxEnvelopeBytes: 100, onEnvelope: () => undefined });
  assert.throws(() => f.push('x'), ProtocolError);
  assert.throws(() => f.push('<Envelope/>'), /unexpected text outside an envelope/);
  assert.throws(() => f.end(), /unexpected text outside an envelope/);
});

test('framer: an endless envelope fails at the bound, and never holds more than the bound', () => {
  const max = 64 * 1024;
  const f = createEnvelopeFramer({ maxEnvelopeBytes: max, onEnvelope: () => assert.fail('nothing to emit') });
  const chunk = '<t:Item Id="' + 'A'.repeat(150) + '"/>x';
  let fed = 0;
  let failedAt = -1;
  let first: unknown;
  f.push('<Envelope>');
  while (fed < 10 * max) {
    try {
      f.push(chunk);
    } catch (err) {
      if (failedAt < 0) {
        failedAt = fed;
        first = err;
      }
      assert.equal(err, first, 'every later push throws the same error');
    }
    fed += chunk.length;
    assert.ok(f.buffered <= max, `buffered ${f.buffered} > ${max} after ${fed} characters`);
  }
  assert.ok(first instanceof ProtocolError);
  assert.match(first.message, /larger than the 65536-byte limit/);
  assert.ok(failedAt >= max - 2 * chunk.length && failedAt < max, `failed after ${failedAt} characters`);
  assert.equal(f.buffered, 0, 'the buffer is dropped');
});

test('framer: a complete envelope over the bound in one push is refused', () => {
  const big = `<Envelope>${'x'.repeat(200)}</Envelope>`;
  assert.match(frame([big], 100).error ?? '', /larger than the 100-byte limit/);
  assert.deepEqual(frame([big], big.length), { envelopes: [big] });
});

test('framer: a comment or PI between envelopes is skipped without being kept', () => {
  const f = createEnvelopeFramer({ maxEnvelopeBytes: 100_000, onEnvelope: () => undefined });
  for (const [open, close] of [['<!--', '-->'], ['<?pi ', '?>']]) {
    f.push(open);
    for (let i = 0; i < 400; i++) {
      f.push('-x- '.repeat(50));
      assert.ok(f.buffered <= 2, `buffered ${f.buffered}`);
    }
    f.push(close);
    f.push('<Envelope/>');
  }
  f.end();
});

test('framer: a comment between envelopes that never ends fails at the envelope bound, holding nothing', () => {
  const max = 64 * 1024;
  for (const open of ['<!--', '<?xml version="1.0"?><?pi ']) {
    const f = createEnvelopeFramer({ maxEnvelopeBytes: max, onEnvelope: () => undefined });
    f.push(`<Envelope/>${open}`);
    let fed = open.length;
    let error: unknown;
    while (fed < 10 * max && error === undefined) {
      try {
        f.push('- -- x'.repeat(100));
      } catch (err) {
        error = err;
      }
      fed += 600;
      assert.ok(f.buffered <= 2, `buffered ${f.buffered} after ${fed} characters`);
    }
    assert.ok(error instanceof ProtocolError, `${open}: no error after ${fed} characters`);
    assert.equal(error.message, `markup between envelopes is larger than the ${max}-byte limit`);
    assert.ok(fed > max && fed <= max + 1200, `${open}: failed after ${fed} characters`);
  }
});

test('framer: comment bound at every split: at the limit it passes, one character over it fails', () => {
  const envelope = '<Envelope/>';
  const comment = (n: number): string => `<!--${'x'.repeat(n - 7)}-->`;
  const max = 40;
  const ok = `${envelope}${comment(max)}${envelope}`;
  const over = `${envelope}${comment(max + 1)}${envelope}`;
  for (let i = 0; i <= ok.length; i++) {
    assert.deepEqual(frame([ok.slice(0, i), ok.slice(i)], max), { envelopes: [envelope, envelope] }, `split at ${i}`);
  }
  for (let i = 0; i <= over.length; i++) {
    assert.deepEqual(frame([over.slice(0, i), over.slice(i)], max), { envelopes: [envelope], error: `markup between envelopes is larger than the ${max}-byte limit` }, `split at ${i}`);
  }
  assert.deepEqual(frame([...over], max), { envelopes: [envelope], error: `markup between envelopes is larger than the ${max}-byte limit` }, 'one character at a time');
});

test('framer: one character at a time over a large envelope stays linear', () => {
  // A framer that rescanned or re-concatenated its buffer per push would need ~10^11 steps here.
  const attr = 'A'.repeat(200_000);
  const env = `<Envelope><t:Item Id="${attr}"/><!-- ${attr} --></Envelope>`;
  const out: string[] = [];
  const f = createEnvelopeFramer({ maxEnvelopeBytes: 1 << 20, onEnvelope: (x) => out.push(x) });
  const started = process.hrtime.bigint();
  for (let i = 0; i < env.length; i++) f.push(env[i]);
  f.end();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  assert.deepEqual(out, [env]);
  assert.ok(ms < 20_000, `took ${ms} ms`);
});

// ---- a generated differential test: random envelopes built from the constructs that trip framers, framed
// whole and in random chunks, must come back exactly as built.

function randomEnvelope(rnd: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const names = ['a', 't:ItemId', 'm:Notification', 'x:Envelope', 'Envelope', 'FooEnvelope', 'y:EnvelopeX', 'soap11:Body'];
  const values = ['', 'x', '>', '</Envelope>', '<Envelope>', "it's", 'a "q"', '/>', '-->', ']]>', '?>', 'Envelope'];
  const attr = (): string => {
    const v = pick(values);
    return v.includes('"') ? ` k='${v.replace(/'/g, '')}'` : rnd() < 0.5 ? ` k="${v}"` : ` k='${v.replace(/'/g, '')}'`;
  };
  const node = (depth: number): string => {
    const r = rnd();
    if (r < 0.15) return pick(['text > more', ' ', 'Envelope', '&lt;/Envelope&gt;']);
    if (r < 0.22) return `<!-- ${pick(values).replace('-->', '')} </Envelope> -->`;
    if (r < 0.28) return `<![CDATA[ ${pick(values).replace(']]>', '')} </Envelope> ]]>`;
    if (r < 0.33) return `<?pi ${pick(values).replace('?>', '')} ?>`;
    const name = pick(names);
    const attrs = Array.from({ length: Math.floor(rnd() * 3) }, attr).join('');
    if (depth > 3 || rnd() < 0.3) return `<${name}${attrs}${rnd() < 0.5 ? '/' : ' /'}>`;
    const kids = Array.from({ length: Math.floor(rnd() * 4) }, () => node(depth + 1)).join('');
    return `<${name}${attrs}>${kids}</${name}${rnd() < 0.2 ? ' ' : ''}>`;
  };
  const root = pick(['Envelope', 's:Envelope', 'SOAP:Envelope']);
  return `<${root}${attr()}>${Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => node(0)).join('')}</${root}>`;
}

test('framer: 300 generated streams come back exactly as built, whole and in random chunks', () => {
  const separators = ['', '\n', '<?xml version="1.0"?>', ' <!-- gap --> ', '\r\n\t'];
  for (let seed = 1; seed <= 300; seed++) {
    const rnd = seededRandom(seed);
    const envelopes = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => randomEnvelope(rnd));
    const text = envelopes.map((e) => separators[Math.floor(rnd() * separators.length)] + e).join('');
    assert.deepEqual(frame([text]), { envelopes }, `seed ${seed}: ${text}`);
    const chunks: string[] = [];
    for (let off = 0; off < text.length; ) {
      const n = 1 + Math.floor(rnd() * (rnd() < 0.5 ? 4 : 40));
      chunks.push(text.slice(off, off + n));
      off += n;
    }
    assert.deepEqual(frame(chunks), { envelopes }, `seed ${seed}, chunked: ${JSON.stringify(chunks)}`);
  }
});
