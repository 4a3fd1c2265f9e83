import { closeFd, own } from './ledger.ts';
import { F_SETPIPE_SZ, SOCK_CLOEXEC, SOCK_NONBLOCK, libc } from './libc.ts';

/** Pipe is the kernel buffer a bulk flow splices through. */
export interface Pipe {
  readonly read: number;
  readonly write: number;
}

/** Pipe capacity: 1 MiB lets one splice move as much as a busy socket holds (the default is 64 KiB). */
const PIPE_BYTES = 1024 * 1024;
/** Empty pipes kept for the next bulk flow (each is two descriptors). */
const POOL_SIZE = 64;

/**
 * PipePool hands out non-blocking pipes and keeps empty ones for reuse, so a
 * bulk flow costs no pipe2() once the pool is warm. A pipe that still holds
 * bytes (its connection failed mid-transfer) is closed instead.
 */
export class PipePool {
  private readonly idle: Pipe[] = [];
  private readonly sys = libc();
  private readonly fds = Buffer.alloc(8);

  /** acquire returns an empty pipe, or undefined when none can be made (out of descriptors): the flow keeps copying. */
  acquire(): Pipe | undefined {
    const pipe = this.idle.pop();
    if (pipe) return pipe;
    if (this.sys.pipe2(this.fds, SOCK_NONBLOCK | SOCK_CLOEXEC) < 0) return undefined;
    const created = { read: own(this.fds.readInt32LE(0)), write: own(this.fds.readInt32LE(4)) };
    // Best effort: past /proc/sys/fs/pipe-max-size, or over the user's pipe quota, the default size stays.
    this.sys.fcntl(created.write, F_SETPIPE_SZ, PIPE_BYTES);
    return created;
  }

  release(pipe: Pipe, empty: boolean): void {
    if (empty && this.idle.length < POOL_SIZE) {
      this.idle.push(pipe);
      return;
    }
    closeFd(pipe.read);
    closeFd(pipe.write);
  }

  close(): void {
    for (const pipe of this.idle.splice(0)) this.release(pipe, false);
  }
}
