// Small pure helpers shared by the stream decoder and the response decoders: local names, the code a SOAP
// fault stands for, and BackOffMilliseconds (protocol-notes.md §4.4).

/** 'm:ResponseCode' → 'ResponseCode'. We never match on prefixes (protocol-notes.md, doc-sample warning). */
export function localName(qname: string): string {
  const colon = qname.indexOf(':');
  return colon < 0 ? qname : qname.slice(colon + 1);
}

/**
 * The response code a SOAP fault stands for. EWS faults carry the code twice: detail/e:ResponseCode and
 * faultcode 'a:ErrorServerBusy' (§4.4). A plain SOAP fault (gromox's 'SOAP:Client') has only the faultcode,
 * which is kept as sent so the user sees what the server said.
 */
export function faultResponseCode(faultcode: string | undefined, detailCode: string | undefined): string {
  if (detailCode) return detailCode;
  const code = faultcode ?? '';
  const local = localName(code);
  if (local.startsWith('Error')) return local;
  return code || 'ErrorUnknown';
}

/** BackOffMilliseconds as sent ('299984'); undefined unless it is a plain non-negative integer. */
export function parseBackOff(text: string): number | undefined {
  if (!/^\d{1,12}$/.test(text)) return undefined;
  return Number(text);
}

/** ResponseClass and ResponseCode → is this response message an error? Warning + NoError is not. */
export function isErrorMessage(responseClass: string | undefined, responseCode: string | undefined): boolean {
  if (responseClass === 'Error') return true;
  return responseCode !== undefined && responseCode !== '' && responseCode !== 'NoError';
}
