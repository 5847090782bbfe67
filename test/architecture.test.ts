// Which folder of src/ may import which: the layers of README "Development", checked on every import of every
// file (static, dynamic and `export … from`, types included). Shared leaves are at the bottom, the command line at
// the top; nothing points down-up. A new folder fails the first test until it is given its place here.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { describe, it } from 'node:test';
import { code, specifiers } from './support/imports.js';
import { repoRoot } from './support/shared.js';

const SRC = join(repoRoot, 'src');

/**
 * For each folder of src/ (and errors.ts at its root): the folders of ours it may import, and the packages. A
 * folder may always import its own files and `errors.ts`. Bottom to top.
 */
const LAYERS: Record<string, { ours: string[]; packages: string[] }> = {
  // The codec: pure, no I/O (test/ews/import-rule.test.ts checks that too).
  ews: { ours: [], packages: ['saxes'] },
  // Leaves every layer shares: the clock, abort helpers, sanitising and width of server text, the event type.
  base: { ours: ['ews'], packages: [] },
  term: { ours: ['base'], packages: ['chalk'] },
  state: { ours: ['base'], packages: [] },
  output: { ours: ['base', 'ews'], packages: ['chalk'] },
  auth: { ours: ['base', 'ews'], packages: ['@azure/msal-node', '@ewsjs/ntlm-client', '@napi-rs/keyring'] },
  // It also implements the fleet's FleetTransport (fleet/types.ts: types and the grouping it is handed).
  transport: { ours: ['base', 'ews', 'auth', 'term', 'fleet'], packages: ['undici'] },
  watch: { ours: ['base', 'ews'], packages: [] },
  enrich: { ours: ['base', 'ews'], packages: [] },
  hooks: { ours: ['base'], packages: [] },
  catchup: { ours: ['base', 'ews', 'state', 'watch'], packages: [] },
  // Autodiscover: its codec builds on the EWS XML helpers; its flow gets HTTP and DNS injected by cli/.
  autodiscover: { ours: ['base', 'ews'], packages: [] },
  // Which mailboxes: the list, its file, --shard. Pure rules on addresses; it needs no protocol, so no ews/.
  mailboxes: { ours: ['base'], packages: [] },
  // Many mailboxes: grouping, and the engine that runs one stream per group over the watch's connection and policy.
  fleet: { ours: ['base', 'ews', 'watch'], packages: [] },
  // The path an event takes after the engine: enrich → filter → print → record → hooks → count.
  printed: { ours: ['base', 'ews', 'watch', 'enrich', 'output', 'catchup', 'hooks'], packages: [] },
  // The simulated Exchange has its own XML reading and writing, so that it never shares our client's assumptions;
  // it borrows only a type or two from the codec.
  simulator: { ours: ['ews'], packages: ['saxes'] },
  // The composition root and the commands: anything.
  cli: { ours: ['base', 'ews', 'term', 'state', 'output', 'auth', 'transport', 'watch', 'enrich', 'hooks', 'catchup', 'printed', 'simulator', 'autodiscover', 'fleet', 'mailboxes'], packages: ['commander', 'undici', 'chalk'] },
  types: { ours: [], packages: [] },
};

interface Import {
  file: string;
  specifier: string;
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}



/** The folder of src/ a file is in ('errors.ts' for the file at the root). */
function layerOf(file: string): string {
  return relative(SRC, file).split(sep)[0]!;
}

const isBuiltin = (s: string): boolean => s.startsWith('node:') || builtinModules.includes(s);
const packageOf = (s: string): string => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!);

/** What is wrong with one import, or undefined. */
export function violation(imp: Import): string | undefined {
  const from = layerOf(imp.file);
  const rule = LAYERS[from];
  if (from === 'errors.ts') return imp.specifier.startsWith('.') ? `errors.ts imports ${imp.specifier}: it must stay a leaf` : undefined;
  if (!rule) return `src/${from}/ has no place in test/architecture.test.ts`;
  if (isBuiltin(imp.specifier)) return undefined;
  if (!imp.specifier.startsWith('.')) {
    const pkg = packageOf(imp.specifier);
    return rule.packages.includes(pkg) ? undefined : `src/${from}/ may not import the package ${pkg} (allowed: ${rule.packages.join(', ') || 'none'})`;
  }
  const target = normalize(join(dirname(imp.file), imp.specifier));
  if (!target.startsWith(SRC + sep)) return `imports ${imp.specifier}, outside src/`;
  const to = layerOf(target.replace(/\.js$/, '.ts'));
  if (to === from || to === 'errors.ts') return undefined;
  return rule.ours.includes(to) ? undefined : `src/${from}/ may not import src/${to}/ (allowed: ${rule.ours.join(', ') || 'nothing of ours but errors.ts'})`;
}

function allImports(): Import[] {
  return walk(SRC).flatMap((file) => specifiers(code(readFileSync(file, 'utf8'))).map((specifier) => ({ file, specifier })));
}

/** Cycles between files (types included: a cycle of types is still a knot a reader has to untie). */
function cycles(imports: Import[]): string[][] {
  const edges = new Map<string, Set<string>>();
  for (const { file, specifier } of imports) {
    if (!specifier.startsWith('.')) continue;
    const target = normalize(join(dirname(file), specifier)).replace(/\.js$/, '.ts');
    if (!edges.has(file)) edges.set(file, new Set());
    edges.get(file)!.add(target);
  }
  // Tarjan's strongly connected components.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(relative(SRC, w));
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('architecture: who may import whom', () => {
  it('every folder of src/ has its place in the table', () => {
    const folders = readdirSync(SRC).filter((name) => statSync(join(SRC, name)).isDirectory());
    assert.deepEqual(folders.filter((f) => !(f in LAYERS)), []);
    assert.deepEqual(Object.keys(LAYERS).filter((f) => !folders.includes(f)), [], 'a folder in the table that no longer exists');
  });

  it('no import points the wrong way', () => {
    const bad = allImports().flatMap((imp) => {
      const why = violation(imp);
      return why ? [`${relative(repoRoot, imp.file)}: ${why} ('${imp.specifier}')`] : [];
    });
    assert.deepEqual(bad, []);
  });

  it('no import cycles between files', () => {
    assert.deepEqual(cycles(allImports()), []);
  });

  it('the checker catches each kind of wrong import', () => {
    const f = (path: string): string => join(SRC, path);
    assert.match(violation({ file: f('transport/http.ts'), specifier: '../watch/engine.js' }) ?? '', /^src\/transport\/ may not import src\/watch\//);
    assert.match(violation({ file: f('ews/framer.ts'), specifier: '../base/clock.js' }) ?? '', /^src\/ews\/ may not import src\/base\//);
    assert.match(violation({ file: f('base/clock.ts'), specifier: '../output/ndjson.js' }) ?? '', /may not import src\/output\//);
    assert.match(violation({ file: f('simulator/index.ts'), specifier: '../transport/http.js' }) ?? '', /may not import src\/transport\//);
    assert.match(violation({ file: f('ews/framer.ts'), specifier: 'undici' }) ?? '', /may not import the package undici/);
    assert.match(violation({ file: f('errors.ts'), specifier: './ews/types.js' }) ?? '', /must stay a leaf/);
    assert.match(violation({ file: f('newthing/x.ts'), specifier: '../ews/types.js' }) ?? '', /has no place/);
    assert.equal(violation({ file: f('cli/main.ts'), specifier: '../printed/path.js' }), undefined);
    assert.equal(violation({ file: f('watch/engine.ts'), specifier: 'node:timers' }), undefined);
    assert.equal(violation({ file: f('catchup/ledger.ts'), specifier: './ledger-file.js' }), undefined);
    assert.deepEqual(specifiers("import { x } from 'node:fs';\nimport type { Y } from '../watch/client.js';\nexport * from './a.js';\nconst z = await import('undici');"), [
      'node:fs',
      '../watch/client.js',
      './a.js',
      'undici',
    ]);
    const a = f('x/a.ts');
    const b = f('x/b.ts');
    assert.deepEqual(cycles([{ file: a, specifier: './b.js' }, { file: b, specifier: './a.js' }]), [['x/a.ts', 'x/b.ts']]);
  });
});
