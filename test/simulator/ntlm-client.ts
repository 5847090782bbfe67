// Test-side NTLM driver for the simulator tests: raw node:http(s) requests over a keep-alive agent limited to one
// socket, so a handshake's messages share a connection, with @ewsjs/ntlm-client as the independent client side.

import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import ntlmClient, { type Type2Message } from '@ewsjs/ntlm-client';
import type { Simulator } from '../../src/simulator/index.js';
import { subscribeBody } from './helpers.js';

// A CommonJS package: its functions come through the default export under Node's ESM loader.
const { createType1Message, createType3Message, decodeType2Message } = ntlmClient;

export const WORKSTATION = 'WS01';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** Client-side port of the socket that carried the exchange (the server's remotePort). */
  localPort: number;
}

/** One agent = one connection at a time, kept alive between requests. */
export function oneSocketAgent(sim: Simulator, ca?: string): HttpAgent {
  return sim.url.startsWith('https:') ? new HttpsAgent({ keepAlive: true, maxSockets: 1, ...(ca ? { ca } : {}) }) : new HttpAgent({ keepAlive: true, maxSockets: 1 });
}

/** POSTs `body` (a Subscribe by default) to the simulator through `agent`. */
export function send(sim: Simulator, agent: HttpAgent, headers: Record<string, string> = {}, body = subscribeBody()): Promise<Reply> {
  const request = sim.url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(sim.url, { method: 'POST', agent, headers: { 'content-type': 'text/xml; charset=utf-8', 'accept-encoding': 'identity', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), localPort: req.socket?.localPort ?? 0 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export const type1 = (domain = ''): string => createType1Message(WORKSTATION, domain);

/** The CHALLENGE carried by a 401, decoded by the independent client library. */
export { decodeType2Message };

export function type2Of(reply: Reply): Type2Message {
  const header = reply.headers['www-authenticate'];
  if (typeof header !== 'string' || !/^(NTLM|Negotiate) /.test(header)) throw new Error(`no NTLM challenge in ${reply.status}: ${String(header)}`);
  return decodeType2Message(header.replace(/^Negotiate /, 'NTLM '));
}

export const type3 = (challenge: Type2Message, user: string, password: string, domain: string): string => createType3Message(challenge, user, password, WORKSTATION, domain);

/** NEGOTIATE then AUTHENTICATE on the agent's one socket; returns both replies. */
export async function handshake(sim: Simulator, agent: HttpAgent, user: string, password: string, domain: string, body?: string): Promise<{ challenge: Reply; result: Reply }> {
  const challenge = await send(sim, agent, { authorization: type1(domain) }, body);
  const result = await send(sim, agent, { authorization: type3(type2Of(challenge), user, password, domain) }, body);
  return { challenge, result };
}

/** The schemes a 401 offers, one per WWW-Authenticate value (Node joins repeated headers with ", "). */
export function offers(reply: Reply): string[] {
  const header = reply.headers['www-authenticate'];
  return (typeof header === 'string' ? header : '').split(/, (?=Negotiate|NTLM|Basic|Bearer)/).filter(Boolean);
}
