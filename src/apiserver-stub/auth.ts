import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { InvalidArgumentError } from '../util/errors.ts';

/** A user from the token file (kube-apiserver `--token-auth-file`: `token,user,uid[,"group1,group2"]`). */
export interface TokenUser {
  readonly name: string;
  readonly uid: string;
  readonly groups: readonly string[];
}

export function parseTokenFile(text: string, file = 'token file'): Map<string, TokenUser> {
  const users = new Map<string, TokenUser>();
  text.split('\n').forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const m = /^([^,]+),([^,]+),([^,]+)(?:,"?([^"]*)"?)?$/.exec(trimmed);
    if (!m) throw new InvalidArgumentError(`${file}:${i + 1}: want token,user,uid[,"groups"]`);
    users.set(m[1]!, { name: m[2]!, uid: m[3]!, groups: (m[4] ?? '').split(',').filter((g) => g !== '') });
  });
  return users;
}

export function loadTokenFile(path: string): Map<string, TokenUser> {
  return parseTokenFile(readFileSync(path, 'utf8'), path);
}

/** authenticate returns the user of a valid bearer token, or undefined. */
export function authenticate(req: IncomingMessage, users: ReadonlyMap<string, TokenUser>): TokenUser | undefined {
  const header = req.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  return m ? users.get(m[1]!) : undefined;
}
