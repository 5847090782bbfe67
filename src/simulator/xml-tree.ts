// Parses one incoming SOAP request into a small namespace-aware element tree with saxes. Bounded (depth,
// element count) and DTD-free, as Exchange itself refuses DTDs. Pure.

import { SaxesParser } from 'saxes';
import { ProtocolError } from '../errors.js';

export interface XmlNode {
  uri: string;
  local: string;
  /** Attributes by local name (namespace-qualified ones too, e.g. xsi:type → type). */
  attrs: Record<string, string>;
  children: XmlNode[];
  /** Concatenated direct text content. */
  text: string;
  line: number;
  column: number;
}

export type ParsedXml =
  | { ok: true; root: XmlNode }
  /** Not well-formed (or refused): the parser's message and where it stopped. */
  | { ok: false; message: string; line: number; column: number };

const MAX_DEPTH = 64;
const MAX_ELEMENTS = 20_000;

export function parseXmlTree(xml: string): ParsedXml {
  const parser = new SaxesParser({ xmlns: true, position: true });
  const stack: XmlNode[] = [];
  let root: XmlNode | undefined;
  let count = 0;
  const fail = (message: string): never => {
    throw new ProtocolError(message);
  };
  parser.on('doctype', () => fail('DTD is prohibited in this XML document.'));
  parser.on('opentag', (tag) => {
    if (stack.length >= MAX_DEPTH || ++count > MAX_ELEMENTS) fail('The XML document is nested too deeply or is too large.');
    const attrs: Record<string, string> = {};
    for (const attr of Object.values(tag.attributes)) {
      if (attr.prefix !== 'xmlns' && attr.name !== 'xmlns') attrs[attr.local] = attr.value;
    }
    const node: XmlNode = { uri: tag.uri, local: tag.local, attrs, children: [], text: '', line: parser.line, column: parser.column };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(node);
    else root = node;
    stack.push(node);
  });
  parser.on('closetag', () => void stack.pop());
  parser.on('text', (text) => {
    const top = stack[stack.length - 1];
    if (top) top.text += text;
  });
  parser.on('cdata', (text) => {
    const top = stack[stack.length - 1];
    if (top) top.text += text;
  });
  try {
    parser.write(xml).close();
  } catch (err) {
    const message = err instanceof Error ? err.message.replace(/^\d+:\d+: /, '') : String(err);
    return { ok: false, message, line: parser.line, column: parser.column };
  }
  if (!root) return { ok: false, message: 'Root element is missing.', line: 1, column: 0 };
  return { ok: true, root };
}
