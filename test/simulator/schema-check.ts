// Private helper of the simulator tests: finds ../shared/ews-schema, extracts a SOAP Body's payload as a
// standalone document (re-declaring the namespaces in scope) and validates payloads with xmllint-wasm.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SaxesParser } from 'saxes';
import { validateXML } from 'xmllint-wasm';

const SOAP = 'http://schemas.xmlsoap.org/soap/envelope/';

/** <repo root>/../shared (or $EWS_WATCH_SHARED)/ews-schema/xmllint, when present. */
export function findSchemaDir(): string | undefined {
  const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
  const shared = process.env.EWS_WATCH_SHARED ?? join(repoRoot, '..', 'shared');
  const dir = join(shared, 'ews-schema', 'xmllint');
  return existsSync(join(dir, 'ews.xsd')) ? dir : undefined;
}

const escapeText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escapeAttr = (s: string): string => escapeText(s).replace(/"/g, '&quot;');

/** The first element inside soap:Body, as its own document with every in-scope namespace declared on it. */
export function extractBodyPayload(envelope: string): string {
  const parser = new SaxesParser({ xmlns: true });
  const scopes: Array<Record<string, string>> = [];
  let bodyDepth = -1;
  let captureDepth = -1;
  let finished = false;
  let out = '';
  parser.on('opentag', (tag) => {
    const declared: Record<string, string> = {};
    for (const a of Object.values(tag.attributes)) {
      if (a.name === 'xmlns') declared[''] = a.value;
      else if (a.prefix === 'xmlns') declared[a.local] = a.value;
    }
    const inScope = { ...(scopes[scopes.length - 1] ?? {}), ...declared };
    scopes.push(inScope);
    const depth = scopes.length;
    const starting = !finished && captureDepth < 0 && bodyDepth > 0 && depth === bodyDepth + 1;
    if (starting) captureDepth = depth;
    if (captureDepth > 0) {
      let open = `<${tag.name}`;
      for (const a of Object.values(tag.attributes)) open += ` ${a.name}="${escapeAttr(a.value)}"`;
      if (starting) {
        for (const [prefix, uri] of Object.entries(inScope)) {
          if (!(prefix in declared)) open += ` ${prefix ? `xmlns:${prefix}` : 'xmlns'}="${escapeAttr(uri)}"`;
        }
      }
      out += `${open}>`;
    }
    if (bodyDepth < 0 && tag.local === 'Body' && tag.uri === SOAP) bodyDepth = depth;
  });
  parser.on('text', (t) => {
    if (captureDepth > 0) out += escapeText(t);
  });
  parser.on('closetag', (tag) => {
    if (captureDepth > 0) out += `</${tag.name}>`;
    if (scopes.length === captureDepth) {
      captureDepth = -1;
      finished = true;
    }
    scopes.pop();
  });
  parser.write(envelope).close();
  if (!out) throw new Error('no element inside soap:Body');
  return out;
}

export interface PayloadResult {
  valid: boolean;
  /** Messages per document name. */
  errors: string[];
}

/** Validates each payload (a standalone document) against ews.xsd. */
export async function validatePayloads(schemaDir: string, docs: Array<{ name: string; xml: string }>): Promise<PayloadResult> {
  const read = (name: string) => ({ fileName: name, contents: readFileSync(join(schemaDir, name), 'utf8') });
  const result = await validateXML({
    xml: docs.map((d) => ({ fileName: `${d.name}.xml`, contents: d.xml })),
    schema: [read('ews.xsd')],
    preload: [read('xml.xsd'), read('types.xsd'), read('messages.xsd'), read('soap11.xsd')],
    initialMemoryPages: 1024,
    maxMemoryPages: 8192,
  });
  return { valid: result.valid, errors: result.errors.map((e) => e.rawMessage) };
}
