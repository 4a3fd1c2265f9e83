import { existsSync } from 'node:fs';

/**
 * NFT_BINARY is nftables' own `nft`, looked up where Debian and others
 * install it: a bare `nft` on PATH can be another program (npm's
 * @vercel/nft puts a file tracer of that name in node_modules/.bin, which
 * npx and npm scripts put first).
 */
export const NFT_BINARY = ['/usr/sbin/nft', '/sbin/nft', '/usr/local/sbin/nft', '/usr/bin/nft'].find((p) => existsSync(p)) ?? 'nft';
