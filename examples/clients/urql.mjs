// urql against LearnTwin GraphQL: a query, automatic persisted queries, and a
// subscription over graphql-ws. Run by examples/run_clients.py; prints one JSON line.
import { createHash } from "node:crypto";
import { Client, fetchExchange, subscriptionExchange } from "@urql/core";
import { persistedExchange } from "@urql/exchange-persisted";
import { createClient as createWsClient } from "graphql-ws";
import WebSocket from "ws";

const [url, apiKey, classId] = process.argv.slice(2);
const headers = { "X-API-Key": apiKey };
const wsClient = createWsClient({
  url: url.replace(/^http/, "ws"), webSocketImpl: WebSocket, connectionParams: headers,
});
const client = new Client({
  url,
  fetchOptions: { headers },
  preferGetMethod: false,
  exchanges: [
    persistedExchange({
      generateHash: async (query) => createHash("sha256").update(query).digest("hex"),
      preferGetForPersistedQueries: true,
    }),
    fetchExchange,
    subscriptionExchange({
      forwardSubscription: (request) => ({
        subscribe: (sink) => ({ unsubscribe: wsClient.subscribe(request, sink) }),
      }),
    }),
  ],
});

const result = {};
const viewer = await client.query("query Viewer { viewer { role } }", {}, { requestPolicy: "network-only" }).toPromise();
const again = await client.query("query Viewer { viewer { role } }", {}, { requestPolicy: "network-only" }).toPromise();
result.query = viewer.data?.viewer.role === "ADMIN" && again.data?.viewer.role === "ADMIN";
result.persisted = !viewer.error && !again.error;

const pushed = await new Promise((resolve, reject) => {
  const seen = [];
  const { unsubscribe } = client
    .subscription("subscription($c: ID!) { classMastery(classId: $c) { id population } }", { c: classId })
    .subscribe((event) => {
      if (event.error) return reject(event.error);
      seen.push(event.data.classMastery.population);
      if (seen.length === 1) {
        const record = { classId, studentId: `urql-${Date.now()}`, stuck: false, gotIt: true,
          pause: false, example: false, confidence: 7, timestamp: new Date().toISOString() };
        client.mutation("mutation($r: [MetricInput!]!) { ingestMetrics(records: $r) { accepted } }", { r: [record] })
          .toPromise().catch(reject);
      } else {
        unsubscribe();
        resolve(seen);
      }
    });
  setTimeout(() => reject(new Error("no push within 15 s")), 15000);
});
result.subscription = pushed.length === 2 && pushed[1] === pushed[0] + 1;
console.log(JSON.stringify({ client: "urql", ...result }));
await wsClient.dispose();
process.exit(Object.values(result).every(Boolean) ? 0 : 1);
