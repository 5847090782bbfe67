// What happens to each HTTP request: bounded body, recording, path and authentication checks (IIS first),
// then a queued script entry if one is waiting, else schema/version checks and the operation's default behaviour.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { buildChallenges, type AuthConfig, type AuthGate } from './auth.js';
import type { AutodiscoverEndpoint } from './autodiscover.js';
import { buildHeaderEchoFault, buildHeaderEchoPage } from './echo-page.js';
import { frontEndHeaders, reply } from './http-reply.js';
import { handleGetStreamingEvents, handleSubscribe, handleUnsubscribe, type OperationCall, type SimContext } from './operations.js';
import { handleGetFolder, handleGetItem } from './item-operations.js';
import { buildMailboxOperationError, isMailboxPayload } from './mailbox-responses.js';
import { handleSyncFolderHierarchy, handleSyncFolderItems } from './sync-operations.js';
import { buildIdentityOperationError, handleConvertId, handleResolveNames, isIdentityPayload } from './identity-operations.js';
import { decodeRequest, type DecodedRequest } from './request-decoder.js';
import { handleCreateFolder, handleCreateItem, handleDeleteFolder, handleDeleteItem, handleFindFolder, handleMoveCopyItem, handleUpdateItem } from './write-operations.js';
import { WRITE_KINDS, type WritePayload } from './write-request-decoder.js';
import { buildWriteOperationError } from './write-responses.js';
import { supportsStreaming } from './schema-enums.js';
import { buildFault, buildResponseError, errorExtras, type FaultSpec } from './soap-responses.js';
import type { RecordedRequest, ScriptEntry, ScriptResponse } from './types.js';
import { buildConcurrencyFault, type InFlight } from './in-flight.js';
import type { FarmRouted } from './farm.js';
import { overrideCookieOf } from './farm-routing.js';

const MAX_BODY = 1024 * 1024;

export interface PipelineDeps {
  ctx: SimContext;
  auth: AuthConfig;
  /** Judges each request's credentials; holds NTLM's per-connection state. */
  authGate: AuthGate;
  /** Removes and returns the next script entry for an operation (or the standing one of a throttle). */
  takeScript(operation: string): ScriptEntry | undefined;
  /** Keeps the request, numbered in arrival order. */
  record(request: Omit<RecordedRequest, 'seq'>): RecordedRequest;
  /** Notes a trickling answer and, once it ends, when. */
  onTrickle(request: RecordedRequest, res: ServerResponse): void;
  /** A cancellable wait (ends early, resolving false, when the simulator closes). */
  delay(ms: number): Promise<boolean>;
  /** /autodiscover/autodiscover.svc and .xml (src/simulator/autodiscover.ts). */
  autodiscover?: AutodiscoverEndpoint;
  /** Requests being answered now; ordinary ones beyond `maxConcurrency` get ErrorExceededConnectionCount. */
  inFlight: InFlight;
  maxConcurrency: number;
  /** How long an operation takes to answer, as a loaded server does (SimulatorOptions.serviceMs). */
  serviceMs: Readonly<Record<string, number>>;
  /** Many mailboxes (farm.ts): which backend serves a decoded request, and, after sign-in, its context or refusal. */
  route?(req: IncomingMessage, request: DecodedRequest): FarmRouted;
  /** Kept up to date: ordinary requests and GetStreamingEvents responses open right now (Simulator.load). */
  load?: { requestsInFlight: number; openStreams: number };
  /** Called after `load` went down (waitFor re-checks then; the response's own close came before the count changed). */
  onLoadChange?(): void;
}

/** Who a request names and where it goes, for the request log. */
function routingFields(req: IncomingMessage, impersonated: string | undefined, backend: string): Pick<RecordedRequest, 'impersonated' | 'anchorMailbox' | 'overrideCookie' | 'backend'> {
  const anchor = req.headers['x-anchormailbox'];
  const cookie = overrideCookieOf(req.headers.cookie);
  return {
    ...(impersonated !== undefined ? { impersonated } : {}),
    ...(anchor !== undefined ? { anchorMailbox: Array.isArray(anchor) ? anchor.join(', ') : anchor } : {}),
    ...(cookie !== undefined ? { overrideCookie: cookie } : {}),
    backend,
  };
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_BODY) chunks.push(chunk);
    else if (size > 16 * MAX_BODY) break;
  }
  return size <= MAX_BODY ? Buffer.concat(chunks).toString('utf8') : undefined;
}

function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function replaysCookie(header: string | undefined, issued: ReadonlySet<string>): boolean {
  return (header ?? '').split(';').some((part) => {
    const eq = part.indexOf('=');
    return eq > 0 && part.slice(0, eq).trim() === 'X-BackEndOverrideCookie' && issued.has(part.slice(eq + 1).trim());
  });
}

function plain(res: ServerResponse, deps: PipelineDeps, status: number, body = '', headers: Record<string, string | string[]> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const data = Buffer.from(body, 'utf8');
  res.writeHead(status, {
    ...frontEndHeaders(deps.ctx.ids.backendHost),
    ...(data.length ? { 'Content-Type': 'text/html' } : {}),
    ...headers,
    'Content-Length': data.length,
  });
  res.end(data);
}

function challenge(req: IncomingMessage, res: ServerResponse, deps: PipelineDeps, headers: Record<string, string> = {}): void {
  const sentBearer = /^bearer\s/i.test(req.headers.authorization ?? '');
  const realm = (req.headers.host ?? '127.0.0.1').replace(/:\d+$/, '');
  plain(res, deps, 401, '', {
    'WWW-Authenticate': buildChallenges(realm, deps.auth, sentBearer),
    ...(sentBearer ? { 'x-ms-diagnostics': '2000001;reason="The token is invalid.";error_category="invalid_token"' } : {}),
    ...headers,
  });
}

/** Header checks Exchange makes before the operation: version (streaming needs 2010 SP1+) and impersonation. */
function headerFault(ctx: SimContext, request: DecodedRequest): FaultSpec | undefined {
  const version = request.serverVersion;
  if (version === undefined || (['Subscribe', 'GetStreamingEvents'].includes(request.operation) && !supportsStreaming(version))) {
    return { code: 'ErrorInvalidServerVersion' };
  }
  if (request.impersonate !== undefined && request.impersonate.toLowerCase() !== ctx.mailbox.address.toLowerCase()) {
    return { code: 'ErrorNonExistentMailbox' };
  }
  return undefined;
}

function dispatch(ctx: SimContext, call: OperationCall): void {
  const { payload } = call.request;
  if (payload.kind === 'Subscribe') return handleSubscribe(ctx, call, payload);
  if (payload.kind === 'Unsubscribe') return handleUnsubscribe(ctx, call, payload);
  if (payload.kind === 'GetStreamingEvents') return handleGetStreamingEvents(ctx, call, payload);
  if (payload.kind === 'SyncFolderItems') return handleSyncFolderItems(ctx, call, payload);
  if (payload.kind === 'SyncFolderHierarchy') return handleSyncFolderHierarchy(ctx, call, payload);
  if (payload.kind === 'GetItem') return handleGetItem(ctx, call, payload);
  if (payload.kind === 'GetFolder') return handleGetFolder(ctx, call, payload);
  if (payload.kind === 'ConvertId') return handleConvertId(ctx, call, payload);
  if (payload.kind === 'ResolveNames') return handleResolveNames(ctx, call, payload);
  if (isWritePayload(payload)) return dispatchWrite(ctx, call, payload);
  reply(call.req, call.res, ctx.replyOptions, 500, buildFault({ code: 'ErrorInvalidRequest', message: `This server does not implement ${call.request.operation}.` }));
}

const isWritePayload = (payload: { kind: string }): payload is WritePayload => WRITE_KINDS.has(payload.kind);

function dispatchWrite(ctx: SimContext, call: OperationCall, payload: WritePayload): void {
  switch (payload.kind) {
    case 'CreateFolder':
      return handleCreateFolder(ctx, call, payload);
    case 'DeleteFolder':
      return handleDeleteFolder(ctx, call, payload);
    case 'FindFolder':
      return handleFindFolder(ctx, call, payload);
    case 'CreateItem':
      return handleCreateItem(ctx, call, payload);
    case 'UpdateItem':
      return handleUpdateItem(ctx, call, payload);
    case 'DeleteItem':
      return handleDeleteItem(ctx, call, payload);
    default:
      return handleMoveCopyItem(ctx, call, payload);
  }
}

/** Applies one scripted answer; false when the default behaviour should still run (a bare delay). */
async function applyScript(deps: PipelineDeps, call: OperationCall | undefined, req: IncomingMessage, res: ServerResponse, entry: ScriptEntry, recorded: RecordedRequest): Promise<boolean> {
  const { ctx } = deps;
  if (Array.isArray(entry)) {
    if (call?.request.payload.kind !== 'GetStreamingEvents') return false;
    handleGetStreamingEvents(ctx, call, call.request.payload, entry);
    return true;
  }
  if ('hang' in entry) return true;
  if ('trickle' in entry) {
    if (!call || call.request.payload.kind === 'GetStreamingEvents') return false;
    deps.onTrickle(recorded, res);
    // The operation's own answer, paced: one byte per piece, with the script's pause between pieces.
    const paced = { ...ctx.replyOptions, compress: false, split: 'bytes' as const, pauseMs: Math.max(1, entry.trickle.everyMs) };
    dispatch({ ...ctx, replyOptions: paced }, call);
    return true;
  }
  if (entry.delayMs !== undefined && !(await deps.delay(entry.delayMs))) return true;
  if (res.destroyed) return true;
  return answer(deps, call, req, res, entry);
}

function answer(deps: PipelineDeps, call: OperationCall | undefined, req: IncomingMessage, res: ServerResponse, entry: Exclude<ScriptResponse, { hang: true }>): boolean {
  const { ctx } = deps;
  if ('echo' in entry) {
    const status = entry.status ?? 500;
    if (entry.echo === 'html') plain(res, deps, status, buildHeaderEchoPage(status, req.rawHeaders));
    else reply(req, res, ctx.replyOptions, status, buildHeaderEchoFault(entry.code ?? 'ErrorInternalServerError', req.rawHeaders, entry.backOffMs));
    return true;
  }
  if ('fault' in entry) {
    reply(req, res, ctx.replyOptions, entry.status ?? 500, buildFault({ code: entry.fault, ...errorExtras(entry) }));
    return true;
  }
  if ('error' in entry) {
    const payload = call?.request.payload;
    if (call && payload?.kind === 'GetStreamingEvents') {
      handleGetStreamingEvents(ctx, call, payload, [{ op: 'error', code: entry.error, ...errorExtras(entry) }]);
    } else if (payload?.kind === 'Subscribe' || payload?.kind === 'Unsubscribe') {
      reply(req, res, ctx.replyOptions, 200, buildResponseError(payload.kind, { code: entry.error, ...errorExtras(entry) }));
    } else if (payload && isMailboxPayload(payload)) {
      reply(req, res, ctx.replyOptions, 200, buildMailboxOperationError(payload, { code: entry.error, ...errorExtras(entry) }));
    } else if (payload && isWritePayload(payload)) {
      reply(req, res, ctx.replyOptions, 200, buildWriteOperationError(payload, { code: entry.error, ...errorExtras(entry) }));
    } else if (payload && isIdentityPayload(payload)) {
      reply(req, res, ctx.replyOptions, 200, buildIdentityOperationError(payload, { code: entry.error, ...errorExtras(entry) }));
    } else {
      reply(req, res, ctx.replyOptions, 500, buildFault({ code: entry.error, ...errorExtras(entry) }));
    }
    return true;
  }
  if (!('status' in entry)) return false;
  const headers = entry.headers ?? {};
  const hasChallenge = Object.keys(headers).some((h) => h.toLowerCase() === 'www-authenticate');
  if (entry.status === 401 && !hasChallenge) challenge(req, res, deps, headers);
  else plain(res, deps, entry.status, entry.body ?? '', headers);
  return true;
}

const OWA_SIGN_IN_PAGE =
  '<!DOCTYPE html><html><head><meta http-equiv="X-UA-Compatible" content="IE=10"/><title>Outlook</title></head>' +
  '<body><form action="/owa/auth.owa" method="POST" name="logonForm"><input id="username" name="username"/>' +
  '<input id="password" name="password" type="password"/></form></body></html>';

/**
 * What an Exchange front end answers off the EWS path: the site root redirects to Outlook on the web (as admins
 * commonly set it up), OWA sends anyone without its forms cookie to its sign-in page, and the rest is IIS's 404.
 */
function otherPath(req: IncomingMessage, res: ServerResponse, deps: PipelineDeps, path: string): void {
  const p = path.split('?')[0]!.toLowerCase();
  if (p === '/') return plain(res, deps, 302, '', { Location: '/owa/' });
  if (p === '/owa/auth/logon.aspx') return plain(res, deps, 200, OWA_SIGN_IN_PAGE);
  if (p === '/owa' || p.startsWith('/owa/')) {
    const back = encodeURIComponent(`http://${req.headers.host ?? '127.0.0.1'}${path}`);
    return plain(res, deps, 302, '', { Location: `/owa/auth/logon.aspx?url=${back}&reason=0` });
  }
  plain(res, deps, 404, '<h1>404 - File or directory not found.</h1>');
}

export function createRequestHandler(deps: PipelineDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const load = deps.load ?? { requestsInFlight: 0, openStreams: 0 };
  /** Counts a request in flight (ordinary or streaming) until its response closes; returns the counts at arrival. */
  const track = (res: ServerResponse, streaming: boolean): { requestsInFlight: number; openStreams: number } => {
    const at = { requestsInFlight: load.requestsInFlight + (streaming ? 0 : 1), openStreams: load.openStreams };
    if (streaming) load.openStreams++;
    else load.requestsInFlight++;
    res.once('close', () => {
      if (streaming) load.openStreams--;
      else load.requestsInFlight--;
      deps.onLoadChange?.();
    });
    return at;
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let { ctx } = deps;
    const body = await readBody(req);
    if (body === undefined) return plain(res, deps, 413, '<h1>413 Request Entity Too Large</h1>', { Connection: 'close' });
    const decoded = decodeRequest(body);
    const operation = decoded.ok ? decoded.request.operation : decoded.operation;
    const path = req.url ?? '/';
    const cookieReplayed = replaysCookie(req.headers.cookie, ctx.issuedCookies);
    const inFlight = deps.inFlight.enter(operation, res);
    const routed = decoded.ok ? deps.route?.(req, decoded.request) : undefined;
    const counts = track(res, operation === 'GetStreamingEvents');
    const routing = routingFields(req, decoded.ok ? decoded.request.impersonate : undefined, routed?.backend ?? ctx.ids.backendHost);
    const recorded = deps.record({ operation, method: req.method ?? '', path, headers: flatHeaders(req), body, at: Date.now(), cookieReplayed, inFlight, ...routing, ...counts });
    // Autodiscover: the plain-http site's GET carries no credentials; every POST signs in first, as for EWS.
    if (deps.autodiscover?.handles(path)) {
      if (req.method === 'GET') return deps.autodiscover.get(req, res);
      const asked = deps.authGate.judge(req.headers.authorization, req.socket);
      if (!asked.allow) return challenge(req, res, deps, asked.ntlmChallenge ? { 'WWW-Authenticate': asked.ntlmChallenge } : {});
      return deps.autodiscover.post(req, res, body);
    }
    // IIS answers other paths and missing credentials before EWS ever sees the body.
    if (path.split('?')[0]!.toLowerCase() !== '/ews/exchange.asmx') return otherPath(req, res, deps, path);
    const verdict = deps.authGate.judge(req.headers.authorization, req.socket);
    // An NTLM CHALLENGE replaces the offers; the socket stays open because the handshake is bound to it.
    if (!verdict.allow) return challenge(req, res, deps, verdict.ntlmChallenge ? { 'WWW-Authenticate': verdict.ntlmChallenge } : {});
    if (req.method !== 'POST') return plain(res, deps, 405, '', { Allow: 'POST' });
    // One server's budget (ErrorExceededConnectionCount); many mailboxes have theirs per account (farm.ts).
    if (!deps.route && operation !== 'GetStreamingEvents' && deps.inFlight.ordinary() > deps.maxConcurrency) {
      return reply(req, res, ctx.replyOptions, 500, buildConcurrencyFault(deps.maxConcurrency));
    }
    const call: OperationCall | undefined = decoded.ok ? { req, res, request: decoded.request, cookieReplayed } : undefined;
    // Many mailboxes: impersonation rights and budgets are checked first, then the routed backend serves it.
    const admitted = routed?.admit(res);
    if (admitted && 'refuse' in admitted) return void answer(deps, call, req, res, admitted.refuse as Exclude<ScriptResponse, { hang: true }>);
    if (admitted) ctx = admitted.ctx;
    const served = ctx === deps.ctx ? deps : { ...deps, ctx };
    const entry = deps.takeScript(operation);
    if (entry && (await applyScript(served, call, req, res, entry, recorded))) return;
    if (!decoded.ok) return reply(req, res, ctx.replyOptions, 500, buildFault(decoded.fault));
    const fault = headerFault(ctx, decoded.request);
    if (fault) return reply(req, res, ctx.replyOptions, 500, buildFault(fault));
    const serviceMs = deps.serviceMs[operation] ?? 0;
    if (serviceMs > 0 && !(await deps.delay(serviceMs))) return;
    if (res.destroyed) return;
    dispatch(ctx, call!);
  };
  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      deps.ctx.log(`request failed: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) plain(res, deps, 500, '<h1>Server Error in \'/EWS\' Application.</h1>');
      else res.destroy();
    });
  };
}
