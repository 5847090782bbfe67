// A minimal element tree for ordinary (non-streaming) EWS responses, which are small and read once.
// Pure. Like the stream decoder it ignores namespaces and matches local names (see stream-envelope.ts).
// Attribute values and texts are copies (detach.ts), so what a decoder keeps from the tree never keeps the answer.
import { SaxesParser } from 'saxes';
import { detach } from './detach.js';
import { localName } from './error-fields.js';

export interface XmlElement {
  /** Local name: 'ResponseCode' for <m:ResponseCode>. */
  local: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (not its children's), as decoded by saxes; a copy, as are the attribute values. */
  text: string;
}

/** Parses a whole document; throws saxes's Error when it is not well-formed. */
export function parseXmlTree(xml: string): XmlElement {
  const parser = new SaxesParser<{ xmlns: false }>({ xmlns: false });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  parser.on('opentag', (tag) => {
    const attrs = tag.attributes;
    for (const name in attrs) attrs[name] = detach(attrs[name]);
    const el: XmlElement = { local: localName(tag.name), attrs, children: [], text: '' };
    if (stack.length > 0) stack[stack.length - 1].children.push(el);
    else root = el;
    stack.push(el);
  });
  parser.on('closetag', () => {
    const el = stack.pop();
    // Pieces of text appended one by one are a chain of views of the answer: one flat copy instead.
    if (el !== undefined && el.text !== '') el.text = detach(el.text);
  });
  const addText = (t: string): void => {
    if (stack.length > 0) stack[stack.length - 1].text += t;
  };
  parser.on('text', addText);
  parser.on('cdata', addText);
  parser.write(xml).close();
  if (root === undefined) throw new Error('no root element');
  return root;
}

/** The first child with this local name. */
export function child(el: XmlElement | undefined, local: string): XmlElement | undefined {
  return el?.children.find((c) => c.local === local);
}

/** The first element with this local name in document order, el itself included. Iterative: a hostile
 * answer may nest deeper than the call stack. */
export function find(el: XmlElement | undefined, local: string): XmlElement | undefined {
  const todo: XmlElement[] = el === undefined ? [] : [el];
  while (todo.length > 0) {
    const e = todo.pop()!;
    if (e.local === local) return e;
    for (let i = e.children.length - 1; i >= 0; i--) todo.push(e.children[i]);
  }
  return undefined;
}

/** Trimmed text of a child, or undefined when there is no such child. Trimmed, a copy again: a view of a text
 * that is mostly whitespace would keep all of it. */
export function childText(el: XmlElement | undefined, local: string): string | undefined {
  const c = child(el, local);
  if (c === undefined) return undefined;
  const text = c.text.trim();
  return text.length === c.text.length ? text : detach(text);
}
