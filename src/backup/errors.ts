// Typed failures of backup and restore: an unreachable server, a refused output, a download cut short.

import { StorageError } from '../storage/errors.js';

export class BackupError extends StorageError {
  constructor(detail: string) {
    super(detail);
    this.name = 'BackupError';
  }
}
