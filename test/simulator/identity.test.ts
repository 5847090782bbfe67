// The simulator's ConvertId and ResolveNames, the calls a DOMAIN\user sign-in uses to find its SMTP address:
// ConvertId names the mailbox that holds an id whatever Mailbox the request carried; ResolveNames matches names
// against the directory with Exchange's three answers; schema checks on the requests; the scenario switches.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { elementsOf, post, soap, textOf, type ElementInfo } from './helpers.js';
import { getFolderBody } from './mailbox-requests.js';

function convertIdBody(ids: Array<{ id: string; mailbox?: string; format?: string }>, destination = 'EwsId'): string {
  const alternates = ids.map((a) => `<t:AlternateId Format="${a.format ?? 'EwsId'}" Id="${a.id}"${a.mailbox === undefined ? '' : ` Mailbox="${a.mailbox}"`}/>`);
  return soap(`<m:ConvertId DestinationFormat="${destination}"><m:SourceIds>${alternates.join('')}</m:SourceIds></m:ConvertId>`);
}

function resolveNamesBody(entry: string, attrs = 'ReturnFullContactData="false"'): string {
  return soap(`<m:ResolveNames ${attrs}><m:UnresolvedEntry>${entry}</m:UnresolvedEntry></m:ResolveNames>`);
}

interface Message {
  responseClass: string;
  code: string;
  alternate?: Record<string, string>;
  addresses: string[];
}

function messagesOf(xml: string): Message[] {
  const groups: Array<{ head: ElementInfo; inside: ElementInfo[] }> = [];
  for (const e of elementsOf(xml)) {
    if (e.path.at(-2) === 'ResponseMessages') groups.push({ head: e, inside: [] });
    else if (groups.length > 0 && e.path.includes(groups.at(-1)!.head.local)) groups.at(-1)!.inside.push(e);
  }
  return groups.map(({ head, inside }) => {
    const alt = inside.find((e) => e.local === 'AlternateId');
    return {
      responseClass: head.attrs.ResponseClass ?? '',
      code: inside.find((e) => e.local === 'ResponseCode')?.text ?? '',
      ...(alt ? { alternate: alt.attrs } : {}),
      addresses: inside.filter((e) => e.local === 'EmailAddress' && e.path.at(-2) === 'Mailbox').map((e) => e.text),
    };
  });
}

describe('simulator: ConvertId and ResolveNames, as Exchange', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ user: 'CONTOSO\\bob', mailbox: 'Bob.Smith@contoso.com', directory: [{ name: 'Carol Bond', address: 'carol.bond@contoso.com' }] });
  });
  after(() => sim.close());

  const rootId = async (): Promise<string> => elementsOf((await post(sim, getFolderBody(['root'], 'IdOnly'))).body).find((e) => e.local === 'FolderId')!.attrs.Id!;

  test('ConvertId of the root folder id answers with the mailbox primary SMTP address, whatever Mailbox was sent', async () => {
    const id = await rootId();
    assert.equal(id, sim.folder('root')!.id);
    for (const placeholder of ['nobody@example.com', 'blah@blah.com']) {
      const answer = await post(sim, convertIdBody([{ id, mailbox: placeholder }]));
      assert.equal(answer.status, 200);
      assert.deepEqual(messagesOf(answer.body), [{ responseClass: 'Success', code: 'NoError', alternate: { type: 't:AlternateIdType', Format: 'EwsId', Id: id, Mailbox: 'Bob.Smith@contoso.com' }, addresses: [] }]);
    }
    assert.equal(sim.requests.at(-1)!.operation, 'ConvertId');
  });

  test('ConvertId goes by the id, not by the store: an item id and a deleted folder id convert too; other formats', async () => {
    const item = sim.deliverMail({ subject: 'x' }).item!;
    const gone = sim.createFolder('Temp').folder!;
    sim.deleteFolder('Temp');
    const answer = await post(sim, convertIdBody([{ id: item.id, mailbox: 'a@b.c' }, { id: gone.id, mailbox: 'a@b.c' }], 'HexEntryId'));
    const [one, two] = messagesOf(answer.body);
    assert.equal(one!.alternate?.Mailbox, 'Bob.Smith@contoso.com');
    assert.equal(two!.alternate?.Mailbox, 'Bob.Smith@contoso.com');
    assert.equal(one!.alternate?.Format, 'HexEntryId');
    assert.match(one!.alternate!.Id!, /^[0-9A-F]+$/);
    assert.equal(one!.alternate!.Id, Buffer.from(item.id, 'base64').subarray(41).toString('hex').toUpperCase());
  });

  test('ConvertId errors, one message per id in order: a malformed Mailbox, an id of no mailbox here, a public folder id', async () => {
    const id = await rootId();
    const foreign = Buffer.from('not an id of this mailbox at all, but base64 nonetheless').toString('base64');
    const body = soap(
      '<m:ConvertId DestinationFormat="EwsId"><m:SourceIds>' +
        `<t:AlternateId Format="EwsId" Id="${id}" Mailbox="not-an-address"/><t:AlternateId Format="EwsId" Id="${foreign}" Mailbox="a@b.c"/>` +
        `<t:AlternateId Format="EntryId" Id="${id}" Mailbox="a@b.c"/><t:AlternatePublicFolderId Format="EwsId" FolderId="AQEu"/>` +
        `<t:AlternateId Format="EwsId" Id="${id}" Mailbox="a@b.c"/></m:SourceIds></m:ConvertId>`,
    );
    const answer = await post(sim, body);
    assert.equal(answer.status, 200);
    assert.deepEqual(
      messagesOf(answer.body).map((m) => `${m.responseClass} ${m.code}`),
      ['Error ErrorInvalidSmtpAddress', 'Error ErrorInvalidIdMalformed', 'Error ErrorInvalidIdMalformed', 'Error ErrorFolderNotFound', 'Success NoError'],
    );
    assert.equal(textOf(answer.body, 'MessageText'), 'The SMTP address format is invalid.');
  });

  test('ConvertId requests that break the schema get ErrorSchemaValidation (HTTP 500)', async () => {
    const id = await rootId();
    const bad = [
      convertIdBody([{ id }]), // no Mailbox
      convertIdBody([{ id, mailbox: '' }]),
      convertIdBody([{ id, mailbox: 'a@b.c', format: 'Ews' }]),
      convertIdBody([{ id, mailbox: 'a@b.c' }], 'Owa'),
      soap(`<m:ConvertId><m:SourceIds><t:AlternateId Format="EwsId" Id="${id}" Mailbox="a@b.c"/></m:SourceIds></m:ConvertId>`),
      soap(`<m:ConvertId DestinationFormat="EwsId"><m:SourceIds><m:AlternateId Format="EwsId" Id="${id}" Mailbox="a@b.c"/></m:SourceIds></m:ConvertId>`),
      soap('<m:ConvertId DestinationFormat="EwsId"><m:SourceIds/></m:ConvertId>'),
    ];
    for (const body of bad) {
      const answer = await post(sim, body);
      assert.equal(answer.status, 500, body);
      assert.equal(textOf(answer.body, 'ResponseCode'), 'ErrorSchemaValidation', body);
    }
  });

  test('ResolveNames finds the owner by account name, alias, address (with or without smtp:) and display name', async () => {
    for (const entry of ['bob', 'BOB', 'Bob.Smith', 'bob.smith@contoso.com', 'SMTP:Bob.Smith@contoso.com', 'Smith']) {
      const answer = await post(sim, resolveNamesBody(entry));
      assert.deepEqual(messagesOf(answer.body), [{ responseClass: 'Success', code: 'NoError', addresses: ['Bob.Smith@contoso.com'] }], entry);
    }
    const one = await post(sim, resolveNamesBody('smith'));
    assert.equal(textOf(one.body, 'Name'), 'Bob Smith');
    assert.equal(textOf(one.body, 'MailboxType'), 'Mailbox');
    assert.equal(elementsOf(one.body).find((e) => e.local === 'ResolutionSet')?.attrs.TotalItemsInView, '1');
  });

  test('ResolveNames: several matches are a Warning with ErrorNameResolutionMultipleResults; none an Error', async () => {
    const many = await post(sim, resolveNamesBody('bo'));
    assert.deepEqual(messagesOf(many.body), [{ responseClass: 'Warning', code: 'ErrorNameResolutionMultipleResults', addresses: ['Bob.Smith@contoso.com', 'carol.bond@contoso.com'] }]);
    assert.equal(textOf(many.body, 'MessageText'), 'Multiple results were found.');
    for (const entry of ['dave', 'CONTOSO\\bob']) {
      const none = await post(sim, resolveNamesBody(entry));
      assert.deepEqual(messagesOf(none.body), [{ responseClass: 'Error', code: 'ErrorNameResolutionNoResults', addresses: [] }], entry);
    }
    // The mailbox has no contacts: a search of the contacts alone finds nobody.
    const contacts = await post(sim, resolveNamesBody('bob', 'ReturnFullContactData="false" SearchScope="Contacts"'));
    assert.equal(messagesOf(contacts.body)[0]!.code, 'ErrorNameResolutionNoResults');
  });

  test('ResolveNames with ReturnFullContactData: a directory Contact follows each Mailbox', async () => {
    const answer = await post(sim, resolveNamesBody('bob', 'ReturnFullContactData="true"'));
    assert.equal(textOf(answer.body, 'ContactSource'), 'ActiveDirectory');
    assert.equal(textOf(answer.body, 'Entry'), 'SMTP:Bob.Smith@contoso.com');
  });

  test('ResolveNames requests that break the schema get ErrorSchemaValidation', async () => {
    for (const body of [resolveNamesBody('bob', ''), resolveNamesBody('', 'ReturnFullContactData="true"'), resolveNamesBody('bob', 'ReturnFullContactData="yes"'), resolveNamesBody('bob', 'ReturnFullContactData="true" SearchScope="Everywhere"')]) {
      const answer = await post(sim, body);
      assert.equal(answer.status, 500, body);
      assert.equal(textOf(answer.body, 'ResponseCode'), 'ErrorSchemaValidation', body);
    }
  });

  test('scripted answers: an error message per id for ConvertId, a fault for ResolveNames', async () => {
    const id = await rootId();
    sim.script('ConvertId', { error: 'ErrorInternalServerError' });
    const errored = await post(sim, convertIdBody([{ id, mailbox: 'a@b.c' }, { id, mailbox: 'a@b.c' }]));
    assert.deepEqual(messagesOf(errored.body).map((m) => `${m.responseClass} ${m.code}`), ['Error ErrorInternalServerError', 'Error ErrorInternalServerError']);
    sim.script('ResolveNames', { fault: 'ErrorServerBusy', backOffMs: 5000 });
    const busy = await post(sim, resolveNamesBody('bob'));
    assert.equal(busy.status, 500);
    assert.equal(textOf(busy.body, 'ResponseCode'), 'ErrorServerBusy');
    assert.equal(sim.pendingScripts('ConvertId') + sim.pendingScripts('ResolveNames'), 0);
    assert.equal(messagesOf((await post(sim, resolveNamesBody('bob'))).body)[0]!.code, 'NoError', 'a script answers one request');
  });
});

describe('simulator: servers that will not tell the address', () => {
  test("identity.convertId 'unsupported': a SOAP fault, as a server without ConvertId; ResolveNames still answers", async () => {
    const sim = await startSimulator({ identity: { convertId: 'unsupported' } });
    try {
      const answer = await post(sim, convertIdBody([{ id: sim.folder('root')!.id, mailbox: 'nobody@example.com' }]));
      assert.equal(answer.status, 500);
      assert.equal(textOf(answer.body, 'ResponseCode'), 'ErrorInvalidRequest');
      assert.match(textOf(answer.body, 'faultstring')!, /does not implement ConvertId/);
      assert.deepEqual(messagesOf((await post(sim, resolveNamesBody('alice'))).body)[0]!.addresses, ['alice@contoso.com']);
    } finally {
      await sim.close();
    }
  });

  test("identity.resolveNames 'no-results' and 'unsupported'", async () => {
    const quiet = await startSimulator({ identity: { convertId: 'unsupported', resolveNames: 'no-results' } });
    const none = await startSimulator({ identity: { resolveNames: 'unsupported' } });
    try {
      for (const entry of ['alice', 'alice@contoso.com']) {
        assert.deepEqual(messagesOf((await post(quiet, resolveNamesBody(entry))).body), [{ responseClass: 'Error', code: 'ErrorNameResolutionNoResults', addresses: [] }]);
      }
      const fault = await post(none, resolveNamesBody('alice'));
      assert.equal(fault.status, 500);
      assert.equal(textOf(fault.body, 'ResponseCode'), 'ErrorInvalidRequest');
      assert.equal(messagesOf((await post(none, convertIdBody([{ id: none.folder('root')!.id, mailbox: 'x@y.z' }]))).body)[0]!.alternate?.Mailbox, 'alice@contoso.com');
    } finally {
      await Promise.all([quiet.close(), none.close()]);
    }
  });
});
