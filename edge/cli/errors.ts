/**
 * The one error the `token` CLI reports to its user: a message without a
 * stack trace and the exit status it ends with (2 for a bad command line,
 * 1 for a failure such as an unknown token id or an unreachable D1).
 */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A command line the CLI cannot act on (exit status 2). */
export function usageError(message: string): CliError {
  return new CliError(message, 2);
}
