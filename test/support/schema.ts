// Test support: validates an EWS request offline as ../shared/ews-schema/validate.sh does: a SOAP 1.1 Envelope whose
// Body has one element child, extracted as a standalone document (in-scope namespaces re-declared) and checked by
// xmllint (WebAssembly) against xmllint/ews.xsd with types.xsd, messages.xsd, soap11.xsd and xml.xsd preloaded.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SaxesParser, type SaxesTagNS } from 'saxes';
import { validateXML } from 'xmllint-wasm';
import { sharedDir } from './shared.js';

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const SCHEMA_FILES = ['types.xsd', 'messages.xsd', 'soap11.xsd', 'xml.xsd'] as const;

export interface SchemaResult {
  valid: boolean;
  errors: string[];
}

let schemas: { main: { fileName: string; contents: string }; preload: { fileName: string; contents: string }[] } | undefined;

function loadSchemas(): NonNullable<typeof schemas> {
  if (schemas) return schemas;
  const shared = sharedDir();
  if (!shared) throw new Error('../shared not found: the EWS schemas are in ../shared/ews-schema/xmllint');
  const dir = join(shared, 'ews-schema', 'xmllint');
  const read = (f: string): { fileName: string; contents: string } => ({ fileName: f, contents: readFileSync(join(dir, f), 'utf8') });
  schemas = { main: read('ews.xsd'), preload: SCHEMA_FILES.map(read) };
  return schemas;
}

interface Extracted {
  /** Standalone documents: the Body's child, then (with header: true) each Header child. */
  docs: { label: string; xml: string }[];
  errors: string[];
}

/** Splits a SOAP envelope into the documents to validate (steps 1-3 of validate.sh). */
export function extractPayloads(xml: string, opts: { header?: boolean } = {}): Extracted {
  const parser = new SaxesParser({ xmlns: true });
  const scopes: Record<string, string>[] = [];
  const path: SaxesTagNS[] = [];
  const bodyKids: { label: string; start: number; decls: string }[] = [];
  const docs: { label: string; xml: string }[] = [];
  const errors: string[] = [];
  let open: { start: number; depth: number; label: string; decls: string } | undefined;
  let rootChecked = false;

  parser.on('opentagstart', (tag) => {
    // saxes has read a little past the name: the last '<name' before here is where this tag began
    (tag as { start?: number }).start = xml.lastIndexOf(`<${tag.name}`, parser.position);
  });
  parser.on('opentag', (tag) => {
    const inScope = { ...(scopes[scopes.length - 1] ?? {}), ...tag.ns };
    scopes.push(inScope);
    const depth = path.length;
    const parent = path[depth - 1];
    path.push(tag);
    if (depth === 0) {
      rootChecked = true;
      if (tag.local !== 'Envelope' || tag.uri !== SOAP11) errors.push(`root is {${tag.uri}}${tag.local}, expected {${SOAP11}}Envelope`);
      return;
    }
    const inBody = depth === 2 && parent.local === 'Body' && parent.uri === SOAP11;
    const inHeader = depth === 2 && parent.local === 'Header' && parent.uri === SOAP11 && opts.header === true;
    if (!inBody && !inHeader) return;
    const own = new Set(Object.keys(tag.ns));
    const decls = Object.entries(inScope)
      .filter(([prefix]) => !own.has(prefix))
      .map(([prefix, uri]) => ` ${prefix === '' ? 'xmlns' : `xmlns:${prefix}`}="${uri.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"`)
      .join('');
    const start = (tag as { start?: number }).start ?? 0;
    open = { start, depth, label: `${inBody ? 'Body' : 'Header'}/${tag.name}`, decls };
    if (inBody) bodyKids.push({ label: open.label, start, decls });
  });
  parser.on('closetag', (tag) => {
    scopes.pop();
    path.pop();
    if (open && path.length === open.depth) {
      const raw = xml.slice(open.start, parser.position);
      const nameEnd = 1 + tag.name.length;
      docs.push({ label: open.label, xml: `<?xml version="1.0" encoding="UTF-8"?>\n${raw.slice(0, nameEnd)}${open.decls}${raw.slice(nameEnd)}\n` });
      open = undefined;
    }
  });
  try {
    parser.write(xml).close();
  } catch (err) {
    return { docs: [], errors: [`not well-formed or not namespace-well-formed XML: ${(err as Error).message}`] };
  }
  if (!rootChecked) errors.push('no root element');
  if (errors.length === 0 && bodyKids.length !== 1) errors.push(`soap:Body has ${bodyKids.length} element children (expected exactly 1)`);
  // the Body's child first, whatever the order in the envelope
  docs.sort((a, b) => Number(b.label.startsWith('Body/')) - Number(a.label.startsWith('Body/')));
  return { docs, errors };
}

/** Validates one full SOAP request envelope. With header: true, each Header child is validated too. */
export async function validateEwsRequest(xml: string, opts: { header?: boolean } = {}): Promise<SchemaResult> {
  return (await validateEwsRequests([xml], opts))[0]!;
}

/**
 * Validates several envelopes, each judged on its own as validateEwsRequest would, in one xmllint run: every run
 * parses the 700 KB of schema again (about half a second), so a test that checks many requests checks them at once.
 */
export async function validateEwsRequests(xmls: readonly string[], opts: { header?: boolean } = {}): Promise<SchemaResult[]> {
  const extracted = xmls.map((xml) => extractPayloads(xml, opts));
  const files = extracted.flatMap((e, i) => (e.errors.length > 0 ? [] : e.docs.map((d, j) => ({ fileName: `request-${i}-payload-${j}.xml`, contents: d.xml }))));
  const outcome = files.length === 0 ? undefined : await validateXML({ xml: files, schema: [loadSchemas().main], preload: loadSchemas().preload, maxMemoryPages: 4096 });
  const owner = (file: string | undefined): [number, number] | undefined => {
    const m = /request-(\d+)-payload-(\d+)/.exec(file ?? '');
    return m ? [Number(m[1]), Number(m[2])] : undefined;
  };
  // An error xmllint could not place in a file (none expected) fails every envelope of the run.
  const unplaced = outcome && !outcome.valid && outcome.errors.some((e) => !owner(e.loc?.fileName ?? e.rawMessage));
  return extracted.map(({ docs, errors }, i): SchemaResult => {
    if (errors.length > 0) return { valid: false, errors };
    if (!outcome || outcome.valid) return { valid: true, errors: [] };
    if (unplaced) return { valid: false, errors: [outcome.rawOutput.trim()] };
    const mine = outcome.errors.filter((e) => owner(e.loc?.fileName ?? e.rawMessage)?.[0] === i);
    if (mine.length === 0) return { valid: true, errors: [] };
    const messages = mine
      .filter((e) => !/ fails to validate$/.test(e.rawMessage))
      .map((e) => (e.loc ? `${docs[owner(e.loc.fileName)![1]]?.label ?? e.loc.fileName}:${e.loc.lineNumber}: ${e.message}` : e.message));
    return { valid: false, errors: messages.length > 0 ? messages : [mine.map((e) => e.rawMessage).join('\n')] };
  });
}
