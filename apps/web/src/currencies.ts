// The currencies' exponents, from the same ISO 4217 table the services use (@wallet/money).
import data from 'currency-codes/data.js';

const table = data as { code: string; digits: number; currency: string }[];
const byCode = new Map(table.map((c) => [c.code, c]));

/** Digits after the decimal point: USD 2, JPY 0, BHD 3; 2 for a code the table does not know. */
export function digitsOf(code: string): number {
  return byCode.get(code)?.digits ?? 2;
}

export function currencyName(code: string): string {
  return byCode.get(code)?.currency ?? code;
}

export const commonCurrencies = ['USD', 'EUR', 'BRL', 'GBP', 'JPY', 'BHD'];
