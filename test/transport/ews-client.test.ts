import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AuthError, EwsResponseError, TransportError } from '../../src/errors.js';
import { checkStatus } from '../../src/transport/ews-client.js';

const busyFault = `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>
<faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorServerBusy</faultcode>
<faultstring xml:lang="en-US">The server cannot service this request right now. Try again later.</faultstring>
<detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorServerBusy</e:ResponseCode>
<e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">The server cannot service this request right now. Try again later.</e:Message>
<t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:Value Name="BackOffMilliseconds">299984</t:Value></t:MessageXml>
</detail></s:Fault></s:Body></s:Envelope>`;

describe('HTTP status → error', () => {
  it('200 passes (faults inside are the decoders\' business)', () => {
    assert.equal(checkStatus(200, busyFault, 'Subscribe', 'alice'), undefined);
  });
  it('401 and 403 are AuthErrors told apart, each saying what to check', () => {
    assert.throws(
      () => checkStatus(401, '', 'Subscribe', 'alice@contoso.com'),
      (e: unknown) => e instanceof AuthError && e.status === 401 && /rejected the credentials of alice@contoso.com \(HTTP 401\)\. Check EWS_USER/.test(e.message),
    );
    assert.throws(
      () => checkStatus(403, '', 'Subscribe', 'alice'),
      (e: unknown) => e instanceof AuthError && e.status === 403 && /forbidden .*HTTP 403.*allow EWS/.test(e.message),
    );
  });
  it('a 500 SOAP fault becomes an EwsResponseError that keeps BackOffMilliseconds', () => {
    assert.throws(
      () => checkStatus(500, busyFault, 'GetStreamingEvents', 'alice'),
      (e: unknown) => e instanceof EwsResponseError && e.responseCode === 'ErrorServerBusy' && e.backOffMs === 299984,
    );
  });
  it('other statuses become TransportErrors with the status and a short, control-free excerpt', () => {
    const html = '<html><body><h1>Service \u001b[31mUnavailable</h1>' + 'x'.repeat(500) + '</body></html>';
    assert.throws(
      () => checkStatus(503, html, 'Subscribe', 'alice'),
      (e: unknown) => e instanceof TransportError && e.status === 503 && /^Subscribe: HTTP 503 from the server \(Service \[31mUnavailable x+\)$/.test(e.message) && e.message.length < 200,
    );
  });
  it('the shared ErrorServerBusy fault sample decodes the same way, when ../shared is there', (t) => {
    let text: string;
    try {
      text = readFileSync(new URL('../../../../shared/ews-samples/exchangelib-errorserverbusy-fault.xml', import.meta.url), 'utf8');
    } catch {
      t.skip('../shared not found: sample test skipped');
      return;
    }
    assert.throws(() => checkStatus(500, text, 'Subscribe', 'a'), (e: unknown) => e instanceof EwsResponseError && e.backOffMs === 297749);
  });
});
