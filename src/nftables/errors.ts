import { FerryError } from '../util/errors.ts';

/** NftError is a transaction (or listing) that nft refused; nothing of a refused transaction was applied. */
export class NftError extends FerryError {
  /** nft's own error text: the failing command with a caret under the part at fault. */
  readonly detail: string;

  constructor(message: string, detail: string, cause?: unknown) {
    super('FERRY_ERR_NFT', detail ? `${message}: ${firstLines(detail)}` : message, { cause });
    this.name = 'NftError';
    this.detail = detail;
  }
}

/** NftUnavailableError is neither libnftables nor the nft binary being usable here. */
export class NftUnavailableError extends FerryError {
  constructor(message: string, cause?: unknown) {
    super('FERRY_ERR_NFT_UNAVAILABLE', message, { cause });
    this.name = 'NftUnavailableError';
  }
}

function firstLines(text: string): string {
  const lines = text.trim().split('\n');
  return lines.length > 6 ? `${lines.slice(0, 6).join('\n')}\n… (${lines.length - 6} more lines)` : lines.join('\n');
}
