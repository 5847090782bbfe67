import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createSecretRegistry, looksLikeCredential, redactCredentialsIn, secretsSentIn, type SecretKind } from '../../src/term/redact.js';

// base64("alice@contoso.com:~s3cr>?t>>>?~") holds all three of + / = (asserted below).
const PAIR = 'alice@contoso.com:~s3cr>?t>>>?~';
const B64 = Buffer.from(PAIR, 'utf8').toString('base64');

/** Every piece of `secret` this long that is still in `text`, for messages. */
function pieces(text: string, secret: string, len: number): string[] {
  const out: string[] = [];
  for (let i = 0; i + len <= secret.length; i++) if (text.includes(secret.slice(i, i + len))) out.push(secret.slice(i, i + len));
  return out;
}

function registryWith(...values: [string, SecretKind][]) {
  const r = createSecretRegistry();
  for (const [v, k] of values) r.add(v, k);
  return r;
}

describe('secret registry', () => {
  it('the test credential really has + / and =', () => {
    assert.match(B64, /\+/);
    assert.match(B64, /\//);
    assert.match(B64, /=$/);
  });

  it('hides a registered value wherever it is, whole', () => {
    const r = registryWith(['s3cret-pw', 'secret'], [B64, 'credential']);
    assert.equal(r.redact('pw s3cret-pw and s3cret-pw; token ' + B64 + '!'), 'pw [redacted] and [redacted]; token [redacted]!');
  });

  it('hides the start of a credential that an excerpt cut off, and any 12 characters of it in a row', () => {
    const r = registryWith([B64, 'credential']);
    // Cut at the end of the text, or before "..." / "…" as servers mark a cut.
    for (const n of [8, 9, 11, 20]) {
      assert.equal(r.redact(`echo ${B64.slice(0, n)}`), 'echo [redacted]', `prefix of ${n}`);
      assert.equal(r.redact(`echo ${B64.slice(0, n)}... more`), 'echo [redacted]... more');
    }
    // A middle piece (the excerpt started inside it, or the server re-wrapped it).
    assert.equal(r.redact(`x ${B64.slice(5, 25)} y`), 'x [redacted] y');
    // Fewer than 8 characters of a start mean nothing.
    assert.equal(r.redact(`echo ${B64.slice(0, 7)}`), `echo ${B64.slice(0, 7)}`);
  });

  it('hides a credential that the server HTML-escaped, percent-encoded or JSON-escaped', () => {
    const r = registryWith([B64, 'credential']);
    const forms = [
      B64.replace(/\+/g, '&#43;').replace(/\//g, '&#x2F;').replace(/=/g, '&#61;'),
      B64.replace(/\+/g, '&plus;').replace(/\//g, '&sol;').replace(/=/g, '&equals;'),
      B64.replace(/\+/g, '%2B').replace(/\//g, '%2f').replace(/=/g, '%3D'),
      B64.replace(/\//g, '\\/').replace(/\+/g, '\\u002b').replace(/=/g, '\\u003D'),
    ];
    for (const form of forms) {
      const out = r.redact(`<p>Request: ${form}</p>`);
      assert.equal(out, '<p>Request: [redacted]</p>', form);
    }
    // Cut as well as escaped.
    const cut = forms[2]!.slice(0, 30);
    const out = r.redact(`Authorization=${cut}`);
    assert.deepEqual(pieces(out, B64, 6), []);
  });

  it('hides a password with characters that HTML and JSON escape', () => {
    const r = registryWith(['p<w"&d', 'secret']);
    assert.equal(r.redact('a p&lt;w&quot;&amp;d b'), 'a [redacted] b');
    assert.equal(r.redact('{"m":"p<w\\"&d"}'), '{"m":"[redacted]"}');
  });

  it('user:password is hidden whole, but the user name alone stays readable', () => {
    const r = registryWith([PAIR, 'login']);
    assert.equal(r.redact(`decoded ${PAIR}.`), 'decoded [redacted].');
    assert.equal(r.redact('x-anchormailbox: alice@contoso.com'), 'x-anchormailbox: alice@contoso.com');
  });

  it('cookies are hidden whole only: the mailbox name inside one stays readable elsewhere', () => {
    const r = registryWith(['alice@contoso.com=dGhpc2lzb3BhcXVl', 'cookie']);
    assert.equal(r.redact('watching inbox of alice@contoso.com'), 'watching inbox of alice@contoso.com');
    assert.equal(r.redact('saw alice@contoso.com=dGhpc2lzb3BhcXVl here'), 'saw [redacted] here');
    // Short cookie values ("1", "true") are not secrets and would blank ordinary words.
    const short = registryWith(['true', 'cookie']);
    assert.equal(short.redact('x-preferserveraffinity: true'), 'x-preferserveraffinity: true');
  });

  it('the zero runs of an NTLM message do not blank ordinary ids', () => {
    const type1 = 'TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==';
    const r = registryWith([type1, 'credential']);
    assert.equal(r.redact('item AAMkAAAAAAAAAAAAAAAAAAAAAAAAAA'), 'item AAMkAAAAAAAAAAAAAAAAAAAAAAAAAA');
    assert.equal(r.redact(`a ${type1.slice(0, 16)}`), 'a [redacted]');
  });

  it('keeps the secrets of the run and the latest credentials, not every credential ever sent', () => {
    const r = createSecretRegistry();
    r.add('the-password', 'secret');
    const tokens = Array.from({ length: 200 }, () => randomBytes(18).toString('base64'));
    for (const t of tokens) r.add(t, 'credential');
    assert.equal(r.redact('the-password'), '[redacted]');
    assert.equal(r.redact(tokens[199]!), '[redacted]');
    assert.equal(r.redact(`said ${tokens[0]!}`).includes('[redacted]'), false, 'the oldest was let go');
  });

  it('text with no secret in it comes back unchanged', () => {
    const r = registryWith(['s3cret-pw', 'secret'], [B64, 'credential']);
    const line = 'Subscribe: HTTP 503 from the server (Service Unavailable); reconnecting in 2 s';
    assert.equal(r.redact(line), line);
    assert.equal(r.redact(''), '');
  });
});

describe('credentials in server text, registered or not', () => {
  it('hides what follows an auth scheme word', () => {
    assert.equal(redactCredentialsIn(`Authorization: Basic ${B64}`), 'Authorization: Basic [redacted]');
    assert.equal(redactCredentialsIn('authorization: NTLM TlRMTVNTUAADAAAAGAAYAEgAAAA'), 'authorization: NTLM [redacted]');
    assert.equal(redactCredentialsIn('auth was Bearer eyJ0eXAiOiJKV1Qi.eyJhdWQiOi.sig_-x and more'), 'auth was Bearer [redacted] and more');
    assert.equal(redactCredentialsIn('Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnag'), 'Negotiate [redacted]');
    // Cut short by an excerpt: the start alone is hidden too.
    assert.equal(redactCredentialsIn('Authorization: Basic YWxpY2'), 'Authorization: Basic [redacted]');
  });

  it('hides it in HTML tables, JSON and percent-encoded text', () => {
    assert.equal(redactCredentialsIn('<tr><td>Authorization</td><td>Basic YWxpY2U6cHc=</td></tr>'), '<tr><td>Authorization</td><td>Basic [redacted]</td></tr>');
    assert.equal(redactCredentialsIn('{"authorization":"Bearer abc123def456"}'), '{"authorization":"Bearer [redacted]"}');
    assert.equal(redactCredentialsIn('body=Authorization%3A%20Basic%20YWxpY2U6cHc%3D%0D%0A'), 'body=Authorization%3A%20Basic%20[redacted]');
    assert.equal(redactCredentialsIn('Authorization: Basic YWxp&#43;Y2U6&#x2F;cHc&#61;'), 'Authorization: Basic [redacted]');
    assert.equal(redactCredentialsIn('HTTP_AUTHORIZATION=YWxpY2U6cHc9PT0xMjM='), 'HTTP_AUTHORIZATION=[redacted]');
  });

  it('hides cookie values after a Cookie label and keeps their names', () => {
    assert.equal(
      redactCredentialsIn('Cookie: X-BackEndOverrideCookie=EXSIM01.contoso.local~1941996295; X-BackEndCookie=alice@contoso.com=abc'),
      'Cookie: X-BackEndOverrideCookie=[redacted]; X-BackEndCookie=[redacted]',
    );
    assert.equal(redactCredentialsIn('<td>Cookie</td><td>exchangecookie=0123abcd</td>'), '<td>Cookie</td><td>exchangecookie=[redacted]</td>');
    assert.equal(redactCredentialsIn('"Set-Cookie": "sid=Zm9v; path=/"'), '"Set-Cookie": "sid=[redacted]; path=[redacted]"');
  });

  it('leaves words alone: scheme lists, realms, sentences', () => {
    for (const line of [
      'auth: the server offers Negotiate, NTLM, Basic realm="mail.contoso.com"; using NTLM (preferred: the password never crosses the wire)',
      'auth: NTLM sign-in done on the stream connection',
      '> POST /EWS/Exchange.asmx (Subscribe, NTLM negotiate)',
      'Basic authentication is disabled on this virtual directory.',
      'Bearer error="invalid_token", error_description="expired"',
      'authorization failed for alice@contoso.com',
      'the X-BackEndOverrideCookie is missing; exchangecookie too',
      'ok    signed in with basic (chosen by --auth auto; the server offers Basic)',
      '> authorization: Basic [redacted]',
    ]) {
      assert.equal(redactCredentialsIn(line), line);
    }
  });

  it('tells credentials from words', () => {
    assert.deepEqual(
      ['YWxpY2', 'realm=', 'tokens', 'sign-in', 'TlRMTVNT', 'abc%2Bdef', 'eyJ0eXAi', 'authentication', 'v2'].map(looksLikeCredential),
      [true, false, false, false, true, true, true, false, false],
    );
  });
});

describe('what a request sends', () => {
  it('Basic gives its token, user:password and the password; cookies give their values', () => {
    const sent = secretsSentIn({ authorization: `Basic ${B64}`, cookie: 'X-BackEndOverrideCookie=EXSIM01~1; exchangecookie=abcdef0123', accept: 'text/xml' });
    assert.deepEqual(sent, [
      [B64, 'credential'],
      [PAIR, 'login'],
      ['~s3cr>?t>>>?~', 'secret'],
      ['EXSIM01~1', 'cookie'],
      ['abcdef0123', 'cookie'],
    ]);
  });
  it('NTLM and Bearer give their token', () => {
    assert.deepEqual(secretsSentIn({ authorization: 'NTLM TlRMTVNTUAADAAAA' }), [['TlRMTVNTUAADAAAA', 'credential']]);
    assert.deepEqual(secretsSentIn({ 'Proxy-Authorization': 'Bearer abc.def.ghi' }), [['abc.def.ghi', 'credential']]);
  });
});
