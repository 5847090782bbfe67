// The autodiscover codec: request bodies read back with the simulator's namespace-aware parser (no XSD for
// autodiscover is in ../shared/ews-schema, which holds EWS's messages and types only), and answers in the shapes
// Microsoft documents (Learn "GetUserSettings operation (SOAP)", "POX Autodiscover response for Exchange").

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AUTODISCOVER_SOAP_NS, buildGetUserSettings, buildGetUserSettingsBatch, buildPoxRequest, decodeGetUserSettings, decodeGetUserSettingsBatch, decodePoxAnswer, ewsUrlOf, MAX_USERS_PER_REQUEST } from '../../src/autodiscover/codec.js';
import { parseXmlTree, type XmlNode } from '../../src/simulator/xml-tree.js';

const SOAP_ENV = 'http://schemas.xmlsoap.org/soap/envelope/';

function path(root: XmlNode, ...names: string[]): XmlNode {
  let el = root;
  for (const n of names) {
    const next = el.children.find((c) => c.local === n);
    assert.ok(next, `no ${n} under ${el.local}`);
    el = next;
  }
  return el;
}

const soapAnswer = (user: string, outer = 'NoError'): string =>
  '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header>' +
  '<a:Action s:mustUnderstand="1">http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettingsResponse</a:Action></s:Header>' +
  '<s:Body><GetUserSettingsResponseMessage xmlns="http://schemas.microsoft.com/exchange/2010/Autodiscover">' +
  `<Response xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><ErrorCode>${outer}</ErrorCode><ErrorMessage/>` +
  `<UserResponses><UserResponse>${user}</UserResponse></UserResponses></Response></GetUserSettingsResponseMessage></s:Body></s:Envelope>`;

const setting = (name: string, value: string): string => `<UserSetting i:type="StringSetting"><Name>${name}</Name><Value>${value}</Value></UserSetting>`;

describe('autodiscover requests', () => {
  it('SOAP GetUserSettings: the 2010 Autodiscover namespace, wsa:Action and wsa:To, one Mailbox, the three settings', () => {
    const xml = buildGetUserSettings('alice&bob@contoso.com', 'https://autodiscover.contoso.com/autodiscover/autodiscover.svc');
    const parsed = parseXmlTree(xml);
    assert.ok(parsed.ok);
    const root = parsed.root;
    assert.equal(root.uri, SOAP_ENV);
    assert.equal(path(root, 'Header', 'RequestedServerVersion').uri, AUTODISCOVER_SOAP_NS);
    assert.equal(path(root, 'Header', 'Action').text, `${AUTODISCOVER_SOAP_NS}/Autodiscover/GetUserSettings`);
    assert.equal(path(root, 'Header', 'To').text, 'https://autodiscover.contoso.com/autodiscover/autodiscover.svc');
    const request = path(root, 'Body', 'GetUserSettingsRequestMessage', 'Request');
    assert.equal(request.uri, AUTODISCOVER_SOAP_NS);
    assert.equal(path(request, 'Users', 'User', 'Mailbox').text, 'alice&bob@contoso.com');
    assert.deepEqual(path(request, 'RequestedSettings').children.map((c) => c.text), ['ExternalEwsUrl', 'InternalEwsUrl', 'GroupingInformation']);
  });

  it('POX: the Outlook request schema, the address, and the 2006a response schema that carries EwsUrl', () => {
    const parsed = parseXmlTree(buildPoxRequest('alice@contoso.com'));
    assert.ok(parsed.ok);
    assert.equal(parsed.root.uri, 'http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006');
    assert.equal(path(parsed.root, 'Request', 'EMailAddress').text, 'alice@contoso.com');
    assert.equal(path(parsed.root, 'Request', 'AcceptableResponseSchema').text, 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a');
  });
});

describe('SOAP GetUserSettings answers', () => {
  it('settings: ExternalEwsUrl first, InternalEwsUrl kept, GroupingInformation', () => {
    const xml = soapAnswer(
      '<ErrorCode>NoError</ErrorCode><ErrorMessage>No error.</ErrorMessage><RedirectTarget i:nil="true"/><UserSettingErrors/><UserSettings>' +
        setting('InternalEwsUrl', 'https://mbx01.contoso.local/EWS/Exchange.asmx') +
        setting('ExternalEwsUrl', 'https://mail.contoso.com/EWS/Exchange.asmx') +
        setting('GroupingInformation', 'Default-First-Site-Name') +
        '</UserSettings>',
    );
    const a = decodeGetUserSettings(xml);
    assert.deepEqual(a, { kind: 'settings', externalEwsUrl: 'https://mail.contoso.com/EWS/Exchange.asmx', internalEwsUrl: 'https://mbx01.contoso.local/EWS/Exchange.asmx', groupingInformation: 'Default-First-Site-Name' });
    assert.equal(a.kind === 'settings' ? ewsUrlOf(a) : '', 'https://mail.contoso.com/EWS/Exchange.asmx');
  });

  it('only an InternalEwsUrl: that one (the EWS Managed API falls back to it)', () => {
    const a = decodeGetUserSettings(soapAnswer(`<ErrorCode>NoError</ErrorCode><UserSettings>${setting('InternalEwsUrl', 'https://mbx01/EWS/Exchange.asmx')}</UserSettings>`));
    assert.equal(a.kind === 'settings' ? ewsUrlOf(a) : 'not settings', 'https://mbx01/EWS/Exchange.asmx');
  });

  it('RedirectAddress and RedirectUrl carry their target in RedirectTarget', () => {
    assert.deepEqual(decodeGetUserSettings(soapAnswer('<ErrorCode>RedirectAddress</ErrorCode><ErrorMessage>x</ErrorMessage><RedirectTarget>bob@contoso.com</RedirectTarget>')), { kind: 'redirect-address', address: 'bob@contoso.com' });
    assert.deepEqual(decodeGetUserSettings(soapAnswer('<ErrorCode>RedirectUrl</ErrorCode><RedirectTarget>https://ad2.contoso.com/autodiscover/autodiscover.svc</RedirectTarget>')), {
      kind: 'redirect-url',
      url: 'https://ad2.contoso.com/autodiscover/autodiscover.svc',
    });
  });

  it('InvalidUser for the mailbox, and an error of the whole request, are errors with code and message', () => {
    assert.deepEqual(decodeGetUserSettings(soapAnswer("<ErrorCode>InvalidUser</ErrorCode><ErrorMessage>Invalid user: 'x@contoso.com'</ErrorMessage>")), { kind: 'error', code: 'InvalidUser', message: "Invalid user: 'x@contoso.com'" });
    assert.deepEqual(decodeGetUserSettings(soapAnswer('', 'InvalidRequest')), { kind: 'error', code: 'InvalidRequest', message: '' });
  });

  it('an HTML page or a POX answer is no GetUserSettings response', () => {
    assert.equal(decodeGetUserSettings('<html><body>Sign in</body></html>').kind, 'error');
    assert.equal(decodeGetUserSettings('not xml <').kind, 'error');
  });
});

describe('GetUserSettings for many mailboxes', () => {
  const users = (...responses: string[]): string => soapAnswer(responses.join('</UserResponse><UserResponse>'));
  const ok = (url: string, grouping: string): string =>
    `<ErrorCode>NoError</ErrorCode><ErrorMessage>No error.</ErrorMessage><RedirectTarget i:nil="true"/><UserSettingErrors/><UserSettings>${setting('ExternalEwsUrl', url)}${setting('GroupingInformation', grouping)}</UserSettings>`;

  it('one User per mailbox, in the order given, each Mailbox escaped', () => {
    const parsed = parseXmlTree(buildGetUserSettingsBatch(['b@contoso.com', 'a&c@contoso.com', 'z@fabrikam.com'], 'https://contoso.com/autodiscover/autodiscover.svc'));
    assert.ok(parsed.ok);
    const list = path(parsed.root, 'Body', 'GetUserSettingsRequestMessage', 'Request', 'Users').children;
    assert.deepEqual(list.map((u) => [u.local, path(u, 'Mailbox').text]), [
      ['User', 'b@contoso.com'],
      ['User', 'a&c@contoso.com'],
      ['User', 'z@fabrikam.com'],
    ]);
  });

  it(`1 to ${MAX_USERS_PER_REQUEST} mailboxes a request: none, or one more, is a RangeError (a batching bug of ours)`, () => {
    const many = (n: number): string[] => Array.from({ length: n }, (_, i) => `u${i}@contoso.com`);
    assert.equal(MAX_USERS_PER_REQUEST, 100);
    const parsed = parseXmlTree(buildGetUserSettingsBatch(many(100), 'https://x/autodiscover/autodiscover.svc'));
    assert.ok(parsed.ok);
    assert.equal(path(parsed.root, 'Body', 'GetUserSettingsRequestMessage', 'Request', 'Users').children.length, 100);
    assert.throws(() => buildGetUserSettingsBatch(many(101), 'https://x/'), RangeError);
    assert.throws(() => buildGetUserSettingsBatch([], 'https://x/'), RangeError);
  });

  it('one answer per UserResponse, in order: settings, InvalidUser, RedirectAddress, RedirectUrl', () => {
    const xml = users(
      ok('https://mail.contoso.com/EWS/Exchange.asmx', 'EXSIM01'),
      "<ErrorCode>InvalidUser</ErrorCode><ErrorMessage>Invalid user: 'gone@contoso.com'</ErrorMessage><RedirectTarget i:nil=\"true\"/><UserSettingErrors/><UserSettings/>",
      '<ErrorCode>RedirectAddress</ErrorCode><ErrorMessage>Redirection address.</ErrorMessage><RedirectTarget>carol@contoso.onmicrosoft.com</RedirectTarget>',
      '<ErrorCode>RedirectUrl</ErrorCode><RedirectTarget>https://ad2.contoso.com/autodiscover/autodiscover.svc</RedirectTarget>',
      ok('https://mail2.contoso.com/EWS/Exchange.asmx', 'EXSIM02'),
    );
    assert.deepEqual(decodeGetUserSettingsBatch(xml), {
      kind: 'users',
      users: [
        { kind: 'settings', externalEwsUrl: 'https://mail.contoso.com/EWS/Exchange.asmx', groupingInformation: 'EXSIM01' },
        { kind: 'error', code: 'InvalidUser', message: "Invalid user: 'gone@contoso.com'" },
        { kind: 'redirect-address', address: 'carol@contoso.onmicrosoft.com' },
        { kind: 'redirect-url', url: 'https://ad2.contoso.com/autodiscover/autodiscover.svc' },
        { kind: 'settings', externalEwsUrl: 'https://mail2.contoso.com/EWS/Exchange.asmx', groupingInformation: 'EXSIM02' },
      ],
    });
  });

  it("the whole request's ErrorCode wins over its (absent) UserResponses; a throttled short list stays short", () => {
    assert.deepEqual(decodeGetUserSettingsBatch(soapAnswer('', 'ServerBusy')), { kind: 'error', code: 'ServerBusy', message: '' });
    const short = decodeGetUserSettingsBatch(users(ok('https://mail.contoso.com/EWS/Exchange.asmx', 'S')));
    assert.equal(short.kind === 'users' ? short.users.length : -1, 1);
  });
});

describe('POX answers', () => {
  const pox = (account: string, ns = 'http'): string =>
    `<Autodiscover xmlns="${ns}://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"><Response xmlns="${ns}://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"><Account>${account}</Account></Response></Autodiscover>`;

  it('settings: EXPR EwsUrl (outside) before EXCH (inside), GroupingInformation from EXPR', () => {
    const a = decodePoxAnswer(
      pox(
        '<AccountType>email</AccountType><Action>settings</Action>' +
          '<Protocol><Type>EXCH</Type><EwsUrl>https://mbx01.contoso.local/EWS/Exchange.asmx</EwsUrl></Protocol>' +
          '<Protocol><Type>EXPR</Type><EwsUrl>https://mail.contoso.com/EWS/Exchange.asmx</EwsUrl><GroupingInformation>DB4PR01</GroupingInformation></Protocol>',
      ),
    );
    assert.deepEqual(a, { kind: 'settings', externalEwsUrl: 'https://mail.contoso.com/EWS/Exchange.asmx', internalEwsUrl: 'https://mbx01.contoso.local/EWS/Exchange.asmx', groupingInformation: 'DB4PR01' });
  });

  it("Learn's sample shape (ASUrl only, Exchange 2007, https namespaces as the page prints them): ASUrl", () => {
    const a = decodePoxAnswer(pox('<Action>settings</Action><Protocol><Type>EXCH</Type><ASUrl>https://mail.contoso.com/ews/exchange.asmx</ASUrl></Protocol>', 'https'));
    assert.equal(a.kind === 'settings' ? ewsUrlOf(a) : 'not settings', 'https://mail.contoso.com/ews/exchange.asmx');
  });

  it('redirectAddr and redirectUrl', () => {
    assert.deepEqual(decodePoxAnswer(pox('<Action>redirectAddr</Action><RedirectAddr>alice@contoso.mail.onmicrosoft.com</RedirectAddr>')), { kind: 'redirect-address', address: 'alice@contoso.mail.onmicrosoft.com' });
    assert.deepEqual(decodePoxAnswer(pox('<Action>redirectUrl</Action><RedirectUrl>https://ad.contoso.com/autodiscover/autodiscover.xml</RedirectUrl>')), { kind: 'redirect-url', url: 'https://ad.contoso.com/autodiscover/autodiscover.xml' });
  });

  it("an Error: its code and message (Exchange's 500 for an unknown address)", () => {
    const xml =
      '<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"><Response>' +
      '<Error Time="21:25:04.8897083" Id="4130155072"><ErrorCode>500</ErrorCode><Message>The email address can\'t be found.</Message><DebugData /></Error></Response></Autodiscover>';
    assert.deepEqual(decodePoxAnswer(xml), { kind: 'error', code: '500', message: "The email address can't be found." });
  });

  it('settings without any EWS URL, and no Autodiscover root: no URL', () => {
    const a = decodePoxAnswer(pox('<Action>settings</Action><Protocol><Type>WEB</Type></Protocol>'));
    assert.deepEqual(a, { kind: 'settings' });
    assert.equal(decodePoxAnswer('<html/>').kind, 'error');
  });
});
