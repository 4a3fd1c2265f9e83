import { execFile, ExecError } from '../util/exec.ts';
import { createLogger } from '../util/log.ts';
import { NftError, NftUnavailableError } from './errors.ts';
import { LibNftablesContext } from './libnftables.ts';

const log = createLogger('nftables');

/**
 * NftRunner applies nft transactions: text in nft's own syntax, the same
 * whichever way it reaches the kernel. It is the only place Ferry talks to
 * nf_tables, so tests can read what the proxier sends.
 */
export interface NftRunner {
  /** 'libnftables' (in-process) or 'nft' (a child process per transaction). */
  readonly kind: 'libnftables' | 'nft';
  /** run applies `text` atomically and returns nft's output; rejects with NftError and applies nothing. */
  run(text: string): Promise<string>;
  /** check parses and evaluates `text` against the kernel without committing it (`nft --check`). */
  check(text: string): Promise<void>;
  close(): void;
}

// A cold load of 30k services is tens of MB of text; a hung nft must still not block syncs forever.
const NFT_TIMEOUT_MS = 300_000;

/** nftCliRunner spawns `nft -f -` per transaction: the fallback when libnftables is missing. */
export function nftCliRunner(): NftRunner {
  const nft = async (args: string[], text: string) => {
    try {
      return (await execFile('nft', args, { input: text, timeoutMs: NFT_TIMEOUT_MS })).stdout;
    } catch (e) {
      if (e instanceof ExecError && e.exitCode !== null) throw new NftError('nft transaction failed', e.stderr, e);
      throw new NftUnavailableError('cannot run nft (Debian: apt-get install nftables)', e);
    }
  };
  return {
    kind: 'nft',
    run: (text) => nft(['-f', '-'], text),
    check: async (text) => void (await nft(['--check', '-f', '-'], text)),
    close() {},
  };
}

/** libnftablesRunner applies transactions in-process through one long-lived libnftables context. */
export function libnftablesRunner(): NftRunner {
  const ctx = new LibNftablesContext();
  return {
    kind: 'libnftables',
    run: (text) => ctx.run(text),
    check: async (text) => void (await ctx.run(text, { dryRun: true })),
    close: () => ctx.close(),
  };
}

/** createNftRunner prefers libnftables in-process and falls back to the nft binary, saying so. */
export function createNftRunner(): NftRunner {
  try {
    return libnftablesRunner();
  } catch (e) {
    log.warn('libnftables is not usable, using the nft binary (one process per transaction)', { err: (e as Error).message });
    return nftCliRunner();
  }
}
