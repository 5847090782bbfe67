import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger, redactHeaderLine } from '../../src/term/logger.js';

describe('redaction', () => {
  it('hides Authorization values but keeps the scheme', () => {
    assert.equal(redactHeaderLine('> authorization: Basic YWxpY2U6czNjcmV0'), '> authorization: Basic [redacted]');
    assert.equal(redactHeaderLine('> Authorization: Bearer eyJ0eXAi.abc.def'), '> Authorization: Bearer [redacted]');
  });
  it('hides cookie values but keeps their names', () => {
    assert.equal(redactHeaderLine('> cookie: X-BackEndOverrideCookie=CO1PR06~1941996295; exchangecookie=abc'), '> cookie: X-BackEndOverrideCookie=[redacted]; exchangecookie=[redacted]');
    assert.equal(redactHeaderLine('< set-cookie: X-BackEndOverrideCookie=CO1PR06~19; path=/; HttpOnly'), '< set-cookie: X-BackEndOverrideCookie=[redacted]');
  });
  it('leaves other headers alone', () => {
    assert.equal(redactHeaderLine('> x-anchormailbox: alice@contoso.com'), '> x-anchormailbox: alice@contoso.com');
  });
  it('a registered secret never appears anywhere in a line, at any verbosity', () => {
    const out: string[] = [];
    const log = createLogger((t) => out.push(t), 1);
    log.addSecret('s3cret-pw');
    log.debug('password is s3cret-pw, twice: s3cret-pw');
    log.error('failed for s3cret-pw');
    assert.deepEqual(out, ['ews-watch: password is [redacted], twice: [redacted]\n', 'ews-watch: failed for [redacted]\n']);
  });
  it('verbosity gates debug and info but never errors', () => {
    const out: string[] = [];
    const quiet = createLogger((t) => out.push(t), -1);
    quiet.debug('d');
    quiet.info('i');
    quiet.warn('w');
    quiet.error('e');
    assert.deepEqual(out, ['ews-watch: e\n']);
  });
  it('every line is cleaned of escape sequences, controls and bidi overrides, after redaction (one place for all call sites)', () => {
    const out: string[] = [];
    const log = createLogger((t) => out.push(t), 1);
    // A secret with a control character in it is still hidden whole: redaction sees the text as it came.
    log.addSecret('pa\u0007ss-word');
    log.warn('Folder \u001b]52;c;ZXZpbA==\u0007Pay\u001b[31mRED\u001b[0m \u009b2J\u202eevil\u202c no longer exists');
    log.error('denied for pa\u0007ss-word\r\nsecond line\tkept');
    assert.deepEqual(out, ['ews-watch: warning: Folder PayRED evil no longer exists\n', 'ews-watch: denied for [redacted]\nsecond line\tkept\n']);
  });
});
