// Parsers for numeric CLI options with errors that name the flag.
import { InvalidArgumentError } from 'commander';

export function intOption(flag: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`Expected ${flag} to be a whole number, got "${value}"`);
    return n;
  };
}
