// The simulated mailbox model and subscription routing, without HTTP: the events each operation raises,
// id and change-key behaviour, unread counts, the change log, and which subscriptions see which events.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createIdFactory } from '../../src/simulator/ids.js';
import { createMailbox, formatTimestamp } from '../../src/simulator/mailbox.js';
import { createSubscriptionRegistry, subscriptionMatches } from '../../src/simulator/subscriptions.js';
import type { SimEvent } from '../../src/simulator/types.js';

const SENDER = { name: 'Adele Vance', address: 'adele@contoso.com' };
const summary = (events: SimEvent[]) => events.map((e) => `${e.type}:${e.kind}`);

function fixture() {
  let clock = Date.UTC(2024, 4, 1, 9, 30, 0, 250);
  const mailbox = createMailbox('alice@contoso.com', createIdFactory(), () => clock);
  const id = (name: string) => mailbox.folder(name)!.id;
  return { mailbox, id, tick: (ms: number) => void (clock += ms) };
}

describe('simulator mailbox', () => {
  test('folders: opaque base64 ids of 100+ characters, distinguished names, a parent chain', () => {
    const { mailbox, id } = fixture();
    for (const name of ['inbox', 'deleteditems', 'sentitems', 'drafts', 'msgfolderroot', 'root', 'junkemail']) {
      const folder = mailbox.folder(name)!;
      assert.equal(folder.distinguished, name);
      assert.ok(folder.id.length >= 100 && /^AQMk[A-Za-z0-9+/]+={0,2}$/.test(folder.id), folder.id);
    }
    assert.equal(new Set(mailbox.folders().map((f) => f.id)).size, mailbox.folders().length);
    assert.equal(mailbox.folder('inbox')!.parentId, id('msgfolderroot'));
    assert.equal(mailbox.folder('msgfolderroot')!.parentId, id('root'));
    assert.equal(mailbox.folder('Archive')!.parentId, id('msgfolderroot'), 'display names resolve too');
    assert.equal(mailbox.folder(id('drafts'))!.distinguished, 'drafts');
  });

  test('maxItems: past the bound the oldest item goes silently, and a later sync holds it as deleted', () => {
    const mailbox = createMailbox('alice@contoso.com', createIdFactory(), () => Date.UTC(2024, 4, 1), 3);
    const ids = [1, 2, 3, 4].map((n) => mailbox.deliverMail({ subject: `m${n}`, from: SENDER }).item!.id);
    assert.deepEqual(mailbox.items('inbox').map((i) => i.subject), ['m2', 'm3', 'm4']);
    assert.deepEqual(mailbox.changes().slice(-2).map((c) => [c.kind, c.itemId]), [['create', ids[3]], ['delete', ids[0]]]);
    const roomy = createMailbox('alice@contoso.com', createIdFactory(), () => Date.UTC(2024, 4, 1), 20_000);
    for (let n = 0; n < 10_001; n++) roomy.deliverMail({ subject: `m${n}`, from: SENDER });
    assert.equal(roomy.items('inbox').length, 10_001, 'above the default bound when asked');
  });

  test('deliverMail: Created + NewMail on the item, Modified on the inbox with the new UnreadCount', () => {
    const { mailbox, id } = fixture();
    const first = mailbox.deliverMail({ subject: 'Grüße 🎉', from: SENDER });
    assert.deepEqual(summary(first.events), ['CreatedEvent:item', 'NewMailEvent:item', 'ModifiedEvent:folder']);
    const [created, newMail, modified] = first.events as [SimEvent, SimEvent, SimEvent];
    assert.equal(created.id.id, first.item!.id);
    assert.ok(first.item!.id.startsWith('AAMk') && first.item!.id.length > 100);
    assert.ok(first.item!.changeKey.startsWith('CQAAAB'));
    assert.deepEqual(newMail.parent.id, id('inbox'));
    assert.deepEqual([modified.id.id, modified.parent.id, modified.unreadCount], [id('inbox'), id('msgfolderroot'), 1]);
    assert.equal(created.timestamp, '2024-05-01T09:30:00Z');
    assert.equal(first.item!.to[0]!.address, 'alice@contoso.com');
    const inboxKeyBefore = mailbox.folder('inbox')!.changeKey;
    const second = mailbox.deliverMail({ subject: 'two', from: SENDER });
    assert.equal(second.events[2]!.unreadCount, 2);
    assert.notEqual(mailbox.folder('inbox')!.changeKey, inboxKeyBefore, 'a folder change gets a new ChangeKey');
  });

  test('markRead: item and folder Modified, unread count down, nothing when already read', () => {
    const { mailbox, id } = fixture();
    const mail = mailbox.deliverMail({ subject: 's', from: SENDER });
    const read = mailbox.markRead(mail.item!.id);
    assert.deepEqual(summary(read.events), ['ModifiedEvent:item', 'ModifiedEvent:folder']);
    assert.notEqual(read.item!.changeKey, mail.item!.changeKey);
    assert.deepEqual([read.events[1]!.id.id, read.events[1]!.unreadCount], [id('inbox'), 0]);
    assert.deepEqual(mailbox.markRead(mail.item!.id).events, []);
    assert.equal(mailbox.markRead(mail.item!.id, false).events[1]!.unreadCount, 1);
  });

  test('moveItem: MovedEvent with a new id, OldItemId and OldParentFolderId, plus both folders Modified', () => {
    const { mailbox, id } = fixture();
    const mail = mailbox.deliverMail({ subject: 's', from: SENDER });
    const moved = mailbox.moveItem(mail.item!.id, 'Archive');
    assert.deepEqual(summary(moved.events), ['MovedEvent:item', 'ModifiedEvent:folder', 'ModifiedEvent:folder']);
    const event = moved.events[0]!;
    assert.notEqual(event.id.id, mail.item!.id);
    assert.deepEqual([event.parent.id, event.oldId!.id, event.oldParent!.id], [id('Archive'), mail.item!.id, id('inbox')]);
    assert.deepEqual(moved.events.slice(1).map((e) => [e.id.id, e.unreadCount]), [[id('inbox'), 0], [id('Archive'), 1]]);
    assert.equal(mailbox.item(mail.item!.id), undefined);
    assert.equal(mailbox.items('Archive')[0]!.id, moved.item!.id);
  });

  test('deleteItem: soft = move to Deleted Items; from Deleted Items or hard = DeletedEvent; copyItem = CopiedEvent', () => {
    const { mailbox, id } = fixture();
    const mail = mailbox.deliverMail({ subject: 's', from: SENDER });
    const soft = mailbox.deleteItem(mail.item!.id);
    assert.equal(soft.events[0]!.type, 'MovedEvent');
    assert.equal(soft.events[0]!.parent.id, id('deleteditems'));
    const gone = mailbox.deleteItem(soft.item!.id);
    assert.deepEqual(summary(gone.events), ['DeletedEvent:item', 'ModifiedEvent:folder']);
    assert.equal(gone.item, undefined);
    assert.equal(gone.events[0]!.parent.id, id('deleteditems'));
    const other = mailbox.deliverMail({ subject: 't', from: SENDER });
    const copy = mailbox.copyItem(other.item!.id, 'drafts');
    assert.deepEqual(summary(copy.events), ['CopiedEvent:item', 'ModifiedEvent:folder']);
    assert.deepEqual([copy.events[0]!.oldId!.id, copy.events[0]!.parent.id], [other.item!.id, id('drafts')]);
    assert.equal(mailbox.deleteItem(other.item!.id, { hard: true }).events[0]!.type, 'DeletedEvent');
    assert.throws(() => mailbox.deleteItem('no-such-item'), /no item/);
    assert.throws(() => mailbox.moveItem(copy.item!.id, 'nowhere'), /no folder "nowhere"/);
  });

  test('the change log records every change per folder with a sequence and a time', () => {
    const { mailbox, id, tick } = fixture();
    const mail = mailbox.deliverMail({ subject: 's', from: SENDER });
    tick(1000);
    mailbox.markRead(mail.item!.id);
    const moved = mailbox.moveItem(mail.item!.id, 'deleteditems');
    const log = mailbox.changes();
    assert.deepEqual(log.map((c) => [c.seq, c.kind]), [[1, 'create'], [2, 'readflag'], [3, 'delete'], [4, 'create']]);
    assert.equal(log[1]!.at - log[0]!.at, 1000);
    assert.deepEqual(mailbox.changesSince(id('inbox'), 1).map((c) => [c.kind, c.itemId]), [['readflag', mail.item!.id], ['delete', mail.item!.id]]);
    assert.deepEqual(mailbox.changesSince(id('deleteditems'), 0).map((c) => c.itemId), [moved.item!.id]);
  });

  test('formatTimestamp drops milliseconds, as Exchange writes TimeStamp', () => {
    assert.equal(formatTimestamp(Date.UTC(2019, 5, 27, 11, 37, 36, 999)), '2019-06-27T11:37:36Z');
  });
});

describe('simulator subscription routing', () => {
  test('which subscription sees which event', () => {
    const { mailbox, id } = fixture();
    const registry = createSubscriptionRegistry(createIdFactory(), { maxQueued: 100, now: () => 0 });
    const inbox = registry.create([id('inbox')], ['NewMailEvent', 'CreatedEvent', 'ModifiedEvent', 'MovedEvent']);
    const root = registry.create([id('msgfolderroot')], ['ModifiedEvent']);
    const all = registry.create('all', ['MovedEvent']);
    const mail = mailbox.deliverMail({ subject: 's', from: SENDER });
    const moved = mailbox.moveItem(mail.item!.id, 'Archive');
    const sees = (sub: typeof inbox, events: SimEvent[]) => events.filter((e) => subscriptionMatches(sub, e)).map((e) => e.type);
    assert.deepEqual(sees(inbox, mail.events), ['CreatedEvent', 'NewMailEvent', 'ModifiedEvent']);
    assert.deepEqual(sees(root, mail.events), ['ModifiedEvent'], 'the inbox is a child of msgfolderroot');
    assert.deepEqual(sees(all, mail.events), []);
    assert.deepEqual(sees(inbox, moved.events), ['MovedEvent', 'ModifiedEvent'], 'moved out of a watched folder; the inbox itself changed');
    assert.deepEqual(sees(all, moved.events), ['MovedEvent']);
  });

  test('dispatch queues per subscription; a full queue keeps the newest and marks events as missed', () => {
    const { mailbox, id } = fixture();
    let changes = 0;
    const registry = createSubscriptionRegistry(createIdFactory(), { maxQueued: 4, now: () => 0, onChange: () => changes++ });
    const sub = registry.create([id('inbox')], ['NewMailEvent', 'CreatedEvent', 'ModifiedEvent']);
    const flushed: string[] = [];
    sub.connection = { flush: () => flushed.push('flush'), detach: () => undefined, lose: () => undefined };
    registry.dispatch(mailbox.deliverMail({ subject: 'a', from: SENDER }).events);
    assert.deepEqual([sub.queue.length, sub.missed, flushed.length], [3, false, 1]);
    const second = mailbox.deliverMail({ subject: 'b', from: SENDER });
    registry.dispatch(second.events);
    assert.deepEqual([sub.queue.length, sub.missed], [4, true]);
    assert.deepEqual(sub.queue.slice(1), second.events);
    assert.ok(changes >= 3);
    assert.equal(registry.remove(sub.id), sub);
    assert.equal(registry.get(sub.id), undefined);
  });
});
