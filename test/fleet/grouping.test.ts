// Grouping many mailboxes as Microsoft documents it: same EWS URL and GroupingInformation ("none" when absent), at
// most 200 a group, the alphabetically first member the anchor; --url groups per URL only; and a re-read of the list
// that adds or removes one mailbox changes only that mailbox's group.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { groupMailboxes, MAX_GROUP_SIZE, normaliseEwsUrl, type Group, type Located } from '../../src/fleet/grouping.js';

const URL_A = 'https://mail.contoso.com/EWS/Exchange.asmx';
const URL_B = 'https://mail2.contoso.com/EWS/Exchange.asmx';
const pad = (n: number): string => String(n).padStart(3, '0');

/** 450 mailboxes: odd numbers on URL_A/EXSIM01, even on URL_B/EXSIM02 (225 each), in a shuffled order. */
function farm(count = 450): Located[] {
  const all = Array.from({ length: count }, (_, i) => {
    const odd = (i + 1) % 2 === 1;
    return { address: `user${pad(i + 1)}@contoso.com`, ewsUrl: odd ? URL_A : URL_B, groupingInformation: odd ? 'EXSIM01' : 'EXSIM02' };
  });
  // A fixed shuffle: the result must not depend on the order of the list.
  return all.map((m, i) => ({ m, k: (i * 7919) % count })).sort((a, b) => a.k - b.k).map((x) => x.m);
}

/** Which group each address is in, by group id. */
const placement = (groups: Group[]): Map<string, string> => new Map(groups.flatMap((g) => g.members.map((m) => [m, g.id] as const)));

/** The ids of groups whose member list differs between two groupings (a group that appears or vanishes counts). */
function changed(before: Group[], after: Group[]): string[] {
  const ids = new Set([...before, ...after].map((g) => g.id));
  const members = (gs: Group[], id: string): string => gs.find((g) => g.id === id)?.members.join(',') ?? '';
  return [...ids].filter((id) => members(before, id) !== members(after, id));
}

describe('grouping: Microsoft\'s rules', () => {
  it('450 mailboxes on 2 URLs/groupings: 4 groups of at most 200, members never mixed, anchors the alphabetically first', () => {
    const groups = groupMailboxes(farm());
    assert.deepEqual(
      groups.map((g) => [g.id, g.members.length, g.anchor]),
      [
        [`EXSIM01 ${URL_A} #1`, 200, 'user001@contoso.com'],
        [`EXSIM01 ${URL_A} #2`, 25, 'user401@contoso.com'],
        [`EXSIM02 ${URL_B} #1`, 200, 'user002@contoso.com'],
        [`EXSIM02 ${URL_B} #2`, 25, 'user402@contoso.com'],
      ],
    );
    assert.ok(groups.every((g) => g.members.length <= MAX_GROUP_SIZE));
    const total = groups.reduce((n, g) => n + g.members.length, 0);
    assert.equal(total, 450);
    assert.equal(new Set(groups.flatMap((g) => g.members)).size, 450);
    for (const g of groups) {
      const odd = g.groupingInformation === 'EXSIM01';
      assert.ok(g.members.every((m) => Number(m.slice(4, 7)) % 2 === (odd ? 1 : 0)), `${g.id} mixes backends`);
      assert.equal(g.anchor, [...g.members].sort()[0]);
    }
  });

  it('the anchor is compared lower-cased but kept as written', () => {
    const [g] = groupMailboxes([
      { address: 'bob@contoso.com', ewsUrl: URL_A },
      { address: 'Alice@Contoso.com', ewsUrl: URL_A },
      { address: 'carol@contoso.com', ewsUrl: URL_A },
    ]);
    assert.equal(g!.anchor, 'Alice@Contoso.com');
    assert.deepEqual(g!.members, ['Alice@Contoso.com', 'bob@contoso.com', 'carol@contoso.com']);
  });

  it('no GroupingInformation is the literal "none": such mailboxes group with each other, not with a named grouping', () => {
    const groups = groupMailboxes([
      { address: 'a@contoso.com', ewsUrl: URL_A },
      { address: 'b@contoso.com', ewsUrl: URL_A, groupingInformation: '' },
      { address: 'c@contoso.com', ewsUrl: URL_A, groupingInformation: 'Default-First-Site-Name' },
    ]);
    assert.deepEqual(
      groups.map((g) => [g.groupingInformation, g.members]),
      [
        ['Default-First-Site-Name', ['c@contoso.com']],
        ['none', ['a@contoso.com', 'b@contoso.com']],
      ],
    );
  });

  it('URLs differing only in the case of scheme and host (or the default port) are one; a different path is not', () => {
    assert.equal(normaliseEwsUrl('HTTPS://Mail.Contoso.COM:443/EWS/Exchange.asmx'), 'https://mail.contoso.com/EWS/Exchange.asmx');
    assert.equal(normaliseEwsUrl('https://mail.contoso.com:444/EWS/Exchange.asmx'), 'https://mail.contoso.com:444/EWS/Exchange.asmx');
    const groups = groupMailboxes([
      { address: 'a@contoso.com', ewsUrl: 'HTTPS://MAIL.contoso.com/EWS/Exchange.asmx', groupingInformation: 'S1' },
      { address: 'b@contoso.com', ewsUrl: 'https://mail.contoso.com/EWS/Exchange.asmx', groupingInformation: 'S1' },
      { address: 'c@contoso.com', ewsUrl: 'https://mail.contoso.com/ews/exchange.asmx', groupingInformation: 'S1' },
    ]);
    assert.deepEqual(groups.map((g) => [g.ewsUrl, g.members]), [
      ['https://mail.contoso.com/EWS/Exchange.asmx', ['a@contoso.com', 'b@contoso.com']],
      ['https://mail.contoso.com/ews/exchange.asmx', ['c@contoso.com']],
    ]);
  });

  it('--url: groups per URL only, GroupingInformation ignored, still at most 200', () => {
    const groups = groupMailboxes(farm(), { url: 'https://EWS.contoso.com/EWS/Exchange.asmx' });
    assert.deepEqual(
      groups.map((g) => [g.ewsUrl, g.groupingInformation, g.members.length, g.anchor]),
      [
        ['https://ews.contoso.com/EWS/Exchange.asmx', 'none', 200, 'user001@contoso.com'],
        ['https://ews.contoso.com/EWS/Exchange.asmx', 'none', 200, 'user201@contoso.com'],
        ['https://ews.contoso.com/EWS/Exchange.asmx', 'none', 50, 'user401@contoso.com'],
      ],
    );
  });

  it('a mailbox listed twice (any case) is placed once', () => {
    const groups = groupMailboxes([
      { address: 'a@contoso.com', ewsUrl: URL_A },
      { address: 'A@CONTOSO.COM', ewsUrl: URL_B },
    ]);
    assert.deepEqual(groups.map((g) => g.members), [['a@contoso.com']]);
  });
});

describe('grouping: a re-read of the list (SIGHUP)', () => {
  it('adding one mailbox changes only the group it joins; everyone else stays where they were', () => {
    const before = groupMailboxes(farm());
    // user000 sorts before everyone: sorted chunks would shift a member of every group of its key.
    const added = [{ address: 'user000@contoso.com', ewsUrl: URL_A, groupingInformation: 'EXSIM01' }, ...farm()];
    const after = groupMailboxes(added, { previous: before });
    assert.deepEqual(changed(before, after), [`EXSIM01 ${URL_A} #2`]);
    const was = placement(before);
    for (const [address, id] of placement(after)) if (address !== 'user000@contoso.com') assert.equal(id, was.get(address), address);
    assert.equal(after.find((g) => g.id === `EXSIM01 ${URL_A} #2`)!.anchor, 'user000@contoso.com');
    // The full group keeps its anchor (its connection is not reopened).
    assert.equal(after.find((g) => g.id === `EXSIM01 ${URL_A} #1`)!.anchor, 'user001@contoso.com');
  });

  it('removing one mailbox changes only its group; its anchor passes to the next member of that group', () => {
    const before = groupMailboxes(farm());
    const after = groupMailboxes(farm().filter((m) => m.address !== 'user001@contoso.com'), { previous: before });
    assert.deepEqual(changed(before, after), [`EXSIM01 ${URL_A} #1`]);
    assert.equal(after.find((g) => g.id === `EXSIM01 ${URL_A} #1`)!.anchor, 'user003@contoso.com');
    assert.equal(after.find((g) => g.id === `EXSIM01 ${URL_A} #1`)!.members.length, 199);
  });

  it('the next new mailbox fills the room a removal left before any later group; a full key opens a new group', () => {
    const before = groupMailboxes(farm());
    const removed = groupMailboxes(farm().filter((m) => m.address !== 'user005@contoso.com'), { previous: before });
    const refilled = groupMailboxes([...farm().filter((m) => m.address !== 'user005@contoso.com'), { address: 'zed@contoso.com', ewsUrl: URL_A, groupingInformation: 'EXSIM01' }], { previous: removed });
    assert.deepEqual(changed(removed, refilled), [`EXSIM01 ${URL_A} #1`]);
    // 400 on one key: two full groups; the 401st opens #3.
    const full = Array.from({ length: 400 }, (_, i) => ({ address: `m${pad(i)}@contoso.com`, ewsUrl: URL_A }));
    const two = groupMailboxes(full);
    const three = groupMailboxes([...full, { address: 'a@contoso.com', ewsUrl: URL_A }], { previous: two });
    assert.deepEqual(changed(two, three), [`none ${URL_A} #3`]);
    assert.deepEqual(three.map((g) => g.members.length), [200, 200, 1]);
  });

  it('a mailbox that moved (another URL or grouping) leaves its old group and joins one of its new key', () => {
    const before = groupMailboxes(farm());
    const moved = farm().map((m) => (m.address === 'user003@contoso.com' ? { ...m, ewsUrl: URL_B, groupingInformation: 'EXSIM02' } : m));
    const after = groupMailboxes(moved, { previous: before });
    assert.deepEqual(changed(before, after).sort(), [`EXSIM01 ${URL_A} #1`, `EXSIM02 ${URL_B} #2`]);
    assert.ok(after.find((g) => g.id === `EXSIM02 ${URL_B} #2`)!.members.includes('user003@contoso.com'));
  });

  it('the same list with its previous grouping gives the same groups (a SIGHUP with no change reopens nothing)', () => {
    const before = groupMailboxes(farm());
    assert.deepEqual(groupMailboxes(farm().reverse(), { previous: before }), before);
  });
});
