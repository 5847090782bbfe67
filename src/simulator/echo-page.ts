// Error pages that echo the request's headers back, as some front ends do: a proxy's or gateway's diagnostic page,
// ASP.NET page tracing (its "Headers Collection" table), echo services like httpbin (headers listed by name). Such
// a page carries whatever credential the client sent, which the client must then never print. Pure.

import { escapeText } from './xml-text.js';
import { buildFault } from './soap-responses.js';

/** The headers as the client sent them ("name: value", names as spelled), listed by name. */
export function echoedHeaderLines(rawHeaders: readonly string[]): string[] {
  const lines: [string, string][] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) lines.push([rawHeaders[i]!, rawHeaders[i + 1]!]);
  return lines.sort((a, b) => a[0].toLowerCase().localeCompare(b[0].toLowerCase())).map(([name, value]) => `${name}: ${value}`);
}

/** An HTML error page listing the request headers one per line. */
export function buildHeaderEchoPage(status: number, rawHeaders: readonly string[]): string {
  const lines = echoedHeaderLines(rawHeaders).map(escapeText).join('\n');
  return `<html><body><h1>${status} Internal Server Error</h1><p>Request headers:</p><pre>\n${lines}\n</pre></body></html>`;
}

/** A SOAP fault whose message text lists the request headers (a gateway that wraps its own failure as EWS would). */
export function buildHeaderEchoFault(code: string, rawHeaders: readonly string[], backOffMs?: number): string {
  const message = `The request could not be forwarded. Request headers:\r\n${echoedHeaderLines(rawHeaders).join('\r\n')}`;
  return buildFault({ code, message, ...(backOffMs !== undefined ? { backOffMs } : {}) });
}
