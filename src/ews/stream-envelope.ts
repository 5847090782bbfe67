// Decodes ONE framed GetStreamingEvents envelope into StreamMessages, in document order. Pure: no I/O.
// Local names only, never prefixes or namespaces: gromox 2.17 sends undeclared m:/t: prefixes and unqualified
// Notification/ItemId (ews-samples/README.md), so saxes runs without namespaces; nesting tells parts apart.
// Every string it hands out is a copy (detach.ts), never a view of the envelope; an event with an absurdly long
// id, ChangeKey or TimeStamp (limits.ts) becomes a 'skipped' message instead.
import { SaxesParser, type SaxesTagPlain } from 'saxes';
import { ProtocolError } from '../errors.js';
import type { EwsEvent, EwsId, StreamMessage } from './types.js';
import { usableChangeKey } from './change-key.js';
import { repairCharRefs } from './char-refs.js';
import { createDetachedCache, detach } from './detach.js';
import { absurdId, MAX_ID_CHARS, MAX_TIMESTAMP_CHARS, type Absurdity } from './limits.js';
import { eventTypeOfElement } from './event-names.js';
import { faultResponseCode, isErrorMessage, localName, parseBackOff } from './error-fields.js';

export interface StreamEnvelopeParser {
  /** All messages of one envelope; ProtocolError if it is not well-formed XML or an event lacks its ids. */
  parse(xml: string): StreamMessage[];
}

// Text-only elements we read. Everything else is skipped without collecting its text.
const enum F {
  None,
  TimeStamp,
  UnreadCount,
  NotifSubId,
  ErrorSubId,
  ResponseCode,
  MessageText,
  ConnectionStatus,
  BackOff,
  FaultCode,
  FaultString,
  DetailCode,
  DetailMessage,
}

interface Message {
  depth: number;
  responseClass: string | undefined;
  code?: string;
  text?: string;
  status?: string;
  backOff?: string;
  ids: string[];
}
interface Notif {
  depth: number;
  first: number; // index in `out` of its first event
  subscriptionId?: string;
  absurd?: Absurdity;
}
interface Fault {
  depth: number;
  faultcode?: string;
  faultstring?: string;
  detailCode?: string;
  detailMessage?: string;
  backOff?: string;
}
type Ev = Partial<EwsEvent> & Pick<EwsEvent, 'type'> & { depth: number; unread?: string; absurd?: Absurdity };

/** Server text we keep (codes, MessageText, faultstring) is a line or a sentence; past this it is cut. */
const MAX_TEXT_CHARS = 4096;

export function createStreamEnvelopeParser(): StreamEnvelopeParser {
  let parser = newParser();
  let out: StreamMessage[] = [];
  const stack: string[] = [];
  let msg: Message | undefined;
  let notif: Notif | undefined;
  let ev: Ev | undefined;
  let fault: Fault | undefined;
  let field = F.None;
  let fieldDepth = -1;
  let text = '';
  // Copies of what repeats from event to event (ids of parents and subscriptions, timestamps): one per value.
  const repeated = createDetachedCache();

  function newParser(): SaxesParser<{ xmlns: false; position: false }> {
    const p = new SaxesParser<{ xmlns: false; position: false }>({ xmlns: false, position: false });
    p.on('opentag', onOpen);
    p.on('closetag', onClose);
    p.on('cdata', (data) => {
      if (field !== F.None) text += data;
    });
    return p;
  }
  const onText = (t: string): void => {
    text += t;
  };

  function capture(f: F, depth: number): void {
    field = f;
    fieldDepth = depth;
    text = '';
    parser.on('text', onText); // saxes slices text only while a handler is set: only for these elements
  }

  function onOpen(tag: SaxesTagPlain): void {
    const local = localName(tag.name);
    const depth = stack.length;
    const parent = depth > 0 ? stack[depth - 1] : '';
    stack.push(local);
    if (ev !== undefined) {
      if (depth === ev.depth + 1) openEventChild(ev, local, tag.attributes, depth);
    } else if (notif !== undefined) {
      if (depth === notif.depth + 1) openNotificationChild(local, depth);
    } else if (msg !== undefined) {
      openMessageDescendant(msg, local, parent, tag.attributes, depth);
    } else if (fault !== undefined) {
      openFaultDescendant(fault, local, parent, tag.attributes, depth);
    } else if (parent === 'ResponseMessages') {
      // Any child: gromox 2.17 names it m:GetStreamingEvents instead of …ResponseMessage.
      msg = { depth, responseClass: tag.attributes.ResponseClass, ids: [] };
    } else if (local === 'Fault' && parent === 'Body') {
      fault = { depth };
    }
  }

  function openEventChild(e: Ev, local: string, attrs: Record<string, string>, depth: number): void {
    switch (local) {
      case 'TimeStamp':
        return capture(F.TimeStamp, depth);
      case 'UnreadCount':
        return capture(F.UnreadCount, depth);
      case 'ItemId':
      case 'FolderId':
        e.kind = local === 'ItemId' ? 'item' : 'folder';
        e.target = idOf(e, local, attrs);
        return;
      case 'ParentFolderId':
        e.parentFolderId = idOf(e, local, attrs, repeated);
        return;
      case 'OldItemId':
      case 'OldFolderId':
        e.oldTarget = idOf(e, local, attrs);
        return;
      case 'OldParentFolderId':
        e.oldParentFolderId = idOf(e, local, attrs, repeated);
        return;
    }
  }

  function openNotificationChild(local: string, depth: number): void {
    if (local === 'SubscriptionId') return capture(F.NotifSubId, depth);
    const type = eventTypeOfElement(local);
    if (type !== undefined) ev = { type, depth };
    // [ews] StatusEvent is a pull/push keep-alive (§3); gromox sends it on streams too. We report it as a
    // heartbeat so a watchdog fed by heartbeats stays quiet while the server is demonstrably alive.
    else if (local === 'StatusEvent') out.push({ kind: 'heartbeat' });
  }

  function openMessageDescendant(m: Message, local: string, parent: string, attrs: Record<string, string>, depth: number): void {
    if (depth === m.depth + 1) {
      if (local === 'ResponseCode') capture(F.ResponseCode, depth);
      else if (local === 'MessageText') capture(F.MessageText, depth);
      else if (local === 'ConnectionStatus') capture(F.ConnectionStatus, depth);
    } else if (local === 'Notification') {
      notif = { depth, first: out.length };
    } else if (local === 'SubscriptionId' && parent === 'ErrorSubscriptionIds') {
      capture(F.ErrorSubId, depth);
    } else if (local === 'Value' && parent === 'MessageXml' && attrs.Name === 'BackOffMilliseconds') {
      capture(F.BackOff, depth);
    }
  }

  function openFaultDescendant(f: Fault, local: string, parent: string, attrs: Record<string, string>, depth: number): void {
    if (depth === f.depth + 1) {
      if (local === 'faultcode') capture(F.FaultCode, depth);
      else if (local === 'faultstring') capture(F.FaultString, depth);
    } else if (parent === 'detail') {
      if (local === 'ResponseCode') capture(F.DetailCode, depth);
      else if (local === 'Message') capture(F.DetailMessage, depth);
    } else if (local === 'Value' && parent === 'MessageXml' && attrs.Name === 'BackOffMilliseconds') {
      capture(F.BackOff, depth);
    }
  }

  function onClose(): void {
    stack.pop();
    const depth = stack.length;
    if (field !== F.None && depth === fieldDepth) endCapture();
    if (ev !== undefined) {
      if (depth === ev.depth) endEvent(ev);
    } else if (notif !== undefined) {
      if (depth === notif.depth) endNotification(notif);
    } else if (msg !== undefined) {
      if (depth === msg.depth) endMessage(msg);
    } else if (fault !== undefined && depth === fault.depth) {
      endFault(fault);
    }
  }

  function endCapture(): void {
    const trimmed = text.trim();
    const f = field;
    field = F.None;
    text = '';
    parser.off('text');
    // Ids and TimeStamps are checked whole; other text is cut. Either way a copy: `trimmed` is a view of the envelope.
    const value = f === F.TimeStamp || f === F.NotifSubId || f === F.ErrorSubId ? '' : detach(trimmed.slice(0, MAX_TEXT_CHARS));
    switch (f) {
      case F.TimeStamp:
        if (trimmed.length > MAX_TIMESTAMP_CHARS) ev!.absurd ??= { field: 'TimeStamp', length: trimmed.length };
        else ev!.timestamp = repeated(trimmed);
        break;
      case F.UnreadCount: ev!.unread = value; break;
      case F.NotifSubId:
        if (trimmed.length > MAX_ID_CHARS) notif!.absurd = { field: 'SubscriptionId', length: trimmed.length };
        else notif!.subscriptionId = repeated(trimmed);
        break;
      // An absurd id cannot be ours (Subscribe's answer is held to the same bound): it is left out.
      case F.ErrorSubId: if (trimmed && trimmed.length <= MAX_ID_CHARS) msg!.ids.push(detach(trimmed)); break;
      case F.ResponseCode: msg!.code = value; break;
      case F.MessageText: msg!.text = value; break;
      case F.ConnectionStatus: msg!.status = value; break;
      case F.BackOff: (fault ?? msg)!.backOff = value; break;
      case F.FaultCode: fault!.faultcode = value; break;
      case F.FaultString: fault!.faultstring = value; break;
      case F.DetailCode: fault!.detailCode = value; break;
      case F.DetailMessage: fault!.detailMessage = value; break;
    }
  }

  function endEvent(e: Ev): void {
    ev = undefined;
    if (e.absurd !== undefined) {
      out.push({ kind: 'skipped', skipped: { event: e.type, ...e.absurd } });
      return;
    }
    if (e.target === undefined || e.kind === undefined) throw new ProtocolError(`a ${e.type} event has no ItemId or FolderId`);
    if (e.timestamp === undefined) throw new ProtocolError(`a ${e.type} event has no TimeStamp`);
    const event: EwsEvent = { type: e.type, subscriptionId: notif?.subscriptionId ?? '', timestamp: e.timestamp, kind: e.kind, target: e.target };
    if (e.parentFolderId) event.parentFolderId = e.parentFolderId;
    if (e.oldTarget) event.oldTarget = e.oldTarget;
    if (e.oldParentFolderId) event.oldParentFolderId = e.oldParentFolderId;
    // [ews] UnreadCount belongs to folder ModifiedEvents only (§3; the Managed API reads it nowhere else).
    if (e.unread !== undefined && e.kind === 'folder' && e.type === 'Modified' && /^\d{1,9}$/.test(e.unread)) {
      event.unreadCount = Number(e.unread);
    }
    out.push({ kind: 'event', event });
  }

  function endNotification(n: Notif): void {
    notif = undefined;
    if (n.absurd !== undefined) return skipAll(n.first, n.absurd);
    const id = n.subscriptionId;
    if (!id) throw new ProtocolError('a Notification has no SubscriptionId');
    // The schema puts SubscriptionId first, but order is not ours to rely on: fill in events read before it.
    for (let i = n.first; i < out.length; i++) {
      const m = out[i];
      if (m.kind === 'event' && m.event.subscriptionId === '') m.event.subscriptionId = id;
    }
  }

  // Events of a Notification whose SubscriptionId is absurd belong to no subscription of ours.
  function skipAll(first: number, absurd: Absurdity): void {
    for (let i = first; i < out.length; i++) {
      const m = out[i];
      if (m.kind === 'event') out[i] = { kind: 'skipped', skipped: { event: m.event.type, ...absurd } };
    }
  }

  function endMessage(m: Message): void {
    msg = undefined;
    if (isErrorMessage(m.responseClass, m.code)) {
      // ResponseClass="Error" without a ResponseCode: 'ErrorUnknown' (not an EWS code) so it classifies as transient.
      const backOffMs = m.backOff === undefined ? undefined : parseBackOff(m.backOff);
      out.push({
        kind: 'error',
        error: { responseCode: m.code || 'ErrorUnknown', messageText: m.text ?? '', ...(backOffMs === undefined ? {} : { backOffMs }), subscriptionIds: m.ids, fault: false },
      });
    } else if (m.ids.length > 0) {
      // [ews] ErrorSubscriptionIds lists "invalid subscription IDs" (protocol-notes.md §2.3 (d)). gromox lists a
      // subscription it lost there in an OK envelope with no error code at all, then sends Closed (as modelled in
      // test/fixtures/streams/gromox-lost-subscription.xml): reported before the heartbeat of the same message.
      out.push({ kind: 'lost', subscriptionIds: m.ids });
    }
    // [ews] ConnectionStatus: OK = "simple heartbeat", Closed = the server ends this connection (§2.4).
    // Read case-insensitively: a server that writes 'closed' still means it.
    const status = m.status?.toLowerCase();
    if (status === 'ok') out.push({ kind: 'heartbeat' });
    else if (status === 'closed') out.push({ kind: 'closed' });
  }

  function endFault(f: Fault): void {
    fault = undefined;
    const backOffMs = f.backOff === undefined ? undefined : parseBackOff(f.backOff);
    const responseCode = faultResponseCode(f.faultcode, f.detailCode);
    const messageText = f.faultstring || f.detailMessage || '';
    out.push({ kind: 'error', error: { responseCode, messageText, ...(backOffMs === undefined ? {} : { backOffMs }), subscriptionIds: [], fault: true } });
  }

  /** One envelope through the parser; a throw leaves it fresh for the next. */
  function run(xml: string): StreamMessage[] {
    reset();
    try {
      parser.write(xml).close();
    } catch (err) {
      parser = newParser(); // saxes is in an unknown state after a throw
      reset();
      throw err;
    }
    const result = out;
    out = [];
    return result;
  }

  function reset(): void {
    out = [];
    stack.length = 0;
    msg = notif = ev = fault = undefined;
    field = F.None;
    text = '';
  }

  return {
    parse(xml: string): StreamMessage[] {
      try {
        return run(xml);
      } catch (err) {
        if (err instanceof ProtocolError) throw err;
        // Exchange's references to characters XML forbids (char-refs.ts): once more without them, only when there were any.
        const repaired = repairCharRefs(xml);
        try {
          if (repaired === xml) throw err;
          return run(repaired);
        } catch (again) {
          if (again instanceof ProtocolError) throw again;
          throw new ProtocolError(`the server sent malformed XML in the event stream (${describe(again)})`, { cause: again });
        }
      }
    },
  };
}

// An Id/ChangeKey pair, copied out of the envelope; undefined without an Id, which makes the event incomplete.
// Exchange's notifications carry placeholder ChangeKeys (change-key.ts): those are left out, as if not sent. An
// absurd one marks the event to be skipped instead.
function idOf(e: Ev, element: string, attrs: Record<string, string>, copy: (s: string) => string = detach): EwsId | undefined {
  const absurd = absurdId(element, attrs.Id, attrs.ChangeKey);
  if (absurd !== undefined) {
    e.absurd ??= absurd;
    return undefined;
  }
  if (!attrs.Id) return undefined;
  const id: EwsId = { id: copy(attrs.Id) };
  const changeKey = usableChangeKey(attrs.ChangeKey);
  if (changeKey !== undefined) id.changeKey = detach(changeKey);
  return id;
}

function describe(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // eslint-disable-next-line no-control-regex
  return message.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').slice(0, 200);
}
