// Reading a source file's imports, for the tests that check who may import whom (test/architecture.test.ts and
// test/ews/import-rule.test.ts).

/** The source without comments, so that prose may name what the code must not import. */
export function code(text: string): string {
  return text.replace(/\/\*[^]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

/** Every module a source names: static and dynamic imports, `export … from`, bare `import '…'`, and require. */
export function specifiers(source: string): string[] {
  const out: string[] = [];
  const patterns = [/\b(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const re of patterns) for (const m of source.matchAll(re)) out.push(m[1]!);
  return out;
}
