// End to end: servers that are not EWS, servers that fail or never answer, and a server that loses a subscription
// without an error code (gromox). Configuration failures end the run at once with one line; transient ones retry
// with the attempt count and never say "reconnecting" before anything connected.

import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { runCli, startCli } from '../support/cli.js';
import { envFor, parseLines, requestsOf, subscriptionIdsIn, withSim } from './helpers.js';
import { subscribe as rawSubscribe } from '../simulator/helpers.js';

const IIS_PAGE =
  '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\r\n' +
  '<html xmlns="http://www.w3.org/1999/xhtml"><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1" />\r\n' +
  '<title>IIS Windows Server</title></head><body><div id="container"><a href="http://go.microsoft.com/fwlink/?linkid=66138">IIS</a></div></body></html>';

/** A port on 127.0.0.1 that nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

describe('servers that are not EWS: one line, exit 1 at once', { concurrency: 2 }, () => {
  it('a 200 HTML page (even with -q): names it by its title and says where EWS lives; no retry', async () => {
    await withSim({}, async (sim) => {
      const page = { status: 200, body: IIS_PAGE, headers: { 'Content-Type': 'text/html' } };
      sim.script('Subscribe', page, page);
      for (const flags of [[], ['-q']]) {
        const r = await runCli(['--json', ...flags], { env: envFor(sim) });
        assert.equal(r.code, 1);
        assert.equal(r.stdout, '');
        assert.equal(
          r.stderr,
          'ews-watch: Subscribe: the server answered with an HTML page (title: "IIS Windows Server"), not EWS; check --url: it must be the EWS endpoint (…/EWS/Exchange.asmx), reached without a proxy sign-in page in between\n',
        );
      }
      assert.equal(requestsOf(sim, 'Subscribe').length, 2, 'one Subscribe per run, no retry');
      assert.equal(requestsOf(sim, 'GetStreamingEvents').length, 0);
    });
  });

  it('a 302 to the Outlook on the web sign-in page: names the Location and what it means', async () => {
    await withSim({}, async (sim) => {
      const logon = '/owa/auth/logon.aspx?url=https%3a%2f%2fmail.contoso.com%2fEWS%2fExchange.asmx&reason=0';
      sim.script('Subscribe', { status: 302, headers: { Location: logon } });
      const r = await runCli(['--json'], { env: envFor(sim) });
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      const origin = new URL(sim.url).origin;
      assert.deepEqual(lines(r.stderr), [
        `ews-watch: Subscribe: the server redirected to the Outlook on the web sign-in page (HTTP 302 to ${origin}${logon}), not EWS: the URL is not the EWS endpoint, or a proxy in front of it wants a browser sign-in; check --url and --auth (EWS must be published without forms sign-in)`,
      ]);
      assert.equal(requestsOf(sim, 'Subscribe').length, 1);
    });
  });

  it('a 404 for a mistyped path: names the path and the URL to try', async () => {
    await withSim({}, async (sim) => {
      const origin = new URL(sim.url).origin;
      const r = await runCli(['--json'], { env: envFor(sim, { EWS_URL: `${origin}/EWS/Exchnage.asmx` }) });
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.deepEqual(lines(r.stderr), [
        `ews-watch: Subscribe: HTTP 404 (Not Found) for /EWS/Exchnage.asmx: there is no EWS endpoint at this URL; EWS lives at /EWS/Exchange.asmx: try --url ${origin}/EWS/Exchange.asmx`,
      ]);
      assert.deepEqual(sim.requests.map((q) => q.path), ['/EWS/Exchnage.asmx']);
    });
  });

  it('a URL with no path at all: the site root redirects to Outlook on the web; says where EWS lives', async () => {
    await withSim({}, async (sim) => {
      const origin = new URL(sim.url).origin;
      const r = await runCli(['--json', '-q'], { env: envFor(sim, { EWS_URL: origin }) });
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.deepEqual(lines(r.stderr), [
        `ews-watch: Subscribe: the server redirected to Outlook on the web (HTTP 302 to ${origin}/owa/), not EWS: the URL is not the EWS endpoint, or a proxy in front of it wants a browser sign-in; EWS lives at /EWS/Exchange.asmx: try --url ${origin}/EWS/Exchange.asmx`,
      ]);
      assert.deepEqual(sim.requests.map((q) => q.path), ['/']);
    });
  });
});

describe('transient failures: retried, with the attempt count, never "reconnecting" before anything connected', { concurrency: 2 }, () => {
  it('connection refused: one warning per attempt with the next try; -v shows each attempt', async () => {
    const port = await closedPort();
    const cli = startCli(['--json', '-v'], { env: { EWS_URL: `http://127.0.0.1:${port}/EWS/Exchange.asmx`, EWS_AUTH: 'basic', EWS_USER: 'alice@contoso.com', EWS_PASSWORD: 'pw-not-used-9' } });
    try {
      await cli.stderrMatch(/connection refused \(attempt 3; next try in [\d.]+ m?s\)/, 15_000);
    } finally {
      cli.child.kill('SIGINT');
    }
    const r = await cli.result();
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '');
    const origin = `http://127.0.0.1:${port}`;
    const warnings = lines(r.stderr).filter((l) => l.startsWith('ews-watch: warning:'));
    assert.deepEqual(
      warnings.slice(0, 3).map((w) => w.replace(/next try in [\d.]+ m?s/, 'next try in N s')),
      [1, 2, 3].map((n) => `ews-watch: warning: Subscribe: cannot reach ${origin}: connection refused (attempt ${n}; next try in N s)`),
    );
    assert.ok(r.stderr.includes(`ews-watch: subscribing to inbox of alice@contoso.com (attempt 2)\n`), r.stderr);
    assert.ok(r.stderr.includes(`ews-watch: subscribing to inbox of alice@contoso.com (attempt 3)\n`), r.stderr);
    assert.equal(/reconnect/i.test(r.stderr), false, r.stderr);
    assert.equal(r.stderr.includes('pw-not-used-9'), false);
  });

  it('once a stream was answered, the same 404 is a passing failure: reconnect with backoff, no exit', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'closed' }], { status: 404, body: '<h1>404 - File or directory not found.</h1>' }, [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runCli(['--json', '--max-events', '6'], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(parseLines(r.stdout).length, 6);
      assert.deepEqual(
        lines(r.stderr).map((l) => l.replace(/reconnecting in [\d.]+ m?s/, 'reconnecting in N s')),
        ['ews-watch: warning: GetStreamingEvents: HTTP 404 (Not Found) for /EWS/Exchange.asmx: there is no EWS endpoint at this URL; check --url, and that EWS is enabled on the server; reconnecting in N s'],
      );
      assert.equal(requestsOf(sim, 'GetStreamingEvents').length, 3);
      assert.equal(requestsOf(sim, 'Subscribe').length, 1);
    });
  });

  it("HTTP 503 with Retry-After: waits what the server asked, and says so", async () => {
    await withSim({}, async (sim) => {
      sim.script('Subscribe', { status: 503, headers: { 'Retry-After': '3' }, body: '<h1>Service Unavailable</h1>' });
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runCli(['--json', '--max-events', '1'], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(parseLines(r.stdout).length, 1);
      assert.deepEqual(lines(r.stderr), ['ews-watch: warning: Subscribe: HTTP 503 from the server (Service Unavailable) (attempt 1; next try in 3 s)']);
      const [first, second] = requestsOf(sim, 'Subscribe');
      assert.ok(second.at - first.at >= 2900, `retried after ${second.at - first.at} ms, not the 3 s asked`);
    });
  });

  it('a server that accepts the request and never answers: -v says it waits, then the timeout says what happened', async () => {
    await withSim({}, async (sim) => {
      sim.script('Subscribe', { hang: true });
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runCli(['--json', '-v', '--max-events', '1'], { env: envFor(sim, { EWS_WATCH_ANSWER_TIMEOUT_MS: '1500' }) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(parseLines(r.stdout).length, 1);
      const origin = new URL(sim.url).origin;
      const waited = lines(r.stderr).findIndex((l) => /^ews-watch: no answer to Subscribe after [\d.]+ s; still waiting$/.test(l));
      const timedOut = lines(r.stderr).findIndex(
        (l) => l.replace(/next try in [\d.]+ m?s/, 'next try in N s') === `ews-watch: warning: Subscribe: ${origin} accepted the connection but sent no answer within 1.5 s (attempt 1; next try in N s)`,
      );
      assert.ok(waited >= 0 && timedOut > waited, r.stderr);
      assert.equal(requestsOf(sim, 'Subscribe').length, 2);
    });
  });
});

describe('a subscription lost the gromox way (OK envelope, ErrorSubscriptionIds, no error code)', () => {
  it('subscribes again, prints new mail again, and never unsubscribes the dead id another subscriber now holds', async () => {
    await withSim({ lostSubscriptions: 'gromox' }, async (sim) => {
      const cli = startCli(['--json', '-v'], { env: envFor(sim) });
      try {
        await sim.waitFor(() => sim.connections().length === 1, 15_000);
        const [dead] = sim.connections()[0]!.subscriptionIds;
        assert.equal(dead, 'BAAAAAFAAAAA');
        sim.deliverMail({ subject: 'before' });
        await cli.linesUntil((ls) => ls.some((l) => l.includes('"NewMail"')));
        // The watcher's next Subscribe is held back, so that another client subscribes first and gets the freed id.
        sim.script('Subscribe', { delayMs: 1000 });
        const resubscribe = sim.nextRequest('Subscribe', 15_000);
        sim.expireSubscription(dead);
        await resubscribe;
        const other = await rawSubscribe(sim);
        assert.equal(other.id, dead, 'gromox hands the lost id to the next subscriber');
        await sim.waitFor(() => sim.connections().some((c) => c.subscriptionIds[0] !== dead), 15_000);
        const before = cli.stdout.split('\n').length;
        sim.deliverMail({ subject: 'after' });
        await cli.linesUntil((ls) => ls.length >= before && ls.slice(before - 1).some((l) => l.includes('"NewMail"')));
      } finally {
        cli.child.kill('SIGINT');
      }
      const r = await cli.result();
      assert.equal(r.code, 0, r.stderr);
      const fresh = 'BAAAAAFAAAAB';
      const newMail = parseLines(r.stdout).filter((l) => l.event === 'NewMail');
      assert.deepEqual(newMail.map((l) => l.subscriptionId), ['BAAAAAFAAAAA', fresh]);
      assert.match(r.stderr, /warning: the server no longer holds the subscription \(it listed it in ErrorSubscriptionIds\); subscribing again\n/);
      assert.deepEqual(requestsOf(sim, 'GetStreamingEvents').map((q) => subscriptionIdsIn(q.body)[0]), ['BAAAAAFAAAAA', fresh]);
      assert.deepEqual(requestsOf(sim, 'Unsubscribe').map((q) => subscriptionIdsIn(q.body)), [[fresh]], 'the dead id is never unsubscribed');
      assert.deepEqual(sim.subscriptions().map((s) => s.id), ['BAAAAAFAAAAA'], "the other subscriber's subscription lives on");
    });
  });

  it('-v after an Unsubscribe answered ErrorSubscriptionNotFound says it was already gone, not "unsubscribed"', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      sim.script('Unsubscribe', { error: 'ErrorSubscriptionNotFound', message: 'The specified subscription was not found.' });
      const r = await runCli(['--json', '-v', '--max-events', '1'], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(parseLines(r.stdout).length, 1);
      assert.ok(lines(r.stderr).includes('ews-watch: the subscription was already gone (ErrorSubscriptionNotFound)'), r.stderr);
      assert.equal(lines(r.stderr).includes('ews-watch: unsubscribed'), false);
    });
  });
});

describe('check: a try: line after every FAIL, no doubled prefix, no (?)', () => {
  it('an HTML page and a 404: FAIL once-prefixed, then what to try; exit 1', async () => {
    await withSim({}, async (sim) => {
      sim.script('Subscribe', { status: 200, body: IIS_PAGE, headers: { 'Content-Type': 'text/html' } });
      const html = await runCli(['check'], { env: envFor(sim) });
      assert.equal(html.code, 1);
      const origin = new URL(sim.url).origin;
      const notFound = await runCli(['check'], { env: envFor(sim, { EWS_URL: `${origin}/ews` }) });
      assert.equal(notFound.code, 1);
      for (const [r, fail, tip] of [
        [html, 'FAIL  sign-in and Subscribe: the server answered with an HTML page (title: "IIS Windows Server"), not EWS;', 'point --url at the EWS endpoint itself'],
        [notFound, `FAIL  sign-in and Subscribe: HTTP 404 (Not Found) for /ews: there is no EWS endpoint at this URL; EWS lives at /EWS/Exchange.asmx: try --url ${origin}/EWS/Exchange.asmx`, 'the URL is not an EWS endpoint'],
      ] as const) {
        const out = lines(r.stdout);
        const at = out.findIndex((l) => l.startsWith('FAIL'));
        assert.ok(out[at]!.startsWith(fail), out[at]);
        assert.match(out[at + 1]!, new RegExp(`^ {6}try: ${tip}`));
        assert.equal(out.length, at + 2, 'the try: line ends the report');
        assert.equal(r.stdout.includes('Subscribe: Subscribe'), false);
        assert.equal(r.stderr, '');
      }
    });
  });

  it('a server that reports four version numbers and no schema (gromox): no "(?)", with -v too', async () => {
    await withSim({}, async (sim) => {
      const gromoxSubscribe =
        '<?xml version="1.0" encoding="UTF-8"?><SOAP:Envelope xmlns:SOAP="http://schemas.xmlsoap.org/soap/envelope/"><SOAP:Header>' +
        '<t:ServerVersionInfo xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" MajorVersion="15" MinorVersion="0" MajorBuildNumber="847" MinorBuildNumber="4040"/>' +
        '</SOAP:Header><SOAP:Body><m:SubscribeResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:ResponseMessages>' +
        '<m:SubscribeResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:SubscriptionId>BAAAAAFAAAAA</m:SubscriptionId>' +
        '</m:SubscribeResponseMessage></m:ResponseMessages></m:SubscribeResponse></SOAP:Body></SOAP:Envelope>';
      sim.script('Subscribe', { status: 200, body: gromoxSubscribe, headers: { 'Content-Type': 'text/xml' } });
      const r = await runCli(['check', '-v'], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /\nserver Exchange 15\.0\.847\.4040, Exchange 2013\n/);
      assert.ok(lines(r.stderr).includes('ews-watch: server version: Exchange 15.0.847.4040, Exchange 2013'), r.stderr);
      // The simulator never issued that id, so its Unsubscribe is answered ErrorSubscriptionNotFound.
      assert.match(r.stdout, /\nok {4}Unsubscribe: \d+ ms \(the subscription was already gone: ErrorSubscriptionNotFound\)\n/);
      assert.equal(`${r.stdout}${r.stderr}`.includes('(?)'), false);
    });
  });
});
