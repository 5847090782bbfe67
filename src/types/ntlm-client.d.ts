// Types for @ewsjs/ntlm-client 3.x, which ships none. Only what src/auth/ntlm.ts uses.
declare module '@ewsjs/ntlm-client' {
  export interface Type2Message {
    flags: number;
    encoding: 'ascii' | 'ucs2';
    /** 2 when the server asked for extended session security (NTLMv2 responses follow); 1 otherwise. */
    version: 1 | 2;
    challenge: Buffer;
    targetName: string;
    targetInfo?: { parsed: Record<string, string>; buffer: Buffer };
  }
  export function createType1Message(workstation?: string, target?: string): string;
  export function decodeType2Message(header: string): Type2Message;
  export function createType3Message(type2: Type2Message, username: string, password: string, workstation?: string, target?: string): string;
  const ntlm: {
    createType1Message: typeof createType1Message;
    decodeType2Message: typeof decodeType2Message;
    createType3Message: typeof createType3Message;
  };
  export default ntlm;
}
