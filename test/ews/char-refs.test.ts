// Exchange writes forbidden characters as references (`&#x1A;` in a Subject): the decoders read such answers,
// with U+FFFD where the forbidden character was, instead of refusing the whole answer (src/ews/char-refs.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isXmlChar, repairCharRefs } from '../../src/ews/char-refs.js';
import { decodeGetItemResponse } from '../../src/ews/items.js';
import { createStreamDecoder } from '../../src/ews/stream-decoder.js';
import type { StreamMessage } from '../../src/ews/types.js';

const getItemAnswer = (subject: string): string =>
  '<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>' +
  '<m:GetItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">' +
  '<m:ResponseMessages><m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items>' +
  `<t:Message><t:ItemId Id="AAMkAD1" ChangeKey="CQAAABYAAAA1"/><t:Subject>${subject}</t:Subject></t:Message>` +
  '</m:Items></m:GetItemResponseMessage></m:ResponseMessages></m:GetItemResponse></s:Body></s:Envelope>';

describe('character references XML 1.0 forbids', () => {
  it('isXmlChar follows the Char production', () => {
    assert.deepEqual([0x0, 0x8, 0x9, 0xa, 0xb, 0xd, 0x1a, 0x20, 0xd800, 0xfffd, 0xfffe, 0x10000, 0x110000].map(isXmlChar), [
      false, false, true, true, false, true, false, true, false, true, false, true, false,
    ]);
  });

  it('repairCharRefs replaces only the forbidden ones, hexadecimal or decimal, and returns the same string when none', () => {
    assert.equal(repairCharRefs('a&#x1A;b&#26;c&#x0;d&#xD;e&#233;f&#X1f;&#xFFFE;&#55296;'), 'a&#xFFFD;b&#xFFFD;c&#xFFFD;d&#xD;e&#233;f&#xFFFD;&#xFFFD;&#xFFFD;');
    const plain = '<t:Subject>no references &amp; no trouble</t:Subject>';
    assert.equal(repairCharRefs(plain), plain);
  });

  it('a GetItem answer with &#x1A; and &#x0; in the Subject is read, the forbidden characters as U+FFFD', () => {
    const [result] = decodeGetItemResponse(getItemAnswer('CASEBR&#x1A;S CAIXA &#x0;&amp; &#233;'));
    assert.ok(result?.ok);
    assert.equal(result.details.subject, 'CASEBR\ufffdS CAIXA \ufffd& é');
  });

  it('a stream envelope whose MessageText holds &#x1B; is decoded, not a protocol error', () => {
    const envelope =
      '<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><soap11:Body xmlns:soap11="http://schemas.xmlsoap.org/soap/envelope/">' +
      '<m:GetStreamingEventsResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:ResponseMessages>' +
      '<m:GetStreamingEventsResponseMessage ResponseClass="Error"><m:MessageText>busy &#x1B;[2J now</m:MessageText>' +
      '<m:ResponseCode>ErrorServerBusy</m:ResponseCode><m:ConnectionStatus>Closed</m:ConnectionStatus>' +
      '</m:GetStreamingEventsResponseMessage></m:ResponseMessages></m:GetStreamingEventsResponse></soap11:Body></Envelope>';
    const messages: StreamMessage[] = [];
    createStreamDecoder({ onMessage: (m) => messages.push(m) }).feed(new TextEncoder().encode(envelope));
    const error = messages.find((m) => m.kind === 'error');
    assert.ok(error && error.kind === 'error', JSON.stringify(messages));
    assert.equal(error.error.responseCode, 'ErrorServerBusy');
    assert.equal(error.error.messageText, 'busy \ufffd[2J now');
  });
});
