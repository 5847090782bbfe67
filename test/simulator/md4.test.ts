// The simulator's own MD4: the RFC 1320 test suite, the well-known NT hash of "Password", and agreement with an
// independent implementation (js-md4, which @ewsjs/ntlm-client depends on) across every padding boundary.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { md4 } from '../../src/simulator/md4.js';
import { ntHash } from '../../src/simulator/ntlm.js';

// Resolved from the NTLM client package so it is found whether npm hoisted it or not.
const requireFromClient = createRequire(createRequire(import.meta.url).resolve('@ewsjs/ntlm-client'));
const jsMd4 = requireFromClient('js-md4') as { hex(data: Uint8Array): string };

describe('md4', () => {
  test('RFC 1320 appendix A.5 test suite', () => {
    const suite: [string, string][] = [
      ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
      ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
      ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
      ['message digest', 'd9130a8164549fe818874806e1c7014b'],
      ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
      ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
      ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', 'e33b4ddc9c38f2199c3e7b164fcc0536'],
    ];
    for (const [input, digest] of suite) assert.equal(md4(Buffer.from(input, 'ascii')).toString('hex'), digest, JSON.stringify(input));
  });

  test('NT hashes (MD4 of the UTF-16LE password): "password" and MS-NLMP 4.2.2.1.2 "Password"', () => {
    // The widely quoted 8846f7ea… is the hash of lower-case "password"; the spec's "Password" gives a4f49c40….
    assert.equal(ntHash('password').toString('hex'), '8846f7eaee8fb117ad06bdd830b7586c');
    assert.equal(ntHash('Password').toString('hex'), 'a4f49c406510bdcab6824ee7c30fd852');
  });

  test('agrees with js-md4 for every length from 0 to 200 bytes and a 1 MiB input', () => {
    for (let length = 0; length <= 200; length++) {
      const data = Buffer.alloc(length, 0).map((_, i) => (i * 131 + length * 7) & 0xff);
      assert.equal(md4(data).toString('hex'), jsMd4.hex(data), `length ${length}`);
    }
    const big = Buffer.alloc(1024 * 1024).map((_, i) => (i ^ (i >>> 8)) & 0xff);
    assert.equal(md4(big).toString('hex'), jsMd4.hex(big));
  });
});
