// The HTTP pieces of grouped subscriptions (src/ews/affinity.ts): the headers of a group's request and the
// X-BackEndOverrideCookie read from Set-Cookie, including the servers that send none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.js';
import { buildAffinityHeaders, describeOverrideCookie, extractOverrideCookie } from '../../src/ews/affinity.js';

const EXO = 'CO1PR06MB222.namprd06.prod.outlook.com~1941996295';

test('buildAffinityHeaders: the anchor and X-PreferServerAffinity: true; no Cookie until there is one', () => {
  assert.deepEqual(buildAffinityHeaders({ anchor: 'anchor@contoso.com' }), { 'X-AnchorMailbox': 'anchor@contoso.com', 'X-PreferServerAffinity': 'true' });
  assert.deepEqual(buildAffinityHeaders({ anchor: ' anchor@contoso.com ', cookie: EXO }), {
    'X-AnchorMailbox': 'anchor@contoso.com',
    'X-PreferServerAffinity': 'true',
    Cookie: `X-BackEndOverrideCookie=${EXO}`,
  });
});

test('buildAffinityHeaders: a value a header cannot carry is a UsageError (no header injection)', () => {
  for (const anchor of ['', '  ', 'a@b.c\r\nX-Evil: 1', 'a\u0000@b.c', 'a\u2028b@c.d', 'a@b.c\u0085x']) {
    assert.throws(() => buildAffinityHeaders({ anchor }), UsageError, JSON.stringify(anchor));
  }
  for (const cookie of ['', 'a;b', 'a b', 'a\r\nb', 'x'.repeat(1025)]) {
    assert.throws(() => buildAffinityHeaders({ anchor: 'a@b.c', cookie }), UsageError, JSON.stringify(cookie.slice(0, 20)));
  }
});

test("extractOverrideCookie: Exchange's Set-Cookie list (Learn's and Microsoft's sample's shapes)", () => {
  const answer = [
    `X-BackEndOverrideCookie=${EXO}; path=/; secure; HttpOnly`,
    'X-BackEndCookie=sadie@contoso.com=u56Lnp2ejJqBzc/KnM3Lz8/SnMnJx9LLz8bH0sbGx87Sy5vMy8jNz8nIz5ueis/Pz8/Pz8/Pz8/Pz8/Pz8/P; expires=Fri, 01-Jan-2100 00:00:00 GMT; path=/EWS; secure; HttpOnly',
    'exchangecookie=42f6f1e4d7a94ca3a1d6be1e9a4e7c55; path=/',
  ];
  assert.equal(extractOverrideCookie(answer), EXO);
  // The same list joined into one header, as Headers.get('set-cookie') returns it (an Expires date holds ", ").
  assert.equal(extractOverrideCookie([...answer].reverse().join(', ')), EXO);
  assert.equal(extractOverrideCookie(`x-backendoverridecookie=DB7PR04MB4764.EURPRD04.PROD.OUTLOOK.COM~1943310282; path=/`), 'DB7PR04MB4764.EURPRD04.PROD.OUTLOOK.COM~1943310282');
});

test('extractOverrideCookie: no cookie is not an error (servers were seen not to send it)', () => {
  assert.equal(extractOverrideCookie(undefined), undefined);
  assert.equal(extractOverrideCookie(null), undefined);
  assert.equal(extractOverrideCookie([]), undefined);
  assert.equal(extractOverrideCookie(['exchangecookie=abc; path=/']), undefined);
  assert.equal(extractOverrideCookie('X-BackEndCookie=a@b.c=xyz; path=/EWS'), undefined);
});

test('extractOverrideCookie: unusable values are left out; Max-Age=0 clears; the last one wins', () => {
  assert.equal(extractOverrideCookie('X-BackEndOverrideCookie=; path=/'), undefined);
  assert.equal(extractOverrideCookie(`X-BackEndOverrideCookie=${'x'.repeat(1025)}; path=/`), undefined);
  assert.equal(extractOverrideCookie('X-BackEndOverrideCookie=a\u0007b; path=/'), undefined);
  assert.equal(extractOverrideCookie('X-BackEndOverrideCookie="quoted~1"; path=/'), 'quoted~1');
  assert.equal(extractOverrideCookie([`X-BackEndOverrideCookie=${EXO}; path=/`, 'X-BackEndOverrideCookie=gone; Max-Age=0']), undefined);
  assert.equal(extractOverrideCookie(['X-BackEndOverrideCookie=first~1', 'X-BackEndOverrideCookie=second~2']), 'second~2');
});

test('describeOverrideCookie: <backend FQDN>~<number>, for log lines; other shapes are undefined', () => {
  assert.deepEqual(describeOverrideCookie(EXO), { backend: 'CO1PR06MB222.namprd06.prod.outlook.com', number: '1941996295' });
  assert.deepEqual(describeOverrideCookie('EXSIM01.contoso.local~7'), { backend: 'EXSIM01.contoso.local', number: '7' });
  for (const v of ['', 'host', 'host~', '~1', 'ho st~1', 'host~1~2', 'host~x']) assert.equal(describeOverrideCookie(v), undefined, v);
});
