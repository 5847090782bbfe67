// Autodiscover for many mailboxes with scripted HTTP: batches of 100 paired with their addresses by position, the
// endpoint found once per domain, per-mailbox errors and redirects (https only, within the domain, bounded, no
// loops), and a throttled server's short list asked again.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AutodiscoverDeps, HttpAnswer } from '../../src/autodiscover/flow.js';
import { discoverMany } from '../../src/autodiscover/many.js';

const D_SVC = 'https://contoso.test/autodiscover/autodiscover.svc';
const A_SVC = 'https://autodiscover.contoso.test/autodiscover/autodiscover.svc';
const EWS = (n: number): string => `https://mail${n}.contoso.test/EWS/Exchange.asmx`;

const setting = (name: string, value: string): string => `<UserSetting><Name>${name}</Name><Value>${value}</Value></UserSetting>`;
const ok = (url: string, grouping?: string): string =>
  `<ErrorCode>NoError</ErrorCode><UserSettings>${setting('ExternalEwsUrl', url)}${grouping ? setting('GroupingInformation', grouping) : ''}</UserSettings>`;
const userError = (code: string, target = '', message = ''): string => `<ErrorCode>${code}</ErrorCode><ErrorMessage>${message}</ErrorMessage><RedirectTarget>${target}</RedirectTarget>`;
const envelope = (outer: string, responses: string[]): string =>
  '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetUserSettingsResponseMessage xmlns="http://schemas.microsoft.com/exchange/2010/Autodiscover">' +
  `<Response><ErrorCode>${outer}</ErrorCode><UserResponses>${responses.map((r) => `<UserResponse>${r}</UserResponse>`).join('')}</UserResponses></Response>` +
  '</GetUserSettingsResponseMessage></s:Body></s:Envelope>';

const mailboxesOf = (body: string): string[] => [...body.matchAll(/<a:Mailbox>([^<]*)<\/a:Mailbox>/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));

/** A SOAP endpoint answering each mailbox of the request with `answer(address)`; `keep` trims the list (throttling). */
const soap =
  (answer: (address: string) => string, keep?: (mailboxes: string[]) => number) =>
  (body: string): HttpAnswer => {
    const asked = mailboxesOf(body);
    const n = keep ? keep(asked) : asked.length;
    return { status: 200, body: envelope('NoError', asked.slice(0, n).map(answer)) };
  };

interface Fake {
  deps: AutodiscoverDeps;
  /** "POST <url> <n mailboxes>", in order. */
  calls: string[];
  /** Every mailbox asked, per request. */
  asked: string[][];
  lines: string[];
}

function fake(posts: Record<string, HttpAnswer | ((body: string) => HttpAnswer)>): Fake {
  const f: Fake = {
    calls: [],
    asked: [],
    lines: [],
    deps: {
      async post(url, body, protocol) {
        assert.equal(protocol, 'SOAP');
        const mailboxes = mailboxesOf(body);
        f.calls.push(`POST ${url.href} ${mailboxes.length}`);
        f.asked.push(mailboxes);
        const s = posts[url.href];
        if (s === undefined) throw new Error(`cannot reach ${url.origin}: host not found`);
        return typeof s === 'function' ? s(body) : s;
      },
      get: () => Promise.reject(new Error('no GET expected')),
      resolveSrv: () => Promise.reject(new Error('no SRV expected')),
      log: (line) => void f.lines.push(line),
    },
  };
  return f;
}

const addresses = (n: number): string[] => Array.from({ length: n }, (_, i) => `user${String(i + 1).padStart(3, '0')}@contoso.test`);
/** Odd users on backend 1, even on backend 2: a wrong pairing of answers to addresses shows. */
const byParity = (a: string): string => {
  const n = Number(/user(\d+)/.exec(a)?.[1] ?? 0);
  return n % 2 === 1 ? ok(EWS(1), 'EXSIM01') : ok(EWS(2), 'EXSIM02');
};

describe('discoverMany: batches', () => {
  it('250 addresses: requests of 100, 100, 50 to the endpoint that answered; each answer with its own address', async () => {
    const f = fake({ [D_SVC]: soap(byParity) });
    const found = await discoverMany(f.deps, { addresses: addresses(250) });
    assert.deepEqual(f.calls, [`POST ${D_SVC} 100`, `POST ${D_SVC} 100`, `POST ${D_SVC} 50`]);
    assert.deepEqual([...found.keys()], addresses(250));
    assert.deepEqual(found.get('user001@contoso.test'), { ok: true, ewsUrl: EWS(1), groupingInformation: 'EXSIM01', address: 'user001@contoso.test', via: `SOAP ${D_SVC}` });
    assert.deepEqual(found.get('user250@contoso.test'), { ok: true, ewsUrl: EWS(2), groupingInformation: 'EXSIM02', address: 'user250@contoso.test', via: `SOAP ${D_SVC}` });
    for (const [a, r] of found) assert.equal(r.ok && r.groupingInformation, Number(a.slice(4, 7)) % 2 ? 'EXSIM01' : 'EXSIM02', a);
  });

  it('<domain> unreachable: autodiscover.<domain>, and every later batch goes straight there', async () => {
    const f = fake({ [A_SVC]: soap(byParity) });
    const found = await discoverMany(f.deps, { addresses: addresses(150) });
    assert.deepEqual(f.calls, [`POST ${D_SVC} 100`, `POST ${A_SVC} 100`, `POST ${A_SVC} 50`]);
    assert.equal([...found.values()].filter((r) => r.ok).length, 150);
  });

  it('the endpoint that answered fails for a later batch: the other place is tried for that batch', async () => {
    let calls = 0;
    const f = fake({ [D_SVC]: (body) => (++calls === 1 ? soap(byParity)(body) : { status: 503, body: '' }), [A_SVC]: soap(byParity) });
    const found = await discoverMany(f.deps, { addresses: addresses(150) });
    assert.deepEqual(f.calls, [`POST ${D_SVC} 100`, `POST ${D_SVC} 50`, `POST ${A_SVC} 50`]);
    const last = found.get('user150@contoso.test')!;
    assert.equal(last.ok && last.via, `SOAP ${A_SVC}`);
  });

  it('a given endpoint is asked for every domain; an address listed twice in another case is asked once', async () => {
    const f = fake({ 'https://ad.contoso.test/autodiscover/autodiscover.svc': soap(() => ok(EWS(1))) });
    const found = await discoverMany(f.deps, { addresses: ['a@contoso.test', 'b@fabrikam.test', 'A@CONTOSO.TEST'], endpoint: 'https://ad.contoso.test/autodiscover/autodiscover.svc' });
    assert.deepEqual(f.asked, [['a@contoso.test', 'b@fabrikam.test']]);
    assert.deepEqual([...found.keys()], ['a@contoso.test', 'b@fabrikam.test']);
  });

  it('no endpoint answers: each address gets the reason, nothing throws', async () => {
    const f = fake({ [D_SVC]: { status: 401, body: '' } });
    const found = await discoverMany(f.deps, { addresses: ['a@contoso.test', 'b@contoso.test'] });
    for (const r of found.values()) {
      assert.equal(r.ok, false);
      assert.match(!r.ok ? r.reason : '', /2 places tried; the last: SOAP https:\/\/autodiscover\.contoso\.test\/autodiscover\/autodiscover\.svc: cannot reach/);
    }
    assert.ok(f.lines.some((l) => l.includes(`SOAP ${D_SVC}: 401, the credentials were refused`)));
  });

  it("a throttled server's short list: the left-out addresses are asked again; still left out after the retries, a reason", async () => {
    let first = true;
    const f = fake({
      [D_SVC]: soap(byParity, (asked) => {
        if (first) return (first = false), 2;
        return asked.filter((a) => a !== 'user004@contoso.test').length === asked.length ? asked.length : asked.indexOf('user004@contoso.test');
      }),
    });
    const found = await discoverMany(f.deps, { addresses: addresses(5) });
    // Asked three times in all (the default two retries); user005 shares user004's fate, as it comes after it.
    assert.deepEqual(f.asked, [addresses(5), ['user003@contoso.test', 'user004@contoso.test', 'user005@contoso.test'], ['user004@contoso.test', 'user005@contoso.test']]);
    assert.deepEqual(
      [...found].map(([a, r]) => [a, r.ok]),
      [
        ['user001@contoso.test', true],
        ['user002@contoso.test', true],
        ['user003@contoso.test', true],
        ['user004@contoso.test', false],
        ['user005@contoso.test', false],
      ],
    );
    const r4 = found.get('user004@contoso.test')!;
    assert.match(!r4.ok ? r4.reason : '', /left user004@contoso\.test out of 3 answers/);
  });
});

describe('discoverMany: per-mailbox answers', () => {
  it('InvalidUser is that mailbox’s reason; the others are found', async () => {
    const f = fake({ [D_SVC]: soap((a) => (a.startsWith('gone') ? userError('InvalidUser', '', `Invalid user: '${a}'`) : ok(EWS(1), 'S1'))) });
    const found = await discoverMany(f.deps, { addresses: ['a@contoso.test', 'gone@contoso.test', 'b@contoso.test'] });
    assert.deepEqual(
      [...found].map(([a, r]) => [a, r.ok ? r.ewsUrl : r.reason]),
      [
        ['a@contoso.test', EWS(1)],
        ['gone@contoso.test', `SOAP ${D_SVC}: InvalidUser (Invalid user: 'gone@contoso.test')`],
        ['b@contoso.test', EWS(1)],
      ],
    );
  });

  it('RedirectAddress within the domain: asked again for the new address, found under the address given', async () => {
    const f = fake({ [D_SVC]: soap((a) => (a === 'old@contoso.test' ? userError('RedirectAddress', 'new@contoso.test') : ok(EWS(2), 'S2'))) });
    const found = await discoverMany(f.deps, { addresses: ['old@contoso.test', 'x@contoso.test'] });
    assert.deepEqual(f.asked, [['old@contoso.test', 'x@contoso.test'], ['new@contoso.test']]);
    assert.deepEqual(found.get('old@contoso.test'), { ok: true, ewsUrl: EWS(2), groupingInformation: 'S2', address: 'new@contoso.test', via: `SOAP ${D_SVC}` });
  });

  it('RedirectAddress to another domain: refused (not asked) unless allowed, then asked at that domain', async () => {
    const posts = {
      [D_SVC]: soap((a) => (a === 'carol@contoso.test' ? userError('RedirectAddress', 'carol@fabrikam.test') : ok(EWS(1)))),
      'https://fabrikam.test/autodiscover/autodiscover.svc': soap(() => ok('https://mail.fabrikam.test/EWS/Exchange.asmx')),
    };
    const f = fake(posts);
    const refused = (await discoverMany(f.deps, { addresses: ['carol@contoso.test'] })).get('carol@contoso.test')!;
    assert.equal(refused.ok, false);
    assert.match(!refused.ok ? refused.reason : '', /sends carol@contoso\.test on to carol@fabrikam\.test, outside contoso\.test; not followed \(allow it with --autodiscover-allow fabrikam\.test\)/);
    assert.equal(!refused.ok && refused.refused, true);
    assert.equal(f.calls.length, 1);
    const g = fake(posts);
    const allowed = (await discoverMany(g.deps, { addresses: ['carol@contoso.test'], allowedDomains: ['Fabrikam.test'] })).get('carol@contoso.test')!;
    assert.deepEqual(allowed, { ok: true, ewsUrl: 'https://mail.fabrikam.test/EWS/Exchange.asmx', address: 'carol@fabrikam.test', via: 'SOAP https://fabrikam.test/autodiscover/autodiscover.svc' });
  });

  it('RedirectUrl for one mailbox: https in the domain is followed for it alone; http is refused', async () => {
    const other = 'https://ad2.contoso.test/autodiscover/autodiscover.svc';
    const f = fake({
      [D_SVC]: soap((a) => (a === 'moved@contoso.test' ? userError('RedirectUrl', other) : a === 'plain@contoso.test' ? userError('RedirectUrl', 'http://ad2.contoso.test/autodiscover/autodiscover.svc') : ok(EWS(1)))),
      [other]: soap(() => ok(EWS(3), 'S3')),
    });
    const found = await discoverMany(f.deps, { addresses: ['a@contoso.test', 'moved@contoso.test', 'plain@contoso.test'] });
    assert.deepEqual(f.calls, [`POST ${D_SVC} 3`, `POST ${other} 1`]);
    assert.deepEqual(found.get('moved@contoso.test'), { ok: true, ewsUrl: EWS(3), groupingInformation: 'S3', address: 'moved@contoso.test', via: `SOAP ${other}` });
    const plain = found.get('plain@contoso.test')!;
    assert.match(!plain.ok ? plain.reason : '', /refused the redirect http:\/\/ad2\.contoso\.test\/.*plain http would carry the credentials unencrypted/);
  });

  it('an http EWS URL is refused for that mailbox', async () => {
    const f = fake({ [D_SVC]: soap((a) => (a === 'b@contoso.test' ? ok('http://mail.contoso.test/EWS/Exchange.asmx') : ok(EWS(1)))) });
    const found = await discoverMany(f.deps, { addresses: ['a@contoso.test', 'b@contoso.test'] });
    assert.equal(found.get('a@contoso.test')!.ok, true);
    const b = found.get('b@contoso.test')!;
    assert.match(!b.ok ? b.reason : '', /refused the EWS URL http:\/\/mail\.contoso\.test\/EWS\/Exchange\.asmx/);
  });

  it('an address redirect loop stops at once; a chain stops after 10 redirects', async () => {
    const f = fake({
      [D_SVC]: soap((a) => {
        if (a === 'ping@contoso.test') return userError('RedirectAddress', 'pong@contoso.test');
        if (a === 'pong@contoso.test') return userError('RedirectAddress', 'ping@contoso.test');
        const n = Number(/^c(\d+)@/.exec(a)?.[1]);
        return userError('RedirectAddress', `c${n + 1}@contoso.test`);
      }),
    });
    const found = await discoverMany(f.deps, { addresses: ['ping@contoso.test', 'c0@contoso.test'] });
    const loop = found.get('ping@contoso.test')!;
    assert.match(!loop.ok ? loop.reason : '', /a redirect loop for ping@contoso\.test/);
    const chain = found.get('c0@contoso.test')!;
    assert.match(!chain.ok ? chain.reason : '', /gave up on c0@contoso\.test after 10 redirects/);
    // c0 was asked, then c1 … c10: eleven times, never c11.
    assert.equal(f.asked.flat().filter((a) => a.startsWith('c')).length, 11);
  });
});

describe('discoverMany: redirects of the whole request', () => {
  it('an HTTP 302 to https in the domain is followed with the same batch; to plain http it is refused for all', async () => {
    const to = 'https://ad.contoso.test/autodiscover/autodiscover.svc';
    const f = fake({ [D_SVC]: { status: 302, location: to, body: '' }, [to]: soap(byParity) });
    const found = await discoverMany(f.deps, { addresses: addresses(3) });
    assert.deepEqual(f.calls, [`POST ${D_SVC} 3`, `POST ${to} 3`]);
    assert.equal([...found.values()].every((r) => r.ok && r.via === `SOAP ${to}`), true);

    const g = fake({ [D_SVC]: { status: 302, location: 'http://ad.contoso.test/autodiscover/autodiscover.svc', body: '' } });
    const refused = await discoverMany(g.deps, { addresses: addresses(2) });
    for (const r of refused.values()) assert.equal(!r.ok && r.refused, true);
    assert.ok(g.calls.every((c) => !c.startsWith('POST http:')));
  });

  it("the Response's RedirectUrl to another domain is refused, not followed", async () => {
    const f = fake({ [D_SVC]: { status: 200, body: envelope('RedirectUrl', []).replace('<UserResponses>', '<RedirectTarget>https://evil.test/autodiscover/autodiscover.svc</RedirectTarget><UserResponses>') } });
    const found = await discoverMany(f.deps, { addresses: ['a@contoso.test'] });
    const r = found.get('a@contoso.test')!;
    assert.match(!r.ok ? r.reason : '', /refused the redirect to evil\.test, outside contoso\.test/);
    assert.ok(!f.calls.some((c) => c.includes('evil.test')));
  });
});
