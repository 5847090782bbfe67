// Exchange writes characters that XML 1.0 forbids (C0 controls such as U+001A, even U+0000) into subjects, names
// and attachment names as character references (`&#x1A;`), which no conforming parser accepts, so one odd subject
// makes a whole answer unreadable (seen by others: OfficeDev/ews-java-api #233 and #156, ecederstrand/exchangelib
// #1200, OfficeDev/ews-managed-api #136). Such a reference is replaced with U+FFFD before parsing again. Pure.

/** A numeric character reference: hexadecimal or decimal. */
const CHAR_REF = /&#(?:[xX]([0-9A-Fa-f]{1,8})|([0-9]{1,10}));/g;

/** XML 1.0's Char production: what a character reference may name. */
export function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/** The text with every reference to a character XML 1.0 forbids replaced by `&#xFFFD;`; the same string when none. */
export function repairCharRefs(xml: string): string {
  if (!xml.includes('&#')) return xml;
  return xml.replace(CHAR_REF, (ref: string, hex: string | undefined, dec: string | undefined) =>
    isXmlChar(hex !== undefined ? parseInt(hex, 16) : Number(dec)) ? ref : '&#xFFFD;',
  );
}
