// What the decoders keep from an answer must not keep the answer (issue 10, item 1): every test here decodes
// envelopes or answers of megabytes, keeps everything the decoder handed out, lets go of the text, and measures the
// heap after a full GC (test/support/heap.ts says why the heap and not a WeakRef). A control test shows that the
// measurement does see a kept view of a large string, so a pass is not the measurement going blind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDetachedCache, detach } from '../../src/ews/detach.js';
import { decodeGetFolderResponse, decodeGetItemResponse } from '../../src/ews/items.js';
import { decodeSubscribeResponse } from '../../src/ews/responses.js';
import { createStreamDecoder } from '../../src/ews/stream-decoder.js';
import { decodeSyncFolderItemsResponse } from '../../src/ews/sync.js';
import type { StreamMessage } from '../../src/ews/types.js';
import { MiB, retainedBytes } from '../support/heap.js';

const NS = 'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"';
const SOAP = (body: string): string => `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>${body}</s:Body></s:Envelope>`;
/** 3 MB: under the stream's 4 MiB envelope cap, as in the audit (3.5 MB there). */
const PAD = 3 * 1000 * 1000;
const COPIES = 12;
/** Twelve envelopes of 3 MB kept would be 36 MB; what the decoded values themselves take is a few KB. */
const BOUND = 2 * MiB;

const itemId = (n: number): string => `AAMkADkzNjJjODUzLWZhMDMtNDVkMS05ZDdjLWVmMDlkYjQ1Zjc4MwBGAAAAAABSSWVKrmGUTJE+MVIvofglBwDZGACZQpSgSpyNkexYe2b7AAAAAAENAAD${n}AAA=`;
const changeKey = (n: number): string => `CQAAABYAAADZGACZQpSgSpyNkexYe2b7AAA${String(n).padStart(5, '0')}`;

function paddedNotification(n: number): string {
  const id = `<t:ItemId Id="${itemId(n)}" ChangeKey="${changeKey(n)}"/><t:ParentFolderId Id="AQMkADkzNjJjODUzLWZhMDMtNDVkMS05ZDdjLWVmMDlkYjQ1Zjc4MwAuAAADUkllSq5hlEyRPjFSL6H4JQEA${n}AAA" ChangeKey="AQAAAA=="/>`;
  const event = `<t:NewMailEvent><t:TimeStamp> 2025-01-02T03:04:${String(n % 60).padStart(2, '0')}Z </t:TimeStamp>${id}</t:NewMailEvent>`;
  return SOAP(
    `<m:GetStreamingEventsResponse ${NS}><m:ResponseMessages><m:GetStreamingEventsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>` +
      `<m:Notifications><m:Notification><t:SubscriptionId>JgBibjFwcjAzbWIyMDIubmFtcHJkMDMucHJvZC5vdXRsb29rLmNvbRAAAAD${n}=</t:SubscriptionId>${event}${' '.repeat(PAD)}</m:Notification></m:Notifications>` +
      '</m:GetStreamingEventsResponseMessage></m:ResponseMessages></m:GetStreamingEventsResponse>',
  );
}

test('detach: a copy equal in every character, whatever the string', () => {
  const cases = ['', 'short', 'a'.repeat(13), '\ufeffstarts with a BOM and goes on', 'émoji 📬 and ünïcödé, long enough', `lone \ud800 surrogate, long enough`, 'x'.repeat(100_000)];
  for (const s of cases) assert.equal(detach(s), s);
});

test('detach: control: views of large strings keep them; detached copies do not', () => {
  const cut = (copy: (s: string) => string): string[] =>
    Array.from({ length: COPIES }, (_, i) => {
      const big = `${'x'.repeat(PAD)}${itemId(i)}`;
      return copy(big.slice(PAD)); // a view of 150 characters into 3 MB
    });
  const views = retainedBytes(() => cut((s) => s));
  assert.ok(views.bytes > COPIES * PAD * 0.9, `the measurement sees the kept views: ${views.bytes} bytes`);
  const copies = retainedBytes(() => cut(detach));
  assert.ok(copies.bytes < BOUND, `detached copies keep ${copies.bytes} bytes`);
  assert.deepEqual(copies.value, views.value);
});

test('createDetachedCache: equal strings get one copy, which keeps none of the views it was asked about', () => {
  const kept = retainedBytes(() => {
    const copy = createDetachedCache(4);
    // Each string asked about is a view into 3 MB; the same five values come three times (more than the cache holds).
    const values = Array.from({ length: COPIES + 3 }, (_, i) => copy(`${'x'.repeat(PAD)}${itemId(i % 5)}`.slice(PAD)));
    return { copy, values };
  });
  assert.ok(kept.bytes < BOUND, `the cache and its copies keep ${kept.bytes} bytes`);
  assert.deepEqual(kept.value.values, Array.from({ length: COPIES + 3 }, (_, i) => itemId(i % 5)));
});

test('detach: events of one folder and one subscription from padded envelopes keep none of them (repeated ids)', () => {
  const kept = retainedBytes(() => {
    const messages: StreamMessage[] = [];
    const decoder = createStreamDecoder({ onMessage: (m) => messages.push(m) });
    // The same parent folder, subscription and second in every envelope: what the decoder copies once and reuses.
    const same = (xml: string): string => xml.replace(/EA\d+AAA" ChangeKey="AQAAAA=="/, 'EA0AAA" ChangeKey="AQAAAA=="').replace(/AAAD\d+=</, 'AAAD0=<').replace(/:\d\dZ /, ':00Z ');
    for (let n = 0; n < COPIES; n++) decoder.feed(new TextEncoder().encode(same(paddedNotification(n))));
    return messages;
  });
  assert.ok(kept.bytes < BOUND, `${COPIES} events keep ${kept.bytes} bytes`);
  const events = kept.value.map((m) => (m.kind === 'event' ? m.event : undefined));
  assert.deepEqual(events.map((e) => e?.target.id), Array.from({ length: COPIES }, (_, n) => itemId(n)));
  for (const e of events) {
    assert.match(e?.parentFolderId?.id ?? '', /0AAA$/);
    assert.match(e?.subscriptionId ?? '', /^JgBib.*AAAD0=$/);
    assert.equal(e?.timestamp, '2025-01-02T03:04:00Z');
  }
});

test('detach: events decoded from padded 3 MB envelopes keep none of them', () => {
  const kept = retainedBytes(() => {
    const messages: StreamMessage[] = [];
    const decoder = createStreamDecoder({ onMessage: (m) => messages.push(m) });
    for (let n = 0; n < COPIES; n++) decoder.feed(new TextEncoder().encode(paddedNotification(n)));
    return messages;
  });
  assert.ok(kept.bytes < BOUND, `${COPIES} events keep ${kept.bytes} bytes`);
  // Everything a pipeline may hold on to is there: ids, the real ChangeKey, the trimmed TimeStamp, the SubscriptionId.
  const last = kept.value[COPIES - 1];
  assert.equal(last.kind, 'event');
  if (last.kind !== 'event') return;
  assert.equal(last.event.target.id, itemId(COPIES - 1));
  assert.equal(last.event.target.changeKey, changeKey(COPIES - 1));
  assert.equal(last.event.timestamp, '2025-01-02T03:04:11Z');
  assert.match(last.event.subscriptionId, /^JgBib.*11=$/);
  assert.match(last.event.parentFolderId?.id ?? '', /11AAA$/);
});

test('detach: what SyncFolderItems, GetItem, GetFolder and Subscribe decoders return keeps none of a padded answer', () => {
  const pad = ' '.repeat(PAD);
  const message = (op: string, inner: string): string =>
    SOAP(`<m:${op}Response ${NS}><m:ResponseMessages><m:${op}ResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>${inner}</m:${op}ResponseMessage></m:ResponseMessages></m:${op}Response>`);
  const kept = retainedBytes(() =>
    Array.from({ length: COPIES / 4 }, (_, n) => [
      decodeSyncFolderItemsResponse(
        message('SyncFolderItems', `<m:SyncState> H4sIAAAAAAAEAO29B2AcSZY${n} ${pad}</m:SyncState><m:IncludesLastItemInRange>true</m:IncludesLastItemInRange><m:Changes><t:Create><t:Message><t:ItemId Id="${itemId(n)}" ChangeKey="${changeKey(n)}"/></t:Message></t:Create></m:Changes>`),
      ),
      decodeGetItemResponse(
        message('GetItem', `<m:Items><t:Message><t:ItemId Id="${itemId(n)}" ChangeKey="${changeKey(n)}"/><t:Subject>Quarterly report ${n}${pad}</t:Subject><t:From><t:Mailbox><t:Name>Bob Example ${n}</t:Name><t:EmailAddress>${pad}bob${n}@example.com</t:EmailAddress></t:Mailbox></t:From></t:Message></m:Items>`),
      ),
      decodeGetFolderResponse(message('GetFolder', `<m:Folders><t:Folder><t:FolderId Id="${itemId(n)}"/><t:DisplayName>Projects ${n}</t:DisplayName></t:Folder></m:Folders>${pad}`)),
      decodeSubscribeResponse(message('Subscribe', `<m:SubscriptionId>${pad}JgBibjFwcjAzbWIyMDIubmFtcHJkMDMucHJvZC5vdXRsb29rLmNvbRAAAAD${n}=${pad}</m:SubscriptionId>`)),
    ] as const),
  );
  // The Subjects are kept whole (3 MB each, as sent: bounding them is details.ts's job): what must not be kept is
  // the answer around them. Three answers of 6 MB and more each would keep 18 MB or more.
  const subjects = COPIES / 4 * PAD;
  assert.ok(kept.bytes < subjects + BOUND, `the decoded values keep ${kept.bytes} bytes, the subjects alone ${subjects}`);
  const [sync, items, folders, subscribe] = kept.value[2];
  assert.deepEqual(sync.changes, [{ kind: 'create', itemId: itemId(2), changeKey: changeKey(2), itemClass: 'Message' }]);
  assert.equal(sync.syncState.startsWith('H4sIAAAAAAAEAO29B2AcSZY2'), true);
  assert.equal(items[0].ok && items[0].details.from?.address, 'bob2@example.com');
  assert.equal(folders[0].ok && folders[0].displayName, 'Projects 2');
  assert.match(subscribe.subscriptionId, /^JgBib.*2=$/);
});
