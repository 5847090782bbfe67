// The simulator's request decoder: what it accepts (prefix-independent, namespace-checked) and the
// ErrorSchemaValidation details it reports for what Exchange's schema validation would refuse.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRequest } from '../../src/simulator/request-decoder.js';
import { gseBody, soap, subscribeBody, unsubscribeBody } from './helpers.js';

const M = 'http://schemas.microsoft.com/exchange/services/2006/messages';
const T = 'http://schemas.microsoft.com/exchange/services/2006/types';

describe('simulator request decoder', () => {
  test('Subscribe with distinguished names and FolderIds, in any prefix style', () => {
    const unprefixed =
      `<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Header><RequestServerVersion xmlns="${T}" Version="Exchange2016"/></Header>` +
      `<Body><Subscribe xmlns="${M}"><StreamingSubscriptionRequest><FolderIds xmlns="${T}"><DistinguishedFolderId Id="inbox"/><FolderId Id="AQMkABC=" ChangeKey="AQAAAA=="/></FolderIds>` +
      `<EventTypes xmlns="${T}"><EventType>NewMailEvent</EventType><EventType>MovedEvent</EventType></EventTypes></StreamingSubscriptionRequest></Subscribe></Body></Envelope>`;
    const result = decodeRequest(unprefixed);
    assert.ok(result.ok);
    assert.equal(result.request.serverVersion, 'Exchange2016');
    assert.deepEqual(result.request.payload, {
      kind: 'Subscribe',
      streaming: true,
      allFolders: false,
      folders: [{ kind: 'distinguished', name: 'inbox' }, { kind: 'id', id: 'AQMkABC=' }],
      eventTypes: ['NewMailEvent', 'MovedEvent'],
    });
  });

  test('SubscribeToAllFolders, GetStreamingEvents and Unsubscribe', () => {
    const all = decodeRequest(subscribeBody('all', ['CreatedEvent']));
    assert.ok(all.ok && all.request.payload.kind === 'Subscribe' && all.request.payload.streaming);
    assert.equal(all.request.payload.allFolders, true);
    assert.deepEqual(all.request.payload.folders, []);
    const gse = decodeRequest(gseBody(['AAA=', 'BBB='], 7));
    assert.ok(gse.ok);
    assert.deepEqual(gse.request.payload, { kind: 'GetStreamingEvents', subscriptionIds: ['AAA=', 'BBB='], connectionTimeout: 7 });
    const unsub = decodeRequest(unsubscribeBody('CCC='));
    assert.ok(unsub.ok);
    assert.deepEqual(unsub.request.payload, { kind: 'Unsubscribe', subscriptionId: 'CCC=' });
    const impersonated = decodeRequest(
      soap('<m:Unsubscribe><m:SubscriptionId>x</m:SubscriptionId></m:Unsubscribe>', '<t:RequestServerVersion Version="Exchange2013"/><t:ExchangeImpersonation><t:ConnectingSID><t:SmtpAddress>a@b.c</t:SmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>'),
    );
    assert.ok(impersonated.ok);
    assert.equal(impersonated.request.impersonate, 'a@b.c');
  });

  test('violations carry the line, the position and a message naming the problem', () => {
    const cases: Array<[string, RegExp]> = [
      [gseBody(['A'], 0), /MinInclusive/],
      [gseBody(['A'], 31), /MaxInclusive/],
      [gseBody([], 1), /'SubscriptionIds'.*incomplete content/],
      [soap('<m:GetStreamingEvents><m:SubscriptionIds><t:SubscriptionId>A</t:SubscriptionId></m:SubscriptionIds></m:GetStreamingEvents>'), /expected: 'ConnectionTimeout'/],
      [subscribeBody(['inbox'], []), /'EventTypes'.*incomplete content/],
      [soap('<m:Subscribe><m:StreamingSubscriptionRequest><t:FolderIds><t:DistinguishedFolderId Id="inbox"/></t:FolderIds></m:StreamingSubscriptionRequest></m:Subscribe>'), /incomplete content.*EventTypes/],
      [soap('<m:Subscribe><m:StreamingSubscriptionRequest><m:FolderIds/><t:EventTypes><t:EventType>NewMailEvent</t:EventType></t:EventTypes></m:StreamingSubscriptionRequest></m:Subscribe>'), /invalid child element 'FolderIds' in namespace '[^']+messages'/],
      [soap('<m:Subscribe/>', '<t:RequestServerVersion Version="Exchange2099"/>'), /ExchangeVersionType/],
      ['<a><b></a>', /.+ Line 1, position \d+\./],
    ];
    for (const [xml, message] of cases) {
      const result = decodeRequest(xml);
      assert.equal(result.ok, false, xml);
      if (result.ok) continue;
      assert.equal(result.fault.code, 'ErrorSchemaValidation');
      assert.match(result.fault.violation!.text, message);
      assert.equal(result.fault.violation!.line, 1);
      assert.ok(result.fault.violation!.position > 0);
    }
  });

  test('an unknown operation decodes as "other" with its name', () => {
    const result = decodeRequest(soap('<m:FindItem/>'));
    assert.ok(result.ok);
    assert.deepEqual([result.request.operation, result.request.payload], ['FindItem', { kind: 'other' }]);
  });
});
