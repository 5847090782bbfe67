// Autodiscover as an Exchange front end answers it, per host name asked (the Host header): SOAP GetUserSettings at
// /autodiscover/autodiscover.svc and POX at /autodiscover/autodiscover.xml (both signed in first, as IIS does), and
// the plain-http site that only redirects a GET. The answers follow Microsoft's documented samples (Learn
// "GetUserSettings operation (SOAP)", "POX Autodiscover response for Exchange"); an unknown address gets
// InvalidUser (SOAP) or POX error 500 "The email address can't be found.", as Exchange says it. A SOAP request for
// many users gets one UserResponse each, in order, each with its own ErrorCode.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseXmlTree, type XmlNode } from './xml-tree.js';
import { escapeText } from './xml-text.js';
import type { AutodiscoverHost, AutodiscoverOptions, AutodiscoverReply } from './types.js';

const SOAP_NS = 'http://schemas.microsoft.com/exchange/2010/Autodiscover';
const POX_RESPONSE = 'http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006';
const POX_OUTLOOK = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a';

export interface AutodiscoverEndpoint {
  handles(path: string): boolean;
  /** The unauthenticated GET (the plain-http redirect site): a 302 when the host has one, else IIS's 404. */
  get(req: IncomingMessage, res: ServerResponse): void;
  /** A signed-in POST: SOAP or POX by path. */
  post(req: IncomingMessage, res: ServerResponse, body: string): void;
}

export interface EndpointContext {
  options: AutodiscoverOptions | undefined;
  /** The simulated mailbox's address and its EWS URL (known once the server listens). */
  mailbox: string;
  ewsUrl: () => string;
  /**
   * With many mailboxes on several backends: the backend a mailbox lives on (undefined: no such mailbox). Its
   * GroupingInformation is then the backend's short name, as Exchange Online's values name a server prefix (DB4PR01).
   */
  backendOf?: (address: string) => string | undefined;
  log(line: string): void;
}

const hostOf = (req: IncomingMessage): string => (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();

/** What one host does: as configured; without a `hosts` table every host answers with settings. */
function behaviourOf(c: EndpointContext, req: IncomingMessage): AutodiscoverHost | undefined {
  const hosts = c.options?.hosts;
  if (hosts === undefined) return { soap: 'settings', pox: 'settings' };
  return hosts[hostOf(req)];
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const data = Buffer.from(body, 'utf8');
  res.writeHead(status, { ...(data.length ? { 'Content-Type': status === 200 ? 'text/xml; charset=utf-8' : 'text/html' } : {}), ...headers, 'Content-Length': data.length });
  res.end(data);
}

const notFound = (res: ServerResponse): void => send(res, 404, '<h1>404 - File or directory not found.</h1>');

export function createAutodiscoverEndpoint(c: EndpointContext): AutodiscoverEndpoint {
  return {
    handles: (path) => /^\/autodiscover\/autodiscover\.(svc|xml)$/i.test(path.split('?')[0]!),
    get(req, res) {
      const to = behaviourOf(c, req)?.httpRedirect;
      c.log(`autodiscover: GET ${hostOf(req)}${req.url ?? ''}: ${to ? `302 to ${to}` : '404'}`);
      if (to === undefined) return notFound(res);
      send(res, 302, '', { Location: to });
    },
    post(req, res, body) {
      const soap = (req.url ?? '').toLowerCase().split('?')[0]!.endsWith('.svc');
      const reply = soap ? behaviourOf(c, req)?.soap : behaviourOf(c, req)?.pox;
      c.log(`autodiscover: ${soap ? 'SOAP' : 'POX'} at ${hostOf(req)}: ${reply === undefined ? 'absent' : typeof reply === 'string' ? reply : Object.keys(reply)[0]}`);
      if (reply === undefined) return notFound(res);
      if (typeof reply === 'object' && 'status' in reply) return send(res, reply.status, '', reply.location ? { Location: reply.location } : {});
      if (soap) {
        const mailboxes = soapMailboxes(body);
        if (mailboxes.length === 0) return send(res, 500, '');
        return send(res, 200, soapEnvelope(mailboxes.map((m) => soapUserResponse(c, reply, m)).join('')));
      }
      const address = poxAddress(body);
      if (address === undefined) return send(res, 200, poxError('600', 'Invalid Request'));
      send(res, 200, poxAnswer(c, reply, address));
    },
  };
}

function textOf(root: XmlNode | undefined, path: string[]): string | undefined {
  let el = root;
  for (const name of path) el = el?.children.find((ch) => ch.local === name);
  return el?.text.trim();
}

/** Every User's Mailbox, in order: one GetUserSettings may ask for many users (Learn "Users (SOAP)"). */
function soapMailboxes(body: string): string[] {
  const parsed = parseXmlTree(body);
  if (!parsed.ok) return [];
  const users = parsed.root.children.find((ch) => ch.local === 'Body')?.children.find((ch) => ch.local === 'GetUserSettingsRequestMessage');
  const list = users?.children.find((ch) => ch.local === 'Request')?.children.find((ch) => ch.local === 'Users')?.children ?? [];
  return list.filter((u) => u.local === 'User').map((u) => textOf(u, ['Mailbox']) ?? '');
}

function poxAddress(body: string): string | undefined {
  const parsed = parseXmlTree(body);
  if (!parsed.ok) return undefined;
  return textOf(parsed.root, ['Request', 'EMailAddress']) || undefined;
}

const known = (c: EndpointContext, address: string): boolean =>
  c.backendOf ? c.backendOf(address) !== undefined : address.toLowerCase() === c.mailbox.toLowerCase();

/** As configured; else, with backends, the mailbox's backend's first label; else the default AD site's name. */
function groupingOf(c: EndpointContext, address: string): string {
  const backend = c.backendOf?.(address);
  return c.options?.groupingInformation ?? (backend !== undefined ? backend.split('.')[0]! : 'Default-First-Site-Name');
}

function ewsUrlFor(c: EndpointContext, reply: AutodiscoverReply): string {
  return typeof reply === 'object' && 'ewsUrl' in reply ? reply.ewsUrl : (c.options?.ewsUrl ?? c.ewsUrl());
}

/** The envelope around UserResponse elements (one per User asked, in the order asked; the outer ErrorCode NoError). */
const soapEnvelope = (userResponses: string): string =>
  '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header>' +
  `<a:Action s:mustUnderstand="1">${SOAP_NS}/Autodiscover/GetUserSettingsResponse</a:Action></s:Header><s:Body>` +
  `<GetUserSettingsResponseMessage xmlns="${SOAP_NS}"><Response xmlns:i="http://www.w3.org/2001/XMLSchema-instance">` +
  `<ErrorCode>NoError</ErrorCode><ErrorMessage/><UserResponses>${userResponses}</UserResponses>` +
  '</Response></GetUserSettingsResponseMessage></s:Body></s:Envelope>';

const setting = (name: string, value: string): string => `<UserSetting i:type="StringSetting"><Name>${name}</Name><Value>${escapeText(value)}</Value></UserSetting>`;

/** One user's answer: its own ErrorCode (an unknown address is InvalidUser, the others unaffected). */
function soapUserResponse(c: EndpointContext, reply: AutodiscoverReply, address: string): string {
  const user = (inner: string): string => `<UserResponse>${inner}</UserResponse>`;
  const userError = (code: string, message: string, target?: string): string =>
    user(`<ErrorCode>${code}</ErrorCode><ErrorMessage>${escapeText(message)}</ErrorMessage>${target ? `<RedirectTarget>${escapeText(target)}</RedirectTarget>` : '<RedirectTarget i:nil="true"/>'}<UserSettingErrors/><UserSettings/>`);
  if (typeof reply === 'object' && 'redirectAddr' in reply) return userError('RedirectAddress', 'Redirection address.', reply.redirectAddr);
  if (typeof reply === 'object' && 'redirectUrl' in reply) return userError('RedirectUrl', 'Redirection URL.', reply.redirectUrl);
  if (!known(c, address)) return userError('InvalidUser', `Invalid user: '${address}'`);
  const settings =
    setting('ExternalEwsUrl', ewsUrlFor(c, reply)) + setting('InternalEwsUrl', ewsUrlFor(c, reply)) + setting('GroupingInformation', groupingOf(c, address));
  return user(`<ErrorCode>NoError</ErrorCode><ErrorMessage>No error.</ErrorMessage><RedirectTarget i:nil="true"/><UserSettingErrors/><UserSettings>${settings}</UserSettings>`);
}

function poxError(code: string, message: string): string {
  return `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="${POX_RESPONSE}"><Response><Error Time="12:00:00.0000000" Id="2764165344"><ErrorCode>${code}</ErrorCode><Message>${escapeText(message)}</Message><DebugData/></Error></Response></Autodiscover>`;
}

function poxAnswer(c: EndpointContext, reply: AutodiscoverReply, address: string): string {
  const account = (inner: string): string =>
    `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="${POX_RESPONSE}"><Response xmlns="${POX_OUTLOOK}"><Account><AccountType>email</AccountType>${inner}</Account></Response></Autodiscover>`;
  if (typeof reply === 'object' && 'redirectAddr' in reply) return account(`<Action>redirectAddr</Action><RedirectAddr>${escapeText(reply.redirectAddr)}</RedirectAddr>`);
  if (typeof reply === 'object' && 'redirectUrl' in reply) return account(`<Action>redirectUrl</Action><RedirectUrl>${escapeText(reply.redirectUrl)}</RedirectUrl>`);
  if (!known(c, address)) return poxError('500', "The email address can't be found.");
  const url = escapeText(ewsUrlFor(c, reply));
  const grouping = escapeText(groupingOf(c, address));
  return account(
    '<Action>settings</Action>' +
      `<Protocol><Type>EXCH</Type><Server>MBX01.contoso.local</Server><ASUrl>${url}</ASUrl><EwsUrl>${url}</EwsUrl></Protocol>` +
      `<Protocol><Type>EXPR</Type><Server>mail.contoso.com</Server><ASUrl>${url}</ASUrl><EwsUrl>${url}</EwsUrl><GroupingInformation>${grouping}</GroupingInformation></Protocol>`,
  );
}
