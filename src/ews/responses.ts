// Pure decoders for ordinary (non-streaming) EWS answers: Subscribe, Unsubscribe, SOAP faults, ServerVersionInfo.
// Elements are matched by local name (protocol-notes.md: "must not depend on element order or on prefix names").
// Errors: an EWS error → EwsResponseError; a body that is not an EWS envelope → ProtocolError.
import { EwsResponseError, ProtocolError } from '../errors.js';
import type { EwsErrorInfo, EwsId, ServerVersionInfo } from './types.js';
import { faultResponseCode, isErrorMessage, parseBackOff } from './error-fields.js';
import { usableChangeKey } from './change-key.js';
import { detach } from './detach.js';
import { excerpt } from './excerpt.js';
import { absurdId, MAX_ID_CHARS, type Absurdity } from './limits.js';
import { repairCharRefs } from './char-refs.js';
import { child, childText, find, parseXmlTree, type XmlElement } from './xml-tree.js';

/** Ordinary answers are a few KB; anything past this is not an answer we want to hold. */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/** SubscriptionId of a streaming Subscribe answer (no Watermark: streaming has none, §1.3). */
export function decodeSubscribeResponse(xml: string): { subscriptionId: string; serverVersion?: ServerVersionInfo } {
  const env = parseEnvelope(xml);
  const message = responseMessage(env, 'Subscribe');
  const subscriptionId = childText(message, 'SubscriptionId');
  if (!subscriptionId) throw new ProtocolError('the Subscribe answer has no SubscriptionId');
  if (subscriptionId.length > MAX_ID_CHARS) throw new AbsurdValueError({ field: 'SubscriptionId', length: subscriptionId.length }, 'Subscribe');
  const serverVersion = serverVersionOf(env);
  return serverVersion ? { subscriptionId, serverVersion } : { subscriptionId };
}

/** Returns when the Unsubscribe succeeded; throws EwsResponseError (e.g. ErrorSubscriptionNotFound) otherwise. */
export function decodeUnsubscribeResponse(xml: string): void {
  responseMessage(parseEnvelope(xml), 'Unsubscribe');
}

/** The error a SOAP Fault carries; undefined when the envelope's body is not a fault. ProtocolError when the
 * text is not a SOAP envelope at all (an HTML error page, say). */
export function decodeFault(xml: string): EwsErrorInfo | undefined {
  const fault = child(bodyOf(parseEnvelope(xml)), 'Fault');
  return fault === undefined ? undefined : faultInfo(fault);
}

/** Header/ServerVersionInfo, when the envelope has one (ProtocolError when the text is not an envelope). */
export function decodeServerVersion(xml: string): ServerVersionInfo | undefined {
  return serverVersionOf(parseEnvelope(xml));
}

/** Parses an ordinary answer, bounded by MAX_RESPONSE_BYTES; ProtocolError unless it is a SOAP envelope. */
export function parseEnvelope(xml: string): XmlElement {
  if (xml.length > MAX_RESPONSE_BYTES) {
    throw new ProtocolError(`the server's answer is larger than ${MAX_RESPONSE_BYTES} bytes: ${excerpt(xml)}`);
  }
  const text = xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml;
  let root: XmlElement;
  try {
    root = parseXmlTree(text);
  } catch (err) {
    // Exchange's references to characters XML forbids (char-refs.ts): once more without them, only when there were any.
    const repaired = repairCharRefs(text);
    try {
      if (repaired === text) throw err;
      root = parseXmlTree(repaired);
    } catch (again) {
      throw new ProtocolError(`the server's answer is not well-formed XML: ${excerpt(text.trimStart())}`, { cause: again });
    }
  }
  if (root.local !== 'Envelope') throw new ProtocolError(`the server's answer is not a SOAP envelope: ${excerpt(text.trimStart())}`);
  return root;
}

function bodyOf(env: XmlElement): XmlElement {
  const body = child(env, 'Body');
  if (body === undefined) throw new ProtocolError('the SOAP envelope has no Body');
  return body;
}

// The one response message of an answer; throws for a fault or an error message.
function responseMessage(env: XmlElement, operation: string): XmlElement {
  const message = responseMessages(env, operation)[0];
  const error = messageError(message);
  if (error !== undefined) throw toError(error);
  return message;
}

/** Every response message of an answer, in order (GetItem answers one per id). A SOAP fault throws
 * EwsResponseError; an answer without any response message is a ProtocolError. */
export function responseMessages(env: XmlElement, operation: string): XmlElement[] {
  const body = bodyOf(env);
  const fault = child(body, 'Fault');
  if (fault !== undefined) throw toError(faultInfo(fault));
  // Any child of ResponseMessages: gromox 2.17 nests m:UnsubscribeResponse where …ResponseMessage belongs.
  const messages = find(body, 'ResponseMessages')?.children ?? [];
  if (messages.length === 0) throw new ProtocolError(`the ${operation} answer has no response message`);
  return messages;
}

/** The error one response message carries, or undefined when it is a success (Warning + NoError included). */
export function messageError(message: XmlElement): EwsErrorInfo | undefined {
  const code = childText(message, 'ResponseCode');
  if (!isErrorMessage(message.attrs.ResponseClass, code)) return undefined;
  return {
    responseCode: code || 'ErrorUnknown',
    messageText: childText(message, 'MessageText') ?? '',
    backOffMs: backOffOf(child(message, 'MessageXml')),
    // An absurd id cannot be ours (Subscribe's is held to MAX_ID_CHARS): left out. Trimmed, then copied (childText).
    subscriptionIds: (child(message, 'ErrorSubscriptionIds')?.children ?? [])
      .map((c) => c.text.trim())
      .filter((id) => id && id.length <= MAX_ID_CHARS)
      .map(detach),
    fault: false,
  };
}

function faultInfo(fault: XmlElement): EwsErrorInfo {
  const detail = child(fault, 'detail');
  const info: EwsErrorInfo = {
    responseCode: faultResponseCode(childText(fault, 'faultcode'), childText(detail, 'ResponseCode') || undefined),
    messageText: childText(fault, 'faultstring') || childText(detail, 'Message') || '',
    subscriptionIds: [],
    fault: true,
  };
  const backOffMs = backOffOf(find(detail, 'MessageXml'));
  if (backOffMs !== undefined) info.backOffMs = backOffMs;
  return info;
}

// [ews] MessageXml/Value Name="BackOffMilliseconds" (§4.4), in a fault's detail or in a response message.
function backOffOf(messageXml: XmlElement | undefined): number | undefined {
  const value = messageXml?.children.find((c) => c.local === 'Value' && c.attrs.Name === 'BackOffMilliseconds');
  return value === undefined ? undefined : parseBackOff(value.text.trim());
}

/** The EwsResponseError for an EWS error, with a one-line message. */
export function toError(info: EwsErrorInfo): EwsResponseError {
  // Server text in a one-line message: controls and line breaks out, length bounded.
  // eslint-disable-next-line no-control-regex
  const text = info.messageText.replace(/[\s\u0000-\u001f\u007f-\u009f]+/g, ' ').trim().slice(0, 300);
  return new EwsResponseError(info.responseCode, text ? `${info.responseCode}: ${text}` : info.responseCode, {
    backOffMs: info.backOffMs,
    subscriptionIds: info.subscriptionIds,
  });
}

function serverVersionOf(env: XmlElement): ServerVersionInfo | undefined {
  const el = child(child(env, 'Header'), 'ServerVersionInfo');
  if (el === undefined) return undefined;
  const v: ServerVersionInfo = {};
  const num = (name: string): number | undefined => (/^\d{1,9}$/.test(el.attrs[name] ?? '') ? Number(el.attrs[name]) : undefined);
  const fields = [
    ['majorVersion', 'MajorVersion'],
    ['minorVersion', 'MinorVersion'],
    ['majorBuildNumber', 'MajorBuildNumber'],
    ['minorBuildNumber', 'MinorBuildNumber'],
  ] as const;
  for (const [key, attr] of fields) {
    const n = num(attr);
    if (n !== undefined) v[key] = n;
  }
  if (el.attrs.Version) v.version = el.attrs.Version;
  return v;
}

// ---- small readers shared by the decoders of sync.ts and items.ts

/** An xs:boolean ('true', 'false', '1', '0', surrounding whitespace allowed); undefined for anything else. */
export function xsBoolean(text: string | undefined): boolean | undefined {
  const t = text?.trim();
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  return undefined;
}

/**
 * Id and ChangeKey of an ItemId/FolderId/ParentFolderId element; undefined when Id is missing or empty. A placeholder
 * ChangeKey (change-key.ts) is left out. An absurdly long one (limits.ts) throws AbsurdValueError: a sync skips that
 * change, other answers are refused whole.
 */
export function ewsIdOf(el: XmlElement | undefined, operation?: string): EwsId | undefined {
  const id = el?.attrs.Id;
  const absurd = el === undefined ? undefined : absurdId(el.local, id, el.attrs.ChangeKey);
  if (absurd !== undefined) throw new AbsurdValueError(absurd, operation);
  if (!id) return undefined;
  const changeKey = usableChangeKey(el.attrs.ChangeKey);
  return changeKey ? { id, changeKey } : { id };
}

/** An answer carries an id or ChangeKey longer than any real one (limits.ts). */
export class AbsurdValueError extends ProtocolError {
  constructor(
    readonly absurd: Absurdity,
    operation?: string,
  ) {
    super(`the server's ${operation ? `${operation} ` : ''}answer has an absurd ${absurd.field} (${absurd.length} characters)`);
  }
}

/** The object without its undefined properties, so that decoded results compare and serialise cleanly. */
export function compact<T extends object>(o: T): T {
  for (const key of Object.keys(o) as (keyof T)[]) if (o[key] === undefined) delete o[key];
  return o;
}
