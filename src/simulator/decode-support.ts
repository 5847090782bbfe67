// Helpers of the request decoders: schema-style checks on the request tree that fail with the wording of
// Exchange's ErrorSchemaValidation (a ProtocolError whose cause is the offending node). Pure.

import { ProtocolError } from '../errors.js';
import { DISTINGUISHED_FOLDER_NAMES } from './schema-enums.js';
import { NS_TYPES } from './xml-text.js';
import type { XmlNode } from './xml-tree.js';

export type RequestedFolder = { kind: 'distinguished'; name: string; mailbox?: string } | { kind: 'id'; id: string };

/** Throws a ProtocolError whose cause is the offending node (for LineNumber/LinePosition). */
export function violation(node: XmlNode, text: string): never {
  throw new ProtocolError(text, { cause: node });
}

export const elements = (node: XmlNode): XmlNode[] => node.children;
export const qname = (uri: string, local: string) => `'${local}' in namespace '${uri}'`;

/** "'A, B' in namespace 'x' and 'C' in namespace 'y'", as .NET's validator lists expected elements. */
function expectedList(specs: readonly Particle[]): string {
  const groups = new Map<string, string[]>();
  for (const s of specs) groups.set(s.uri, [...(groups.get(s.uri) ?? []), s.local]);
  return [...groups].map(([uri, names]) => `'${names.join(', ')}' in namespace '${uri}'`).join(' and ');
}

export function expectOnly(parent: XmlNode, uri: string, local: string): XmlNode {
  const kids = elements(parent);
  const first = kids[0];
  if (!first) return violation(parent, `The element ${qname(parent.uri, parent.local)} has incomplete content. List of possible elements expected: ${qname(uri, local)}.`);
  if (first.uri !== uri || first.local !== local || kids.length > 1) {
    const bad = first.uri !== uri || first.local !== local ? first : kids[1]!;
    return violation(bad, `The element ${qname(parent.uri, parent.local)} has invalid child element ${qname(bad.uri, bad.local)}. List of possible elements expected: ${qname(uri, local)}.`);
  }
  return first;
}

/** One element of an xs:sequence: optional (minOccurs=0) and/or repeatable (maxOccurs>1). */
export interface Particle {
  uri: string;
  local: string;
  optional?: boolean;
  repeat?: boolean;
}

/** Checks `parent`'s children against a sequence; returns the nodes found per local name. */
export function readSequence(parent: XmlNode, sequence: readonly Particle[]): Map<string, XmlNode[]> {
  const found = new Map<string, XmlNode[]>();
  let at = 0;
  const fail = (node: XmlNode, what: string, from: number): never => {
    const end = sequence.findIndex((s, i) => i >= from && !s.optional);
    const expected = sequence.slice(from, end < 0 ? sequence.length : end + 1);
    const list = expected.length ? ` List of possible elements expected: ${expectedList(expected)}.` : '';
    return violation(node, `The element ${qname(parent.uri, parent.local)} has ${what}.${list}`);
  };
  for (const child of elements(parent)) {
    let matched = false;
    for (let j = at; j < sequence.length; j++) {
      const s = sequence[j]!;
      if (s.uri === child.uri && s.local === child.local) {
        found.set(s.local, [...(found.get(s.local) ?? []), child]);
        at = s.repeat ? j : j + 1;
        matched = true;
        break;
      }
      if (!s.optional && !found.has(s.local)) break;
    }
    if (!matched) fail(child, `invalid child element ${qname(child.uri, child.local)}`, at);
  }
  const missing = sequence.findIndex((s, i) => i >= at && !s.optional && !found.has(s.local));
  if (missing >= 0) fail(parent, 'incomplete content', at);
  return found;
}

/** An xs:int within [min, max], or a violation worded like Exchange's for `typeName`. */
export function boundedInt(node: XmlNode, typeName: string, min: number, max: number): number {
  const value = /^\s*[+-]?\d{1,10}\s*$/.test(node.text) ? Number(node.text) : NaN;
  if (Number.isNaN(value) || value < min || value > max) {
    const why = Number.isNaN(value) ? 'string is not a valid Int32 value' : value < min ? 'MinInclusive constraint failed' : 'MaxInclusive constraint failed';
    violation(node, `The '${node.uri}:${node.local}' element is invalid - The value '${node.text}' is invalid according to its datatype '${typeName}' - The ${why}.`);
  }
  return value;
}

/** A value from an enumeration, or a violation. */
export function enumValue<T extends string>(node: XmlNode, value: string, allowed: readonly T[], typeName: string, attribute?: string): T {
  if (!(allowed as readonly string[]).includes(value)) {
    const what = attribute ? `'${attribute}' attribute` : `'${node.uri}:${node.local}' element`;
    violation(node, `The ${what} is invalid - The value '${value}' is invalid according to its datatype '${typeName}' - The Enumeration constraint failed.`);
  }
  return value as T;
}

/** The children of a FolderIds-like list (FolderId / DistinguishedFolderId), at least one. */
export function decodeFolderIds(list: XmlNode): RequestedFolder[] {
  const folders = elements(list).map((el): RequestedFolder => {
    if (el.uri === NS_TYPES && el.local === 'DistinguishedFolderId') {
      const name = el.attrs.Id;
      if (name === undefined) return violation(el, "The required attribute 'Id' is missing.");
      enumValue(el, name, DISTINGUISHED_FOLDER_NAMES, `${NS_TYPES}:DistinguishedFolderIdNameType`, 'Id');
      const mailbox = elements(el).find((k) => k.uri === NS_TYPES && k.local === 'Mailbox');
      const address = mailbox && elements(mailbox).find((k) => k.uri === NS_TYPES && k.local === 'EmailAddress')?.text;
      return address === undefined ? { kind: 'distinguished', name } : { kind: 'distinguished', name, mailbox: address };
    }
    if (el.uri === NS_TYPES && el.local === 'FolderId') {
      const id = el.attrs.Id;
      if (id === undefined) return violation(el, "The required attribute 'Id' is missing.");
      return { kind: 'id', id };
    }
    return violation(el, `The element ${qname(list.uri, list.local)} has invalid child element ${qname(el.uri, el.local)}. List of possible elements expected: 'FolderId, DistinguishedFolderId' in namespace '${NS_TYPES}'.`);
  });
  if (folders.length === 0) violation(list, `The element ${qname(list.uri, list.local)} has incomplete content.`);
  return folders;
}
