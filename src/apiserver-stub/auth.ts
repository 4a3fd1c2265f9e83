import { readFileSync } from 'node:fs';
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
