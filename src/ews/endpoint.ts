// Facts about where EWS lives and what its front end answers when it fails, shared by the transport (messages)
// and the watch policy (configuration or transient?). Pure.

/** The path every Exchange server serves EWS at (protocol-notes.md §1.1). */
export const EWS_PATH = '/EWS/Exchange.asmx';

/**
 * [ews] A 302 to /ews/genericerrorpage.htm is the server failing, not a wrong URL (protocol-notes.md §1.4, from
 * exchangelib); errorfe.aspx is the error page of the Exchange 2013+ front end. Both are transient.
 */
export function isServerErrorPage(location: string | undefined): boolean {
  return location !== undefined && /\/(?:genericerrorpage\.htm|errorfe\.aspx)(?:[?#]|$)/i.test(location);
}
