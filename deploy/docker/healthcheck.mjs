// The image's HEALTHCHECK: the container runs one service, so whichever of the five ports
// answers /healthz with 200 is that service.
const ports = ['GATEWAY_PORT', 'ALIAS_PORT', 'ACCOUNT_PORT', 'TRANSACTION_PORT', 'BALANCE_PORT'].map((name, k) => process.env[name] || String(8080 + k));
const ok = async (port) => {
  try {
    return (await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
};
const results = await Promise.all(ports.map(ok));
process.exit(results.includes(true) ? 0 : 1);
