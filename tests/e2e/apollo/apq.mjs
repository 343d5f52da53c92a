// Runs one query twice through Apollo Client's PersistedQueryLink, unchanged, against a
// keyart server, recording every HTTP exchange; prints {exchanges, results} as JSON.
// usage: node apq.mjs URL TOKEN get|post
import { createHash } from "node:crypto";
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client/core/index.js";
import { createPersistedQueryLink } from "@apollo/client/link/persisted-queries/index.js";

const [url, token, method] = process.argv.slice(2);
const exchanges = [];
const recordingFetch = async (input, init) => {
  const response = await fetch(input, init);
  const body = await response.clone().json();
  const sent = init.body ? JSON.parse(init.body) : Object.fromEntries(new URL(input).searchParams);
  exchanges.push({
    method: init.method ?? "GET",
    sentQuery: typeof sent.query === "string" && sent.query.length > 0,
    sentHash: JSON.stringify(sent.extensions ?? "").includes("sha256Hash"),
    status: response.status,
    errors: (body.errors ?? []).map((e) => e.message),
  });
  return response;
};
const sha256 = (text) => createHash("sha256").update(text).digest("hex");
const link = createPersistedQueryLink({ sha256, useGETForHashedQueries: method === "get" }).concat(
  new HttpLink({ uri: url, fetch: recordingFetch, headers: { Authorization: `Bearer ${token}` } }),
);
const client = new ApolloClient({ link, cache: new InMemoryCache() });
const query = gql`
  query Titles {
    titles(first: 3) {
      totalCount
      edges { node { id name } }
    }
  }
`;
const results = [];
for (let i = 0; i < 2; i++) {
  const { data } = await client.query({ query, fetchPolicy: "no-cache" });
  results.push(data);
}
console.log(JSON.stringify({ exchanges, results }));
