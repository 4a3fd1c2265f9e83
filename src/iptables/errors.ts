import { FerryError } from '../util/errors.ts';

/** IptablesRestoreError is an iptables-restore run that the kernel or the parser refused. */
export class IptablesRestoreError extends FerryError {
  /** 1-based line of the restore input that failed, when iptables-restore said which. */
  readonly line: number | undefined;
  /** Text of that line, for logs. */
  readonly lineText: string | undefined;

  constructor(message: string, line: number | undefined, lineText: string | undefined, cause?: unknown) {
    super('FERRY_ERR_IPT_RESTORE', lineText ? `${message} (line ${line}: ${lineText})` : message, { cause });
    this.name = 'IptablesRestoreError';
    this.line = line;
    this.lineText = lineText;
  }
}

/** IptablesBackendError is an iptables backend that cannot be found or used. */
export class IptablesBackendError extends FerryError {
  constructor(message: string, cause?: unknown) {
    super('FERRY_ERR_IPT_BACKEND', message, { cause });
    this.name = 'IptablesBackendError';
  }
}
