// What the @chatkitty/core scenarios share: failing with a step's name, time limits, and one SDK client per user
// (getSdkClient caches one client per API key, so each user gets its own instance of the module), pointed at Parley
// (PARLEY_HOST, API_KEY).
export const host = process.env.PARLEY_HOST;
const environment = { $environment: { host, secure: false } };

export function fail(step, detail) { console.error(`FAILED ${step}: ${JSON.stringify(detail)}`); process.exit(1); }
export const within = (promise, step, ms = 10000) =>
  Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`timeout: ${step}`)), ms))]);
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export async function ok(promise, step, ms) {
  const result = await within(promise, step, ms);
  if (!result.succeeded) fail(step, result.error);
  return result;
}
const moduleUrl = import.meta.resolve("@chatkitty/core");
export async function client(n) {
  const { getSdkClient } = await import(`${moduleUrl}?user=${n}`);
  return getSdkClient(process.env.API_KEY, environment);
}
