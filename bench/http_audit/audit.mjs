// graphql-http's server audits (the GraphQL over HTTP spec) against a running server;
// prints one JSON line: counts by status and every audit that was not ok.
import { auditServer } from "graphql-http";

const [url, apiKey] = process.argv.slice(2);
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  if (apiKey) headers.set("X-API-Key", apiKey);
  return fetch(input, { ...init, headers });
};
const results = await auditServer({ url, fetchFn });
const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
const failed = [];
for (const result of results) {
  counts[result.status] += 1;
  if (result.status !== "ok") {
    failed.push({ id: result.id, name: result.name, status: result.status, reason: result.reason });
  }
}
console.log(JSON.stringify({ audits: results.length, ...counts, failed }));
