// Apollo Client 4 against LearnTwin GraphQL: a query, automatic persisted queries (GET
// for hashed queries), and a subscription over graphql-ws that updates the normalized
// cache. Run by examples/run_clients.py; prints one JSON line.
import { createHash } from "node:crypto";
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, apiKey, classId] = process.argv.slice(2);
const headers = { "X-API-Key": apiKey };
const requests = [];

// Counts what goes over the wire, to show the persisted-query round trips.
const countingFetch = async (input, init) => {
  const response = await fetch(input, init);
  const body = await response.clone().json();
  requests.push({ method: init?.method ?? "GET", hashOnly: !String(init?.body ?? input).includes("viewer {"),
    notFound: (body.errors ?? []).some((e) => e.extensions?.code === "PERSISTED_QUERY_NOT_FOUND") });
  return response;
};

const http = new HttpLink({ uri: url, headers, fetch: countingFetch });
const persisted = new PersistedQueryLink({
  sha256: (query) => createHash("sha256").update(query).digest("hex"),
  useGETForHashedQueries: true,
});
const ws = new GraphQLWsLink(
  createClient({ url: url.replace(/^http/, "ws"), webSocketImpl: WebSocket, connectionParams: headers }),
);
const link = ApolloLink.split(
  ({ query }) => {
    const main = getMainDefinition(query);
    return main.kind === "OperationDefinition" && main.operation === "subscription";
  },
  ws,
  persisted.concat(http),
);
const client = new ApolloClient({ link, cache: new InMemoryCache() });

const VIEWER = gql`query Viewer { viewer { role } }`;
const MASTERY = gql`query Mastery($c: ID!) { class(id: $c) { id mastery { id population } } }`;
const PUSHED = gql`subscription Pushed($c: ID!) { classMastery(classId: $c) { id population } }`;
const INGEST = gql`mutation Ingest($r: [MetricInput!]!) { ingestMetrics(records: $r) { accepted } }`;

const result = {};
const first = await client.query({ query: VIEWER, fetchPolicy: "network-only" });
const second = await client.query({ query: VIEWER, fetchPolicy: "network-only" });
result.query = first.data.viewer.role === "ADMIN" && second.data.viewer.role === "ADMIN";
// First use: the hash alone, PERSISTED_QUERY_NOT_FOUND, then the document; then the hash alone.
result.persisted = requests.length === 3 && requests[0].notFound && !requests[1].notFound
  && requests[2].method === "GET" && !requests[2].notFound;

const before = await client.query({ query: MASTERY, variables: { c: classId }, fetchPolicy: "network-only" });
const population = before.data.class.mastery.population;
const pushed = await new Promise((resolve, reject) => {
  const seen = [];
  const sub = client.subscribe({ query: PUSHED, variables: { c: classId } }).subscribe({
    next: ({ data }) => {
      seen.push(data.classMastery.population);
      if (seen.length === 1) {
        const record = { classId, studentId: `apollo-${Date.now()}`, stuck: false, gotIt: true,
          pause: false, example: false, confidence: 7, timestamp: new Date().toISOString() };
        client.mutate({ mutation: INGEST, variables: { r: [record] } }).catch(reject);
      } else {
        sub.unsubscribe();
        resolve(seen);
      }
    },
    error: reject,
  });
  setTimeout(() => reject(new Error("no push within 15 s")), 15000);
});
result.subscription = pushed.length === 2 && pushed[1] === population + 1;
// The push updated the cached class's mastery (same id): no refetch needed.
const cached = client.readQuery({ query: MASTERY, variables: { c: classId } });
result.cacheUpdated = cached.class.mastery.population === population + 1;
console.log(JSON.stringify({ client: "apollo", ...result }));
await client.stop?.();
process.exit(Object.values(result).every(Boolean) ? 0 : 1);
