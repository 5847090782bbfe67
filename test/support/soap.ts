// Envelopes for request/response codec tests: what our builders emit around a body, and an Exchange-shaped answer.

/** The start of every request ews-watch builds (RequestServerVersion Exchange2013_SP1, no impersonation). */
export const REQUEST_HEAD =
  '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ' +
  'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">' +
  '<soap:Header><t:RequestServerVersion Version="Exchange2013_SP1"/></soap:Header><soap:Body>';
export const REQUEST_TAIL = '</soap:Body></soap:Envelope>';

export const MT_NAMESPACES =
  'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"';
