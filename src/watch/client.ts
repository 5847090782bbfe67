// What the engine needs from the network: the three EWS calls of a streaming watch. The real implementation is
// src/transport/ews-client.ts (undici); tests hand the engine a scripted fake. Errors thrown are those of
// src/errors.ts: AuthError (401/403), EwsResponseError (an EWS response code or SOAP fault, with backOffMs),
// TransportError (network, HTTP 5xx, non-EWS bodies), ProtocolError.

export interface WatchClient {
  /** Subscribe (streaming) to the configured folders and event types; resolves with the SubscriptionId. */
  subscribe(signal?: AbortSignal): Promise<string>;
  /** Unsubscribe; resolves when the server confirmed it, with 'already-gone' when it answered ErrorSubscriptionNotFound. */
  unsubscribe(subscriptionId: string, signal?: AbortSignal): Promise<UnsubscribeResult | void>;
  /**
   * Opens the hanging GetStreamingEvents request on its own connection and resolves with the response body once
   * the server answered 200. Non-200 answers are thrown as errors (a SOAP fault body as EwsResponseError).
   * Aborting `signal` ends the request and the body iteration.
   */
  openStream(subscriptionId: string, connectionTimeoutMinutes: number, signal: AbortSignal): Promise<AsyncIterable<Uint8Array>>;
}

/** 'already-gone': the server did not hold the subscription any more (ErrorSubscriptionNotFound), which is fine. */
export type UnsubscribeResult = 'unsubscribed' | 'already-gone';
