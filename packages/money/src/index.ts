// Money is an integer count of the currency's minor unit: bigint in code, a digit string in JSON.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const currencyCodes = require('currency-codes') as {
  code(code: string): { code: string; digits: number; currency: string; countries: string[] } | undefined;
};

/** Largest amount any account or transfer may hold: PostgreSQL's bigint. */
export const AMOUNT_MAX = 9_223_372_036_854_775_807n;

export interface Currency {
  code: string;
  /** Digits after the decimal point: 2 for USD, 0 for JPY, 3 for BHD. */
  minorUnitDigits: number;
  name: string;
}

/** ISO 4217 currencies used by countries; funds, metals and test codes (XAU, XXX…) are refused. */
export function currency(code: string): Currency | undefined {
  if (!/^[A-Z]{3}$/.test(code)) return undefined;
  const found = currencyCodes.code(code);
  if (!found || found.countries.every((c) => c.startsWith('Zz'))) return undefined;
  return { code: found.code, minorUnitDigits: found.digits, name: found.currency };
}

export const AMOUNT_PATTERN = '^[1-9][0-9]{0,18}$';
const amountRegex = new RegExp(AMOUNT_PATTERN);

/** Parses a positive amount in minor units; undefined for anything else (decimals, signs, exponents, overflow). */
export function parseAmount(text: string): bigint | undefined {
  if (!amountRegex.test(text)) return undefined;
  const value = BigInt(text);
  return value <= AMOUNT_MAX ? value : undefined;
}

/** Formats minor units in major units for people: 1050n, USD → "10.50". */
export function formatMajor(amount: bigint, code: string): string {
  const digits = currency(code)?.minorUnitDigits ?? 2;
  const negative = amount < 0n;
  const text = (negative ? -amount : amount).toString().padStart(digits + 1, '0');
  const whole = digits === 0 ? text : text.slice(0, -digits);
  const fraction = digits === 0 ? '' : `.${text.slice(-digits)}`;
  return `${negative ? '-' : ''}${whole}${fraction}`;
}
