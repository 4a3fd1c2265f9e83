import koffi from 'koffi';
import { NftError, NftUnavailableError } from './errors.ts';

/** The part of libnftables' API Ferry calls (nftables/libnftables.h). */
interface LibNftables {
  ctxNew(flags: number): unknown;
  ctxFree(ctx: unknown): void;
  bufferOutput(ctx: unknown): number;
  bufferError(ctx: unknown): number;
  outputBuffer(ctx: unknown): string;
  errorBuffer(ctx: unknown): string;
  setDryRun(ctx: unknown, dry: boolean): void;
  runCmd: koffi.KoffiFunction;
  runFile: koffi.KoffiFunction;
}

const NFT_CTX_DEFAULT = 0;

let library: LibNftables | undefined;

function load(): LibNftables {
  if (library) return library;
  let lib: koffi.IKoffiLib;
  try {
    // Debian ships only the versioned name; the unversioned .so comes with -dev.
    lib = koffi.load('libnftables.so.1');
  } catch (e) {
    throw new NftUnavailableError('libnftables.so.1 cannot be loaded (Debian: apt-get install libnftables1)', e);
  }
  library = {
    ctxNew: lib.func('void *nft_ctx_new(uint32_t)'),
    ctxFree: lib.func('void nft_ctx_free(void *)'),
    bufferOutput: lib.func('int nft_ctx_buffer_output(void *)'),
    bufferError: lib.func('int nft_ctx_buffer_error(void *)'),
    outputBuffer: lib.func('const char *nft_ctx_get_output_buffer(void *)'),
    errorBuffer: lib.func('const char *nft_ctx_get_error_buffer(void *)'),
    setDryRun: lib.func('void nft_ctx_set_dry_run(void *, bool)'),
    runCmd: lib.func('int nft_run_cmd_from_buffer(void *, const char *)'),
    runFile: lib.func('int nft_run_cmd_from_filename(void *, const char *)'),
  } as LibNftables;
  return library;
}

/**
 * LibNftablesContext is one long-lived libnftables context, used in-process
 * through koffi: no process per transaction, and the commit of a big
 * transaction runs on koffi's worker thread so the event loop stays free.
 * Output and errors are buffered and read back after each command. Calls
 * must not overlap (a context is not thread-safe); the proxier never
 * overlaps them.
 */
export class LibNftablesContext {
  readonly #lib: LibNftables;
  #ctx: unknown;

  constructor() {
    this.#lib = load();
    this.#ctx = this.#lib.ctxNew(NFT_CTX_DEFAULT);
    if (!this.#ctx) throw new NftUnavailableError('nft_ctx_new failed');
    this.#lib.bufferOutput(this.#ctx);
    this.#lib.bufferError(this.#ctx);
  }

  /** run applies `text` as one transaction and returns what nft printed; rejects with NftError. */
  run(text: string, options: { dryRun?: boolean } = {}): Promise<string> {
    return this.#call(this.#lib.runCmd, text, options.dryRun ?? false);
  }

  /** runFile applies the transaction in a file: nft parses a file about twice as fast as the same text in a buffer. */
  runFile(path: string): Promise<string> {
    return this.#call(this.#lib.runFile, path, false);
  }

  async #call(fn: koffi.KoffiFunction, arg: string, dryRun: boolean): Promise<string> {
    const ctx = this.#live();
    this.#lib.setDryRun(ctx, dryRun);
    const rc = await new Promise<number>((resolve, reject) => {
      fn.async(ctx, arg, (err: unknown, result: number) => (err ? reject(err) : resolve(result)));
    });
    // The buffers are reset by each read; read both every time.
    const output = this.#lib.outputBuffer(ctx) ?? '';
    const error = this.#lib.errorBuffer(ctx) ?? '';
    if (rc !== 0) throw new NftError(dryRun ? 'nft check failed' : 'nft transaction failed', error);
    return output;
  }

  close(): void {
    if (this.#ctx) this.#lib.ctxFree(this.#ctx);
    this.#ctx = undefined;
  }

  #live(): unknown {
    if (!this.#ctx) throw new NftUnavailableError('libnftables context is closed');
    return this.#ctx;
  }
}
