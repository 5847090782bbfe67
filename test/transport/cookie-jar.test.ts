import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCookieJar } from '../../src/transport/cookie-jar.js';

describe('cookie jar', () => {
  it('replays what the server set, one header, names and values only', () => {
    const jar = createCookieJar();
    assert.equal(jar.header(0), undefined);
    jar.store(['X-BackEndOverrideCookie=CO1PR06MB222.namprd06.prod.outlook.com~1941996295; path=/; secure; HttpOnly', 'exchangecookie=abc; path=/'], 0);
    assert.equal(jar.header(0), 'X-BackEndOverrideCookie=CO1PR06MB222.namprd06.prod.outlook.com~1941996295; exchangecookie=abc');
  });
  it('a later value replaces an earlier one; Max-Age=0 removes it; expiry is honoured', () => {
    const jar = createCookieJar();
    jar.store('a=1', 0);
    jar.store('a=2', 0);
    jar.store('b=1; Max-Age=10', 0);
    assert.equal(jar.header(0), 'a=2; b=1');
    assert.equal(jar.header(10_000), 'a=2');
    jar.store('a=; Max-Age=0', 0);
    assert.equal(jar.header(0), undefined);
  });
  it('ignores malformed cookies and bounds its size', () => {
    const jar = createCookieJar();
    jar.store(['no-equals-sign', '=novalue', 'bad name=x', `big=${'x'.repeat(5000)}`], 0);
    assert.equal(jar.header(0), undefined);
    jar.store(Array.from({ length: 80 }, (_, i) => `c${i}=v`), 0);
    assert.equal(jar.header(0)?.split('; ').length, 50);
  });
});
