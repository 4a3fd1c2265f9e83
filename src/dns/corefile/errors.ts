import { InvalidArgumentError } from '../../util/errors.ts';

/**
 * CorefileError is a Corefile ferry cannot run, with CoreDNS's kind of
 * message: where (`Corefile:12`) and what, naming the plugin or option.
 */
export class CorefileError extends InvalidArgumentError {
  readonly line: number;
  /** The message without the place. */
  readonly detail: string;

  constructor(line: number, message: string, file = 'Corefile') {
    super(`${file}:${line} - Error during parsing: ${message}`);
    this.name = 'CorefileError';
    this.line = line;
    this.detail = message;
  }
}
