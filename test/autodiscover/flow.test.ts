// The autodiscover flow with scripted HTTP and DNS: each place in Microsoft's order, the redirect limit, redirects
// to another domain refused (or followed when allowed), https → http refused, and what it says when nothing answers.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AutodiscoverRefused, discover, MAX_REDIRECTS, type AutodiscoverDeps, type HttpAnswer, type SrvRecord } from '../../src/autodiscover/flow.js';
import { AuthError, UsageError } from '../../src/errors.js';

const EWS = 'https://mail.contoso.test/EWS/Exchange.asmx';

const soapSettings = (url = EWS, grouping = 'Default-First-Site-Name'): HttpAnswer => ({
  status: 200,
  body:
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetUserSettingsResponseMessage xmlns="http://schemas.microsoft.com/exchange/2010/Autodiscover">' +
    '<Response><ErrorCode>NoError</ErrorCode><UserResponses><UserResponse><ErrorCode>NoError</ErrorCode><UserSettings>' +
    `<UserSetting><Name>ExternalEwsUrl</Name><Value>${url}</Value></UserSetting><UserSetting><Name>GroupingInformation</Name><Value>${grouping}</Value></UserSetting>` +
    '</UserSettings></UserResponse></UserResponses></Response></GetUserSettingsResponseMessage></s:Body></s:Envelope>',
});
const soapRedirect = (code: 'RedirectAddress' | 'RedirectUrl', target: string): HttpAnswer => ({
  status: 200,
  body: `<Envelope><Body><GetUserSettingsResponseMessage><Response><ErrorCode>NoError</ErrorCode><UserResponses><UserResponse><ErrorCode>${code}</ErrorCode><RedirectTarget>${target}</RedirectTarget></UserResponse></UserResponses></Response></GetUserSettingsResponseMessage></Body></Envelope>`,
});
const poxSettings = (url = EWS): HttpAnswer => ({
  status: 200,
  body: `<Autodiscover><Response><Account><Action>settings</Action><Protocol><Type>EXPR</Type><EwsUrl>${url}</EwsUrl></Protocol></Account></Response></Autodiscover>`,
});
const poxRedirectAddr = (address: string): HttpAnswer => ({ status: 200, body: `<Autodiscover><Response><Account><Action>redirectAddr</Action><RedirectAddr>${address}</RedirectAddr></Account></Response></Autodiscover>` });
const status = (s: number, location?: string): HttpAnswer => ({ status: s, body: '', ...(location ? { location } : {}) });

type Scripted = HttpAnswer | Error | ((body: string) => HttpAnswer);

interface Fake {
  deps: AutodiscoverDeps;
  /** "POST <url>" / "GET <url>" / "SRV <name>", in order. */
  calls: string[];
  /** The bodies posted, by URL. */
  bodies: Map<string, string>;
  lines: string[];
}

/** Anything not scripted is unreachable (host not found), as most of the candidates are for a real domain. */
function fake(posts: Record<string, Scripted>, gets: Record<string, { status: number; location?: string }> = {}, srv: Record<string, SrvRecord[]> = {}): Fake {
  const calls: string[] = [];
  const bodies = new Map<string, string>();
  const lines: string[] = [];
  const unreachable = (url: string): Error => new Error(`cannot reach ${url}: host not found`);
  return {
    calls,
    bodies,
    lines,
    deps: {
      async post(url, body) {
        calls.push(`POST ${url.href}`);
        bodies.set(url.href, body);
        const s = posts[url.href];
        if (s === undefined) throw unreachable(url.origin);
        if (s instanceof Error) throw s;
        return typeof s === 'function' ? s(body) : s;
      },
      async get(url) {
        calls.push(`GET ${url.href}`);
        const s = gets[url.href];
        if (s === undefined) throw unreachable(url.origin);
        return s;
      },
      async resolveSrv(name) {
        calls.push(`SRV ${name}`);
        const r = srv[name];
        if (r === undefined) throw Object.assign(new Error('querySrv ENOTFOUND'), { code: 'ENOTFOUND' });
        return r;
      },
      log: (line) => void lines.push(line),
    },
  };
}

const D_SVC = 'https://contoso.test/autodiscover/autodiscover.svc';
const D_XML = 'https://contoso.test/autodiscover/autodiscover.xml';
const A_SVC = 'https://autodiscover.contoso.test/autodiscover/autodiscover.svc';
const A_XML = 'https://autodiscover.contoso.test/autodiscover/autodiscover.xml';
const HTTP_GET = 'http://autodiscover.contoso.test/autodiscover/autodiscover.xml';
const SRV = '_autodiscover._tcp.contoso.test';
const ALL_FOUR = [D_SVC, D_XML, A_SVC, A_XML].map((u) => `POST ${u}`);

describe('autodiscover: where it looks, in order', () => {
  it('https://<domain> SOAP first: one request, its ExternalEwsUrl and GroupingInformation', async () => {
    const f = fake({ [D_SVC]: soapSettings() });
    const found = await discover(f.deps, { address: 'alice@contoso.test' });
    assert.deepEqual(found, { ewsUrl: EWS, via: `SOAP ${D_SVC}`, address: 'alice@contoso.test', groupingInformation: 'Default-First-Site-Name' });
    assert.deepEqual(f.calls, [`POST ${D_SVC}`]);
    assert.match(f.bodies.get(D_SVC)!, /<a:Mailbox>alice@contoso\.test<\/a:Mailbox>/);
  });

  it('<domain> POX when its SOAP endpoint is absent (404)', async () => {
    const f = fake({ [D_SVC]: status(404), [D_XML]: poxSettings() });
    const found = await discover(f.deps, { address: 'alice@contoso.test' });
    assert.equal(found.via, `POX ${D_XML}`);
    assert.deepEqual(f.calls, [`POST ${D_SVC}`, `POST ${D_XML}`]);
    assert.match(f.bodies.get(D_XML)!, /<EMailAddress>alice@contoso\.test<\/EMailAddress>/);
    assert.deepEqual(f.lines, [`autodiscover: SOAP ${D_SVC}: HTTP 404`, `autodiscover: POX ${D_XML}: EWS URL ${EWS}`]);
  });

  it('autodiscover.<domain> when <domain> does not answer at all', async () => {
    const f = fake({ [A_SVC]: soapSettings() });
    const found = await discover(f.deps, { address: 'alice@contoso.test' });
    assert.equal(found.via, `SOAP ${A_SVC}`);
    assert.deepEqual(f.calls, [`POST ${D_SVC}`, `POST ${D_XML}`, `POST ${A_SVC}`]);
  });

  it('the plain-http redirect: an unauthenticated GET, then its https Location (POX by the path)', async () => {
    const f = fake({ 'https://mail.contoso.test/autodiscover/autodiscover.xml': poxSettings() }, { [HTTP_GET]: { status: 302, location: 'https://mail.contoso.test/autodiscover/autodiscover.xml' } });
    const found = await discover(f.deps, { address: 'alice@contoso.test' });
    assert.equal(found.via, 'POX https://mail.contoso.test/autodiscover/autodiscover.xml');
    assert.deepEqual(f.calls, [...ALL_FOUR, `GET ${HTTP_GET}`, 'POST https://mail.contoso.test/autodiscover/autodiscover.xml']);
    // Nothing that carries credentials ever went to a plain-http URL.
    assert.ok(f.calls.every((c) => !c.startsWith('POST http:')));
  });

  it('the SRV record last: only port 443, the lowest priority, then the highest weight', async () => {
    const records: SrvRecord[] = [
      { name: 'ad-b.contoso.test', port: 443, priority: 10, weight: 100 },
      { name: 'ad-a.contoso.test.', port: 443, priority: 0, weight: 5 },
      { name: 'ad-c.contoso.test', port: 443, priority: 0, weight: 1 },
      { name: 'ad-d.contoso.test', port: 80, priority: 0, weight: 50 },
    ];
    const f = fake({ 'https://ad-a.contoso.test/autodiscover/autodiscover.svc': soapSettings() }, { [HTTP_GET]: { status: 404 } }, { [SRV]: records });
    const found = await discover(f.deps, { address: 'alice@contoso.test' });
    assert.equal(found.via, 'SOAP https://ad-a.contoso.test/autodiscover/autodiscover.svc');
    assert.deepEqual(f.calls.slice(4), [`GET ${HTTP_GET}`, `SRV ${SRV}`, 'POST https://ad-a.contoso.test/autodiscover/autodiscover.svc']);
  });

  it('RedirectAddress within the domain: asks again, from the start, for the new address', async () => {
    const f = fake({ [D_SVC]: (body) => (body.includes('alice@') ? soapRedirect('RedirectAddress', 'alice.smith@contoso.test') : soapSettings()) });
    const found = await discover(f.deps, { address: 'alice@contoso.test' });
    assert.equal(found.address, 'alice.smith@contoso.test');
    assert.deepEqual(f.calls, [`POST ${D_SVC}`, `POST ${D_SVC}`]);
  });

  it('an HTTP 302 of an https endpoint to another https URL of the domain is followed', async () => {
    const f = fake({ [D_SVC]: status(302, 'https://ad.contoso.test/autodiscover/autodiscover.svc'), 'https://ad.contoso.test/autodiscover/autodiscover.svc': soapSettings() });
    assert.equal((await discover(f.deps, { address: 'alice@contoso.test' })).via, 'SOAP https://ad.contoso.test/autodiscover/autodiscover.svc');
  });
});

describe('autodiscover: what it refuses', () => {
  it(`at most ${MAX_REDIRECTS} redirects, then a UsageError naming the last`, async () => {
    const posts: Record<string, Scripted> = {};
    for (let i = 0; i <= MAX_REDIRECTS + 1; i++) posts[`https://ad${i}.contoso.test/autodiscover/autodiscover.svc`] = soapRedirect('RedirectUrl', `https://ad${i + 1}.contoso.test/autodiscover/autodiscover.svc`);
    posts[D_SVC] = soapRedirect('RedirectUrl', 'https://ad0.contoso.test/autodiscover/autodiscover.svc');
    const f = fake(posts);
    await assert.rejects(discover(f.deps, { address: 'alice@contoso.test' }), (err: Error) => {
      assert.ok(err instanceof UsageError);
      assert.match(err.message, new RegExp(`gave up after ${MAX_REDIRECTS} redirects .*to https://ad10\\.contoso\\.test/.*pass --url`));
      return true;
    });
    assert.equal(f.calls.length, MAX_REDIRECTS + 1);
  });

  it('a redirect loop ends without asking the same place twice', async () => {
    const f = fake({ [D_SVC]: soapRedirect('RedirectUrl', A_SVC), [A_SVC]: soapRedirect('RedirectUrl', D_SVC) }, { [HTTP_GET]: { status: 404 } }, { [SRV]: [] });
    await assert.rejects(discover(f.deps, { address: 'alice@contoso.test' }), UsageError);
    assert.equal(f.calls.filter((c) => c === `POST ${D_SVC}`).length, 1);
    assert.ok(f.lines.some((l) => /already asked; a redirect loop/.test(l)));
  });

  it('a RedirectUrl to another domain is refused with its name and the two ways on, and nothing is sent there', async () => {
    const f = fake({ [D_SVC]: soapRedirect('RedirectUrl', 'https://autodiscover.hoster.example/autodiscover/autodiscover.svc') });
    await assert.rejects(discover(f.deps, { address: 'alice@contoso.test' }), (err: Error) => {
      assert.ok(err instanceof AutodiscoverRefused && err instanceof UsageError);
      assert.equal(
        err.message,
        `autodiscover: SOAP ${D_SVC} redirects to autodiscover.hoster.example, outside contoso.test; not sending your credentials there. Pass --url https://<server>/EWS/Exchange.asmx, or allow it with --autodiscover-allow hoster.example`,
      );
      return true;
    });
    assert.deepEqual(f.calls, [`POST ${D_SVC}`]);
  });

  it('…and followed when the user allowed that domain', async () => {
    const target = 'https://autodiscover.hoster.example/autodiscover/autodiscover.svc';
    const f = fake({ [D_SVC]: soapRedirect('RedirectUrl', target), [target]: soapSettings('https://ex.hoster.example/EWS/Exchange.asmx') });
    const found = await discover(f.deps, { address: 'alice@contoso.test', allowedDomains: ['hoster.example'] });
    assert.equal(found.ewsUrl, 'https://ex.hoster.example/EWS/Exchange.asmx');
  });

  it('the plain-http redirect to another domain is refused too (anyone on the path can forge it)', async () => {
    const f = fake({}, { [HTTP_GET]: { status: 302, location: 'https://evil.example/autodiscover/autodiscover.xml' } });
    await assert.rejects(discover(f.deps, { address: 'alice@contoso.test' }), /GET http:\/\/autodiscover\.contoso\.test\/autodiscover\/autodiscover\.xml redirects to evil\.example, outside contoso\.test/);
    assert.ok(!f.calls.some((c) => c.includes('evil.example')));
  });

  it('an SRV record naming another domain is refused', async () => {
    const f = fake({}, { [HTTP_GET]: { status: 404 } }, { [SRV]: [{ name: 'ad.evil.example', port: 443, priority: 0, weight: 0 }] });
    await assert.rejects(discover(f.deps, { address: 'alice@contoso.test' }), /SRV _autodiscover\._tcp\.contoso\.test redirects to ad\.evil\.example, outside contoso\.test/);
  });

  it('redirectAddr to the tenant address in Exchange Online: says so, and that Exchange Online needs --auth oauth', async () => {
    const f = fake({ [D_SVC]: status(404), [D_XML]: poxRedirectAddr('alice@contoso.mail.onmicrosoft.com') });
    await assert.rejects(discover(f.deps, { address: 'alice@contoso.test' }), (err: Error) => {
      assert.ok(err instanceof AutodiscoverRefused);
      assert.match(err.message, /sends alice@contoso\.test on to alice@contoso\.mail\.onmicrosoft\.com: the mailbox is in Exchange Online, which takes OAuth only; use --auth oauth/);
      return true;
    });
  });

  it('https → http: a redirect to plain http is refused (not followed) and named in the final error', async () => {
    const f = fake({ [D_SVC]: status(302, 'http://contoso.test/autodiscover/autodiscover.svc') }, { [HTTP_GET]: { status: 404 } }, { [SRV]: [] });
    await assert.rejects(discover(f.deps, { address: 'alice@contoso.test' }), (err: Error) => {
      assert.ok(err instanceof UsageError);
      assert.match(err.message, /^autodiscover found no EWS URL for alice@contoso\.test \(6 places tried, -v lists them; among them SOAP https:\/\/contoso\.test\/autodiscover\/autodiscover\.svc: refused the redirect to http:\/\/contoso\.test\/autodiscover\/autodiscover\.svc: plain http would carry the credentials unencrypted\); pass --url/);
      return true;
    });
    assert.ok(!f.calls.some((c) => c.startsWith('POST http:')));
  });

  it('https → http: a RedirectUrl to plain http and an http EWS URL are refused too', async () => {
    const f = fake({ [D_SVC]: soapRedirect('RedirectUrl', 'http://contoso.test/ad.svc'), [D_XML]: poxSettings('http://mail.contoso.test/EWS/Exchange.asmx'), [A_SVC]: soapSettings() });
    const found = await discover(f.deps, { address: 'alice@contoso.test' });
    assert.equal(found.via, `SOAP ${A_SVC}`);
    assert.ok(f.lines.some((l) => l.includes('refused the EWS URL http://mail.contoso.test/EWS/Exchange.asmx')));
  });

  it('the plain-http GET answered with a redirect to http is refused', async () => {
    const f = fake({}, { [HTTP_GET]: { status: 301, location: 'http://mail.contoso.test/autodiscover/autodiscover.xml' } }, { [SRV]: [] });
    await assert.rejects(discover(f.deps, { address: 'alice@contoso.test' }), /among them GET http:\/\/autodiscover\.contoso\.test\/autodiscover\/autodiscover\.xml: refused the redirect to http:/);
    assert.ok(!f.calls.includes('POST http://mail.contoso.test/autodiscover/autodiscover.xml'));
  });
});

describe('autodiscover: nothing found', () => {
  it('every place unreachable: a UsageError naming the address, the count, the last place, and --url', async () => {
    const f = fake({});
    await assert.rejects(discover(f.deps, { address: 'alice@contoso.test' }), (err: Error) => {
      assert.ok(err instanceof UsageError);
      assert.equal(err.message, `autodiscover found no EWS URL for alice@contoso.test (6 places tried, -v lists them; the last: SRV ${SRV}: ENOTFOUND); pass --url https://<server>/EWS/Exchange.asmx or set EWS_URL`);
      return true;
    });
    assert.equal(f.lines.length, 6);
  });

  it('every server that answered refused the credentials: an AuthError (exit 4), not "not found"', async () => {
    const f = fake({ [D_SVC]: status(401), [D_XML]: status(401), [A_SVC]: status(401), [A_XML]: status(401) });
    await assert.rejects(discover(f.deps, { address: 'alice@contoso.test' }), (err: Error) => {
      assert.ok(err instanceof AuthError);
      assert.match(err.message, /every server that answered refused the credentials \(4× 401\/403\); check the user name and password/);
      return true;
    });
  });

  it('one 401 among other failures is not taken for bad credentials (Learn: a single 401 does not mean that)', async () => {
    const f = fake({ [D_SVC]: status(401), [D_XML]: status(404) });
    await assert.rejects(discover(f.deps, { address: 'alice@contoso.test' }), (err: Error) => !(err instanceof AuthError) && err instanceof UsageError);
  });

  it('server text in the lines is cleaned of control characters and bidi overrides', async () => {
    const f = fake({ [D_SVC]: { status: 200, body: '<Envelope><Body><GetUserSettingsResponseMessage><Response><ErrorCode>Bad\u202eCode</ErrorCode><ErrorMessage>x\u2066y\u0085z</ErrorMessage></Response></GetUserSettingsResponseMessage></Body></Envelope>' } });
    await assert.rejects(discover(f.deps, { address: 'alice@contoso.test' }));
    assert.equal(f.lines[0], `autodiscover: SOAP ${D_SVC}: BadCode (xy z)`);
  });
});
