import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile, ExecError } from '../util/exec.ts';
import { createLogger } from '../util/log.ts';
import { NFT_BINARY } from './binary.ts';
import { NftError, NftUnavailableError } from './errors.ts';
import { NftablesNetlink, type SetElement } from '../netlink/nftables.ts';
import { nftFamily, TABLE_NAME } from './layout.ts';
import type { IPFamily } from '../endpoints/node-port-addresses.ts';
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
  /** chainRules counts the rules of one of the family's table's chains (0 when it or the table is missing), without reading any set. */
  chainRules(chain: string): Promise<number>;
  /**
   * addElements adds elements to the table's sets through netlink, past nft's
   * parser, in as many transactions as it takes: only for a table being
   * created, where a partial load harms nobody.
   */
  addElements(sets: ReadonlyMap<string, Iterable<SetElement>>): Promise<void>;
  close(): void;
}

/** TableNetlink reaches one family's table; it opens its netlink socket on first use, in the namespace the proxier runs in. */
class TableNetlink {
  readonly #nfproto: number;
  #netlink: NftablesNetlink | undefined;

  constructor(family: IPFamily) {
    this.#nfproto = nftFamily(family).nfproto;
  }

  count(chain: string): Promise<number> {
    this.#netlink ??= NftablesNetlink.open();
    return this.#netlink.countRules(this.#nfproto, TABLE_NAME, chain);
  }

  add(sets: ReadonlyMap<string, Iterable<SetElement>>): Promise<void> {
    this.#netlink ??= NftablesNetlink.open();
    return this.#netlink.addElements(this.#nfproto, TABLE_NAME, sets);
  }

  close(): void {
    this.#netlink?.close();
    this.#netlink = undefined;
  }
}

// A cold load of 30k services is tens of MB of text; a hung nft must still not block syncs forever.
const NFT_TIMEOUT_MS = 300_000;

/**
 * Transactions at least this big (full syncs of large clusters) go through a
 * file and a child `nft -f`: nft parses a file 2× faster than a buffer and
 * 3× faster than a pipe (10k services: 1.5 s against 2.9 s and 3.4 s), and
 * the ~350 MB its parser takes for 10k services lives and dies with the
 * child instead of staying in the proxy's heap.
 */
export const BIG_TRANSACTION_BYTES = 1 << 20;

async function nft(args: string[], input?: string): Promise<string> {
  try {
    return (await execFile(NFT_BINARY, args, { input, timeoutMs: NFT_TIMEOUT_MS })).stdout;
  } catch (e) {
    if (e instanceof ExecError && e.exitCode !== null) throw new NftError('nft transaction failed', e.stderr, e);
    throw new NftUnavailableError('cannot run nft (Debian: apt-get install nftables)', e);
  }
}

/** TransactionFiles writes big transactions to private files that live only while they are applied. */
class TransactionFiles {
  #dir: string | undefined;

  async with<T>(text: string, apply: (path: string) => Promise<T>): Promise<T> {
    this.#dir ??= mkdtempSync(join(tmpdir(), 'ferry-nft-'));
    const path = join(this.#dir, 'transaction.nft');
    writeFileSync(path, text, { mode: 0o600 });
    try {
      return await apply(path);
    } finally {
      rmSync(path, { force: true });
    }
  }

  close(): void {
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = undefined;
  }
}

/** nftCliRunner spawns `nft` per transaction: the fallback when libnftables is missing. Netlink reaches `family`'s table. */
export function nftCliRunner(family: IPFamily): NftRunner {
  const files = new TransactionFiles();
  const table = new TableNetlink(family);
  return {
    kind: 'nft',
    run: (text) => (text.length >= BIG_TRANSACTION_BYTES ? files.with(text, (path) => nft(['-f', path])) : nft(['-f', '-'], text)),
    check: async (text) => void (await nft(['--check', '-f', '-'], text)),
    chainRules: (chain) => table.count(chain),
    addElements: (sets) => table.add(sets),
    close: () => {
      files.close();
      table.close();
    },
  };
}

/**
 * libnftablesRunner applies transactions in-process through one long-lived
 * libnftables context (0.3 ms for a small one instead of a process); big
 * ones go to a child `nft -f` when the binary is there, else to the
 * library from a file.
 */
export function libnftablesRunner(options: { family: IPFamily; childForBig?: boolean }): NftRunner {
  const ctx = new LibNftablesContext();
  const files = new TransactionFiles();
  const table = new TableNetlink(options.family);
  const childForBig = options.childForBig ?? true;
  return {
    kind: 'libnftables',
    run: (text) => {
      if (text.length < BIG_TRANSACTION_BYTES) return ctx.run(text);
      return files.with(text, (path) =>
        childForBig ? nft(['-f', path]).catch((e: unknown) => (e instanceof NftUnavailableError ? ctx.runFile(path) : Promise.reject(e))) : ctx.runFile(path),
      );
    },
    check: async (text) => void (await ctx.run(text, { dryRun: true })),
    chainRules: (chain) => table.count(chain),
    addElements: (sets) => table.add(sets),
    close: () => {
      ctx.close();
      files.close();
      table.close();
    },
  };
}

/** createNftRunner prefers libnftables in-process and falls back to the nft binary, saying so. */
export function createNftRunner(family: IPFamily): NftRunner {
  try {
    return libnftablesRunner({ family });
  } catch (e) {
    log.warn('libnftables is not usable, using the nft binary (one process per transaction)', { err: (e as Error).message });
    return nftCliRunner(family);
  }
}
