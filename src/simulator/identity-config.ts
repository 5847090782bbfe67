// How the simulator answers ConvertId and ResolveNames, and who is in its directory: shared by the operations
// table (operations.ts) and the identity handlers (identity-operations.ts), so neither imports the other.

/** Someone in the simulated directory; `account` is the sAMAccountName (the `alice` of CONTOSO\alice). */
export interface DirectoryEntry {
  name: string;
  address: string;
  account: string;
}

/** Set from SimulatorOptions (convertId, resolveNames, directory). */
export interface IdentityConfig {
  /** 'exchange' (default): answer as Exchange does; 'unsupported': a SOAP fault, as a server without the operation. */
  convertId: 'exchange' | 'unsupported';
  /** 'no-results': ErrorNameResolutionNoResults for every name. */
  resolveNames: 'exchange' | 'no-results' | 'unsupported';
  /** The mailbox's owner first, then the other people of SimulatorOptions.directory. */
  directory: DirectoryEntry[];
}
