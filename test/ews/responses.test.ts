// Decoders of ordinary answers: Subscribe, Unsubscribe, faults, ServerVersionInfo. Inline samples first (they run
// without ../shared), then every shared sample whose kind fits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EwsResponseError, ProtocolError } from '../../src/errors.js';
import { decodeFault, decodeServerVersion, decodeSubscribeResponse, decodeUnsubscribeResponse, MAX_RESPONSE_BYTES } from '../../src/ews/responses.js';
import { sharedDir } from '../support/shared.js';

const SUB = 'JgBibjFwcjAzbWIyMDIubmFtcHJkMDMucHJvZC5vdXRsb29rLmNvbRAAAADwXxVesOnHS5BxUHKwAW88SHjwd1iB0Ag=';
// protocol-notes.md §1.3 (real Exchange Online 15.0.785.6 answer, namespaces fixed)
const SUBSCRIBE_OK = `<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">
  <s:Header>
    <h:ServerVersionInfo MajorVersion="15" MinorVersion="0" MajorBuildNumber="785" MinorBuildNumber="6" Version="V2_6"
        xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types" xmlns="http://schemas.microsoft.com/exchange/services/2006/types"/>
  </s:Header>
  <s:Body>
    <m:SubscribeResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">
      <m:ResponseMessages>
        <m:SubscribeResponseMessage ResponseClass="Success">
          <m:ResponseCode>NoError</m:ResponseCode>
          <m:SubscriptionId>${SUB}</m:SubscriptionId>
        </m:SubscribeResponseMessage>
      </m:ResponseMessages>
    </m:SubscribeResponse>
  </s:Body>
</s:Envelope>`;

const errorAnswer = (op: string, inner: string): string =>
  `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:${op}Response xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages><m:${op}ResponseMessage ResponseClass="Error">${inner}</m:${op}ResponseMessage></m:ResponseMessages></m:${op}Response></s:Body></s:Envelope>`;

interface Expected {
  responseCode?: string;
  backOffMs?: number;
  subscriptionIds?: readonly string[];
  message?: RegExp | string;
}

function rejects(fn: () => unknown, expected: Expected): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof EwsResponseError, String(err));
    for (const [k, v] of Object.entries(expected)) {
      const actual: unknown = (err as unknown as Record<string, unknown>)[k];
      if (v instanceof RegExp) assert.match(String(actual), v, k);
      else assert.deepEqual(actual, v, k);
    }
    return true;
  });
}

test('decodeSubscribeResponse: the SubscriptionId and the server version', () => {
  assert.deepEqual(decodeSubscribeResponse(SUBSCRIBE_OK), {
    subscriptionId: SUB,
    serverVersion: { majorVersion: 15, minorVersion: 0, majorBuildNumber: 785, minorBuildNumber: 6, version: 'V2_6' },
  });
  assert.deepEqual(decodeSubscribeResponse('\ufeff' + SUBSCRIBE_OK.replace(/<s:Header>[^]*<\/s:Header>/, '')), { subscriptionId: SUB });
});

test('decodeSubscribeResponse: an absurd SubscriptionId (over 1024 characters, limits.ts) is a ProtocolError, not a subscription', () => {
  const long = 'S'.repeat(1025);
  assert.throws(() => decodeSubscribeResponse(SUBSCRIBE_OK.replace(SUB, long)), (err: unknown) => err instanceof ProtocolError && /absurd SubscriptionId \(1025 characters\)/.test(err.message));
  assert.equal(decodeSubscribeResponse(SUBSCRIBE_OK.replace(SUB, long.slice(1))).subscriptionId.length, 1024);
});

test('decodeSubscribeResponse: an error message throws EwsResponseError with code, text, back-off and ids', () => {
  rejects(
    () =>
      decodeSubscribeResponse(
        errorAnswer(
          'Subscribe',
          '<m:MessageText>The server cannot service this request right now.</m:MessageText><m:ResponseCode>ErrorServerBusy</m:ResponseCode><m:MessageXml><t:Value Name="BackOffMilliseconds">299984</t:Value></m:MessageXml>',
        ),
      ),
    { responseCode: 'ErrorServerBusy', backOffMs: 299984, subscriptionIds: [], message: 'ErrorServerBusy: The server cannot service this request right now.' },
  );
  rejects(
    () => decodeSubscribeResponse(errorAnswer('Subscribe', '<m:ResponseCode>ErrorSubscriptionDelegateAccessNotSupported</m:ResponseCode>')),
    { responseCode: 'ErrorSubscriptionDelegateAccessNotSupported', backOffMs: undefined, message: 'ErrorSubscriptionDelegateAccessNotSupported' },
  );
});

test('decodeSubscribeResponse: server text in an error message loses its control characters', () => {
  rejects(() => decodeSubscribeResponse(errorAnswer('Subscribe', '<m:ResponseCode>ErrorAccessDenied</m:ResponseCode><m:MessageText>no\u009b31m &#10;entry</m:MessageText>')), {
    responseCode: 'ErrorAccessDenied',
    message: 'ErrorAccessDenied: no 31m entry',
  });
});

test('decodeSubscribeResponse: a SOAP fault throws EwsResponseError with BackOffMilliseconds (protocol-notes.md §4.4)', () => {
  const fault = `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>
<faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorServerBusy</faultcode>
<faultstring xml:lang="en-US">The server cannot service this request right now. Try again later.</faultstring>
<detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorServerBusy</e:ResponseCode>
<t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:Value Name="BackOffMilliseconds">299984</t:Value></t:MessageXml>
</detail></s:Fault></s:Body></s:Envelope>`;
  rejects(() => decodeSubscribeResponse(fault), { responseCode: 'ErrorServerBusy', backOffMs: 299984 });
  assert.deepEqual(decodeFault(fault), {
    responseCode: 'ErrorServerBusy',
    messageText: 'The server cannot service this request right now. Try again later.',
    backOffMs: 299984,
    subscriptionIds: [],
    fault: true,
  });
});

test('decodeSubscribeResponse: bodies that are not EWS envelopes are ProtocolErrors with a short clean excerpt', () => {
  const cases: [string, RegExp][] = [
    ['<html><head><title>502\u001b[2J Bad Gateway</title></head><body>', /not well-formed XML: "<html><head><title>502 \[2J Bad Gateway<\/title><\/head><body>"/],
    ['<html><body>Service Unavailable</body></html>', /not a SOAP envelope: "<html>/],
    ['', /not well-formed XML/],
    ['Server Error in \'/EWS\' Application.', /not well-formed XML: "Server Error in '\/EWS' Application\."/],
    ['<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"/>', /no Body/],
    [SUBSCRIBE_OK.replace(/<m:SubscriptionId>[^<]*<\/m:SubscriptionId>/, ''), /has no SubscriptionId/],
    [SUBSCRIBE_OK.replace(/<m:ResponseMessages>[^]*<\/m:ResponseMessages>/, ''), /has no response message/],
  ];
  for (const [body, message] of cases) {
    assert.throws(() => decodeSubscribeResponse(body), (err: unknown) => {
      assert.ok(err instanceof ProtocolError, String(err));
      assert.match(err.message, message);
      assert.doesNotMatch(err.message, /[\u0000-\u001f]/);
      assert.ok(err.message.length < 200, err.message);
      return true;
    });
  }
});

test('responses: input over the size bound is refused before parsing', () => {
  const huge = SUBSCRIBE_OK.replace('<s:Body>', `<s:Body><!--${'x'.repeat(MAX_RESPONSE_BYTES)}-->`);
  assert.throws(() => decodeSubscribeResponse(huge), /larger than 8388608 bytes/);
  assert.throws(() => decodeFault(huge), ProtocolError);
});

test('decodeUnsubscribeResponse: success returns, errors throw', () => {
  const ok = errorAnswer('Unsubscribe', '<m:ResponseCode>NoError</m:ResponseCode>').replace('ResponseClass="Error"', 'ResponseClass="Success"');
  assert.equal(decodeUnsubscribeResponse(ok), undefined);
  rejects(() => decodeUnsubscribeResponse(errorAnswer('Unsubscribe', '<m:MessageText>The specified subscription was not found.</m:MessageText><m:ResponseCode>ErrorSubscriptionNotFound</m:ResponseCode>')), {
    responseCode: 'ErrorSubscriptionNotFound',
  });
});

test('decodeFault: undefined for an envelope that is not a fault; a ProtocolError for a body that is not one', () => {
  assert.equal(decodeFault(SUBSCRIBE_OK), undefined);
  assert.throws(() => decodeFault('<html/>'), ProtocolError);
});

test('decodeServerVersion: attributes as numbers, non-numbers left out, absent → undefined', () => {
  assert.deepEqual(decodeServerVersion(SUBSCRIBE_OK), { majorVersion: 15, minorVersion: 0, majorBuildNumber: 785, minorBuildNumber: 6, version: 'V2_6' });
  const odd = SUBSCRIBE_OK.replace('MajorVersion="15"', 'MajorVersion="fifteen"').replace(' Version="V2_6"', '');
  assert.deepEqual(decodeServerVersion(odd), { minorVersion: 0, majorBuildNumber: 785, minorBuildNumber: 6 });
  assert.equal(decodeServerVersion(errorAnswer('Unsubscribe', '')), undefined);
});

// ---- samples written by others

function sample(t: { skip(msg: string): void }, file: string): string | undefined {
  const dir = sharedDir();
  const path = dir ? join(dir, 'ews-samples', file) : undefined;
  if (!path || !existsSync(path)) {
    t.skip(`../shared not found: ${file} skipped`);
    return undefined;
  }
  return readFileSync(path, 'utf8');
}

test('shared: subscribe responses give their SubscriptionId', (t) => {
  const gromox = sample(t, 'gromox217-subscribe-response.xml');
  if (!gromox) return;
  assert.deepEqual(decodeSubscribeResponse(gromox), {
    subscriptionId: 'BAAAAAFAAAAA',
    serverVersion: { majorVersion: 15, minorVersion: 0, majorBuildNumber: 847, minorBuildNumber: 4040 },
  });
  // The docs' sample uses the wrong https:// SOAP namespace; matching by local name still reads it.
  const msdocs = sample(t, 'msdocs-howto-subscribe-response.xml');
  if (!msdocs) return;
  assert.equal(decodeSubscribeResponse(msdocs).subscriptionId, SUB);
});

test('shared: unsubscribe answers (Microsoft docs and gromox 2.17 with its nesting bug)', (t) => {
  const ok = sample(t, 'gromox217-unsubscribe-response.xml');
  const gromoxErr = sample(t, 'gromox217-unsubscribe-error-subscriptionnotfound.xml');
  const msdocsErr = sample(t, 'msdocs-unsubscribe-error-subscriptionnotfound.xml');
  if (!ok || !gromoxErr || !msdocsErr) return;
  assert.equal(decodeUnsubscribeResponse(ok), undefined);
  rejects(() => decodeUnsubscribeResponse(gromoxErr), { responseCode: 'ErrorSubscriptionNotFound', message: 'ErrorSubscriptionNotFound: Subscription not found' });
  rejects(() => decodeUnsubscribeResponse(msdocsErr), { responseCode: 'ErrorSubscriptionNotFound', message: 'ErrorSubscriptionNotFound: The specified subscription was not found.' });
});

test('shared: faults give their codes and back-offs', (t) => {
  const busy = sample(t, 'exchangelib-errorserverbusy-fault.xml');
  const schema = sample(t, 'ews-rs-errorschemavalidation-fault.xml');
  const conn = sample(t, 'ews-rs-errorexceededconnectioncount-fault.xml');
  const gromox = sample(t, 'gromox217-getstreamingevents-bad-id-fault.xml');
  if (!busy || !schema || !conn || !gromox) return;
  assert.deepEqual(decodeFault(busy), {
    responseCode: 'ErrorServerBusy',
    messageText: 'The server cannot service this request right now. Try again later.',
    backOffMs: 297749,
    subscriptionIds: [],
    fault: true,
  });
  rejects(() => decodeSubscribeResponse(busy), { responseCode: 'ErrorServerBusy', backOffMs: 297749 });
  const s = decodeFault(schema);
  assert.equal(s?.responseCode, 'ErrorSchemaValidation');
  assert.match(s?.messageText ?? '', /^The request failed schema validation: The 'Id' attribute is invalid/);
  assert.equal(s?.backOffMs, undefined);
  assert.deepEqual(decodeFault(conn) && { code: decodeFault(conn)?.responseCode, backOff: decodeFault(conn)?.backOffMs }, { code: 'ErrorExceededConnectionCount', backOff: undefined });
  // gromox answers a bad id with a plain SOAP fault, and HTTP 200: the decoders must not take it for success.
  assert.deepEqual(decodeFault(gromox), { responseCode: 'SOAP:Client', messageText: 'E-3201: invalid subscription ID', subscriptionIds: [], fault: true });
  rejects(() => decodeUnsubscribeResponse(gromox), { responseCode: 'SOAP:Client', message: 'SOAP:Client: E-3201: invalid subscription ID' });
});

test('shared: ErrorServerBusy inside a response message (HTTP 200 style) carries BackOffMilliseconds 5000', (t) => {
  const xml = sample(t, 'ews-rs-syncfolderitems-errorserverbusy.xml');
  if (!xml) return;
  assert.equal(decodeFault(xml), undefined, 'not a fault');
  rejects(() => decodeSubscribeResponse(xml), { responseCode: 'ErrorServerBusy', backOffMs: 5000, message: /^ErrorServerBusy: The server cannot service this request right now/ });
  assert.deepEqual(decodeServerVersion(xml), { majorVersion: 15, minorVersion: 20, majorBuildNumber: 8769, minorBuildNumber: 35, version: 'V2018_01_08' });
});

test('shared: the malformed docs samples are ProtocolErrors for the plain decoders too', (t) => {
  const a = sample(t, 'msdocs-getstreamingevents-error-invalidsubscription.xml');
  const b = sample(t, 'msdocs-howto-getstreamingevents-response.xml');
  if (!a || !b) return;
  assert.throws(() => decodeFault(a), ProtocolError);
  assert.throws(() => decodeFault(b), ProtocolError);
});
