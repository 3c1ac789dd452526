/// <reference types="vite/client" />
declare module 'currency-codes/data.js' {
  const data: { code: string; number: string; digits: number; currency: string; countries: string[] }[];
  export default data;
}
