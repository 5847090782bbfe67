// ServerVersionInfo in words for `check` and -v: only what the server reported, never placeholders.

import type { ServerVersionInfo } from '../ews/types.js';
import { stripControl } from '../base/sanitize.js';

export function describeVersion(v: ServerVersionInfo | undefined): string {
  if (!v) return 'version not reported (no ServerVersionInfo in the answer)';
  const numbers = [v.majorVersion, v.minorVersion, v.majorBuildNumber, v.minorBuildNumber];
  const missing = numbers.indexOf(undefined);
  // A build number is only meaningful from the left: 15.0 without 847 is still 15.0, 15.?.847 says nothing.
  const build = numbers.slice(0, missing < 0 ? numbers.length : missing).join('.');
  const schema = v.version ? stripControl(v.version).slice(0, 60) : '';
  if (!build && !schema) return 'version not reported (ServerVersionInfo is empty)';
  const text = build ? `Exchange ${build}${schema ? ` (schema ${schema})` : ''}` : `schema ${schema}`;
  return `${text}${productName(v.majorVersion, v.minorVersion)}`;
}

function productName(major?: number, minor?: number): string {
  if (major === 14) return ', Exchange 2010';
  if (major === 15 && minor === 0) return ', Exchange 2013';
  if (major === 15 && minor === 1) return ', Exchange 2016';
  if (major === 15 && minor === 2) return ', Exchange 2019 or Subscription Edition';
  if (major === 15 && minor !== undefined && minor >= 20) return ', Exchange Online';
  return '';
}
