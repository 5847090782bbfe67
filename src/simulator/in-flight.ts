// How many requests the simulated Exchange is answering at once: counted per operation and recorded with each
// request (a test asks how many GetItem calls a client had open together), and held to Exchange's concurrency budget
// (EWSMaxConcurrency, 27 on Exchange Online, protocol-notes.md §4.3): an ordinary request beyond it gets the fault
// Exchange Online sends then. The hanging GetStreamingEvents has a budget of its own and is not counted against it.

import type { ServerResponse } from 'node:http';
import { NS_ERRORS, NS_SOAP, NS_TYPES, escapeText, messageTextFor } from './xml-text.js';

/** Exchange's default: "EWSMaxConcurrency … 27" (Learn "EWS throttling in Exchange"). */
export const DEFAULT_MAX_CONCURRENCY = 27;

export interface InFlight {
  /** Counts a request of `operation` until its response closes; returns how many of that operation are open, itself included. */
  enter(operation: string, res: ServerResponse): number;
  /** Ordinary (non-streaming) requests open now. */
  ordinary(): number;
}

export function createInFlight(): InFlight {
  const open = new Map<string, number>();
  let ordinary = 0;
  return {
    enter(operation, res) {
      const streaming = operation === 'GetStreamingEvents';
      const count = (open.get(operation) ?? 0) + 1;
      open.set(operation, count);
      if (!streaming) ordinary += 1;
      res.once('close', () => {
        open.set(operation, (open.get(operation) ?? 1) - 1);
        if (!streaming) ordinary -= 1;
      });
      return count;
    },
    ordinary: () => ordinary,
  };
}

/**
 * The HTTP 500 fault for a request over the budget, as Exchange Online words it (OfficeDev/ews-managed-api#293: its
 * MessageXml values Policy, MaxConcurrencyLimit and ErrorMessage, with "Suggested backoff time 0 ms"; no
 * BackOffMilliseconds value).
 */
export function buildConcurrencyFault(limit: number): string {
  const code = 'ErrorExceededConnectionCount';
  const text = messageTextFor(code);
  const said = `This operation exceeds the throttling budget for policy part 'MaxConcurrency', policy value '${limit}',  Budget type: 'Ews'.  Suggested backoff time 0 ms.`;
  return (
    `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="${NS_SOAP}"><s:Body><s:Fault>` +
    `<faultcode xmlns:a="${NS_TYPES}">a:${code}</faultcode><faultstring xml:lang="en-US">${escapeText(text)}</faultstring><detail>` +
    `<e:ResponseCode xmlns:e="${NS_ERRORS}">${code}</e:ResponseCode><e:Message xmlns:e="${NS_ERRORS}">${escapeText(text)}</e:Message>` +
    `<t:MessageXml xmlns:t="${NS_TYPES}"><t:Value Name="Policy">MaxConcurrency</t:Value>` +
    `<t:Value Name="MaxConcurrencyLimit">${limit}</t:Value><t:Value Name="ErrorMessage">${escapeText(said)}</t:Value></t:MessageXml>` +
    '</detail></s:Fault></s:Body></s:Envelope>'
  );
}
