// Every fixture stream (ours and the shared samples written by others), split at every byte offset, fed one byte
// at a time and in seeded random chunks, must decode to exactly the same messages (a decoder must not care where the network cuts the bytes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ProtocolError } from '../../src/errors.js';
import type { StreamMessage } from '../../src/ews/types.js';
import { sharedDir } from '../support/shared.js';
import { byteAtATime, decodeChunks, fixturesDir, randomChunks, readFixture, seededRandom, twoWaySplits, whole, type Decoded } from './feed.js';

const RANDOM_RUNS = 40;

function assertEverySplit(bytes: Uint8Array, expected: Decoded, label: string): void {
  for (const [i, chunks] of twoWaySplits(bytes)) {
    const got = decodeChunks(chunks);
    if (got.error !== expected.error || JSON.stringify(got.messages) !== JSON.stringify(expected.messages)) {
      assert.deepEqual(got, expected, `${label}: split at byte ${i}`);
    }
  }
  assert.deepEqual(decodeChunks(byteAtATime(bytes)), expected, `${label}: one byte at a time`);
  for (let seed = 1; seed <= RANDOM_RUNS; seed++) {
    const got = decodeChunks(randomChunks(bytes, seededRandom(seed)));
    assert.deepEqual(got, expected, `${label}: random chunks, seed ${seed}`);
  }
}

const ours = readdirSync(fixturesDir).filter((f) => f.endsWith('.xml')).map((f) => f.slice(0, -4)).sort();

test('fixtures: every stream has its expected messages', () => {
  assert.deepEqual(ours, ['exchange-errors', 'exchange-moved-copied', 'exchange-new-mail', 'fault-server-busy', 'gromox-lost-subscription', 'multibyte-utf8', 'tricky-markup']);
});

for (const name of ours) {
  test(`fixture ${name}: whole, every 2-way split, byte by byte, random chunks`, () => {
    const { bytes, expected } = readFixture(name);
    const once = whole(bytes);
    assert.equal(once.error, undefined);
    assert.deepEqual(once.messages, expected);
    assertEverySplit(bytes, { messages: expected }, name);
  });
}

test('fixture multibyte-utf8 really splits characters: it holds 2-, 3- and 4-byte UTF-8', () => {
  const text = readFileSync(join(fixturesDir, 'multibyte-utf8.xml'), 'utf8');
  assert.match(text, /é/);
  assert.match(text, /日本/);
  assert.match(text, /\u{1F4E8}/u);
});

// ---- samples written by others (../shared): the same split checks against the whole-file result, plus key facts.

interface Sample {
  file: string;
  facts(d: Decoded): void;
}

const count = (ms: StreamMessage[], kind: StreamMessage['kind']): number => ms.filter((m) => m.kind === kind).length;
const errors = (ms: StreamMessage[]) => ms.flatMap((m) => (m.kind === 'error' ? [m.error] : []));

const samples: Sample[] = [
  {
    file: 'ews-samples/gromox217-getstreamingevents-stream.xml',
    facts(d) {
      // 9 envelopes: OK; Created+Modified; 6 StatusEvent keep-alives (reported as heartbeats); Closed.
      assert.equal(d.error, undefined);
      assert.equal(d.messages.length, 10);
      assert.equal(count(d.messages, 'heartbeat'), 7);
      assert.equal(count(d.messages, 'event'), 2);
      assert.deepEqual(d.messages.at(-1), { kind: 'closed' });
      const events = d.messages.flatMap((m) => (m.kind === 'event' ? [m.event] : []));
      assert.deepEqual(events.map((e) => [e.type, e.kind, e.subscriptionId]), [['Created', 'item', 'BAAAAAFAAAAA'], ['Modified', 'folder', 'BAAAAAFAAAAA']]);
      assert.equal(events[0].timestamp, '2026-11-22T09:03:54.730722Z');
      assert.equal(events[0].target.changeKey, undefined, 'gromox sends no ChangeKey');
    },
  },
  {
    file: 'ews-samples/exchangelib-getstreamingevents-connectionstatus-closed.xml',
    facts: (d) => assert.deepEqual(d, { messages: [{ kind: 'closed' }] }),
  },
  {
    file: 'ews-schema/examples/stream/getstreamingevents-notification-heartbeat-closed.xml',
    facts(d) {
      assert.equal(d.error, undefined);
      assert.deepEqual(d.messages.map((m) => (m.kind === 'event' ? m.event.type : m.kind)), ['Created', 'NewMail', 'Modified', 'heartbeat', 'closed']);
      const modified = d.messages[2];
      assert.ok(modified.kind === 'event' && modified.event.kind === 'folder' && modified.event.unreadCount === 1);
    },
  },
  {
    file: 'ews-samples/exchangelib-errorserverbusy-fault.xml',
    facts(d) {
      assert.deepEqual(errors(d.messages), [
        { responseCode: 'ErrorServerBusy', messageText: 'The server cannot service this request right now. Try again later.', backOffMs: 297749, subscriptionIds: [], fault: true },
      ]);
    },
  },
  {
    file: 'ews-samples/gromox217-getstreamingevents-bad-id-fault.xml',
    facts(d) {
      assert.deepEqual(errors(d.messages), [{ responseCode: 'SOAP:Client', messageText: 'E-3201: invalid subscription ID', subscriptionIds: [], fault: true }]);
    },
  },
  {
    file: 'ews-samples/ews-rs-errorexceededconnectioncount-fault.xml',
    facts(d) {
      const [e] = errors(d.messages);
      assert.equal(e.responseCode, 'ErrorExceededConnectionCount');
      assert.equal(e.backOffMs, undefined, 'its MessageXml has no BackOffMilliseconds');
      assert.equal(e.fault, true);
    },
  },
  {
    // Not well-formed: </m:GetStreamingEventsResponseMessage> is missing. Must be a ProtocolError, not a hang.
    file: 'ews-samples/msdocs-getstreamingevents-error-invalidsubscription.xml',
    facts(d) {
      assert.ok(d.errorObject instanceof ProtocolError, d.error);
      assert.deepEqual(d.messages, []);
    },
  },
  {
    // Not well-formed: </s:Envelope> is missing, so the stream ends inside an envelope.
    file: 'ews-samples/msdocs-howto-getstreamingevents-response.xml',
    facts(d) {
      assert.ok(d.errorObject instanceof ProtocolError, d.error);
      assert.match(d.error ?? '', /ended inside an envelope/);
      assert.deepEqual(d.messages, []);
    },
  },
];

for (const s of samples) {
  test(`shared sample ${s.file}: key facts, then the same result at every split`, (t) => {
    const dir = sharedDir();
    if (!dir || !existsSync(join(dir, s.file))) {
      t.skip(`../shared not found: ${s.file} skipped`);
      return;
    }
    const bytes = readFileSync(join(dir, s.file));
    const once = whole(bytes);
    s.facts(once);
    const expected: Decoded = once.error === undefined ? { messages: once.messages } : { messages: once.messages, error: once.error };
    const strip = (d: Decoded): Decoded => (d.error === undefined ? { messages: d.messages } : { messages: d.messages, error: d.error });
    for (const [i, chunks] of twoWaySplits(bytes)) {
      const got = strip(decodeChunks(chunks));
      if (got.error !== expected.error || JSON.stringify(got.messages) !== JSON.stringify(expected.messages)) assert.deepEqual(got, expected, `split at ${i}`);
    }
    assert.deepEqual(strip(decodeChunks(byteAtATime(bytes))), expected, 'one byte at a time');
    for (let seed = 1; seed <= 10; seed++) assert.deepEqual(strip(decodeChunks(randomChunks(bytes, seededRandom(seed)))), expected, `seed ${seed}`);
  });
}
