// The one error hierarchy of ews-watch. Every error has a stable `code`; wrapping always keeps `cause`.
// Only src/cli/exit-codes.ts turns these into process exit codes. Messages say what happened and what to try.

export class EwsWatchError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Bad flags, environment or configuration; raised before any network I/O, except for what only the server can
 * tell (the SMTP address of a DOMAIN\user sign-in without --mailbox). */
export class UsageError extends EwsWatchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('usage', message, options);
  }
}

/** The server refused our credentials (HTTP 401/403 or an EWS access error). */
export class AuthError extends EwsWatchError {
  readonly status: number | undefined;
  constructor(message: string, options?: { cause?: unknown; status?: number; code?: string }) {
    super(options?.code ?? 'auth', message, options);
    this.status = options?.status;
  }
}

/** An EWS response code other than NoError (from a ResponseMessage or a SOAP fault). */
export class EwsResponseError extends EwsWatchError {
  readonly responseCode: string;
  readonly backOffMs: number | undefined;
  readonly subscriptionIds: readonly string[];
  constructor(
    responseCode: string,
    message: string,
    options?: { cause?: unknown; backOffMs?: number; subscriptionIds?: readonly string[] },
  ) {
    super('ews-response', message, options);
    this.responseCode = responseCode;
    this.backOffMs = options?.backOffMs;
    this.subscriptionIds = options?.subscriptionIds ?? [];
  }
}

/** Network failures, unexpected HTTP status codes, bodies that are not EWS. */
export class TransportError extends EwsWatchError {
  readonly status: number | undefined;
  /** The server's Retry-After, in milliseconds from when the answer arrived. */
  readonly backOffMs: number | undefined;
  /** Where a 3xx answer pointed (absolute, sanitised). */
  readonly location: string | undefined;
  /** The server answered, but with something no EWS endpoint sends (an HTML page, text, JSON). */
  readonly notEws: boolean;
  /** We gave up on an answer that did not arrive whole within its deadline (src/transport/http.ts). */
  readonly timedOut: boolean;
  constructor(message: string, options?: { cause?: unknown; status?: number; backOffMs?: number; location?: string; notEws?: boolean; timedOut?: boolean }) {
    super('transport', message, options);
    this.status = options?.status;
    this.backOffMs = options?.backOffMs;
    this.location = options?.location;
    this.notEws = options?.notEws ?? false;
    this.timedOut = options?.timedOut ?? false;
  }
}

/** The server sent bytes that are not a well-formed EWS stream (bad XML, an envelope over the size bound). */
export class ProtocolError extends EwsWatchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('protocol', message, options);
  }
}

/** Messages of errors that are not ours, for one-line reports. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
