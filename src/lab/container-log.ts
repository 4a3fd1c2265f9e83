/**
 * ContainerLog keeps what one container instance wrote, as kubelet's log
 * file per container does: chunks with their arrival time (for
 * `--timestamps` and `--since`), the last `maxBytes` only, and followers
 * for `kubectl logs -f` that end when the instance exits.
 */

export interface LogChunk {
  at: Date;
  text: string;
}

export interface LogFollower {
  write(chunk: LogChunk): void;
  end(): void;
}

export class ContainerLog {
  private readonly chunks: LogChunk[] = [];
  private bytes = 0;
  private readonly followers = new Set<LogFollower>();
  private ended = false;
  private readonly maxBytes: number;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  append(text: string, at = new Date()): void {
    const chunk = { at, text };
    this.chunks.push(chunk);
    this.bytes += text.length;
    while (this.bytes > this.maxBytes && this.chunks.length > 1) this.bytes -= this.chunks.shift()!.text.length;
    for (const f of this.followers) f.write(chunk);
  }

  /** end marks the instance as exited: followers finish. */
  end(): void {
    this.ended = true;
    for (const f of this.followers) f.end();
    this.followers.clear();
  }

  text(): string {
    return this.chunks.map((c) => c.text).join('');
  }

  /** select returns the output as kubectl logs asks for it. */
  select(o: { sinceMs?: number; tailLines?: number; timestamps?: boolean }, now = new Date()): string {
    const chunks = o.sinceMs === undefined ? this.chunks : this.chunks.filter((c) => now.getTime() - c.at.getTime() <= o.sinceMs!);
    let lines = chunks.flatMap((c) => splitLines(c.text).map((line) => (o.timestamps ? `${c.at.toISOString()} ${line}` : line)));
    if (o.tailLines !== undefined) lines = o.tailLines === 0 ? [] : lines.slice(-o.tailLines);
    return lines.join('');
  }

  /** follow registers f for new output; returns how to stop following. An exited instance ends f at once. */
  follow(f: LogFollower): () => void {
    if (this.ended) {
      f.end();
      return () => undefined;
    }
    this.followers.add(f);
    return () => this.followers.delete(f);
  }
}

/** splitLines cuts text into lines keeping their newlines (the last may lack one). */
export function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/** formatChunk renders a followed chunk as its lines, with timestamps when asked. */
export function formatChunk(c: LogChunk, timestamps: boolean): string {
  return timestamps ? splitLines(c.text).map((l) => `${c.at.toISOString()} ${l}`).join('') : c.text;
}
